"""sos fmt: one layout for blueprints, comments kept, idempotent, and `--check` for CI; and the pre-commit hooks
this repository offers, run as pre-commit runs a hook (its entry, then the matching files that are staged)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from sos.blueprint.load import load_blueprint
from sos.cli import cli
from sos.model.compile import compile_model
from sos.resources import starter_names, starters_dir

ROOT = Path(__file__).resolve().parents[2]
MESSY = """\
# A client
name: acme   # the client
routing:
    -   key: everyone
        assign_to: {queue: inbound}
sos: 1
extends: [starter:smb-bant]
# fields come here
fields:
    opportunity:
        partner: {type: text, label: Partner}   # who resells
"""


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_fmt_orders_and_indents_keeping_comments_and_meaning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text(MESSY, encoding="utf-8")
    before, _ = load_blueprint(Path("b.yaml"))
    assert sos("fmt", "--check", "b.yaml").exit_code == 1
    assert sos("fmt", "b.yaml").exit_code == 0
    text = (tmp_path / "b.yaml").read_text(encoding="utf-8")
    assert [line.split(":")[0] for line in text.splitlines() if re.match(r"^[a-z]", line)] == [
        "sos", "name", "extends", "fields", "routing"]
    assert "# fields come here\nfields:\n  opportunity:\n" in text and "# who resells" in text
    assert "routing:\n  - key: everyone\n" in text
    after, _ = load_blueprint(Path("b.yaml"))
    assert before is not None and after is not None
    assert compile_model(after).fingerprint() == compile_model(before).fingerprint()     # the same meaning
    check = sos("fmt", "--check", "b.yaml")
    assert (check.exit_code, check.stderr) == (0, "1 file already formatted.\n")


@pytest.mark.parametrize("name", starter_names())
def test_the_starters_are_in_the_layout(name: str) -> None:
    assert sos("fmt", "--check", str(starters_dir() / f"{name}.yaml")).exit_code == 0


def test_yaml_that_does_not_parse_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)           # messages name files relative to the working folder
    (tmp_path / "b.yaml").write_text("sos: 1\nname: [acme\n", encoding="utf-8")
    result = sos("fmt", "b.yaml")
    assert result.exit_code == 1 and "b.yaml:3:1: error: not YAML sos can format" in result.stderr


def test_the_pre_commit_hooks_validate_and_format_a_client_repository(tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"sos-validate", "sos-fmt"}
    assert sos("init", str(tmp_path / "acme"), "--starter", "smb-bant").exit_code == 0
    (tmp_path / "acme" / "blueprint.yaml").write_text(MESSY.replace("name: acme", "name: acme"), encoding="utf-8")
    staged = ["blueprint.yaml", "sos.yaml", "tests/smb-bant.yaml", "schemas/blueprint.schema.json"]

    def run(hook: str) -> subprocess.CompletedProcess[str]:
        """As pre-commit runs a hook: its entry, then every staged file its `files` pattern matches."""
        chosen = [f for f in staged if re.search(hooks[hook]["files"], f)]
        entry = shlex.split(hooks[hook]["entry"])
        command = [str(Path(sys.executable).parent / entry[0]), *entry[1:], *chosen]
        return subprocess.run(command, cwd=tmp_path / "acme", capture_output=True, text=True, timeout=120)

    assert [f for f in staged if re.search(hooks["sos-validate"]["files"], f)] == ["blueprint.yaml", "sos.yaml"]
    assert run("sos-validate").returncode == 0
    assert run("sos-fmt").returncode == 0 and (tmp_path / "acme" / "blueprint.yaml").read_text().startswith(
        "# A client\nsos: 1\n")
    (tmp_path / "acme" / "blueprint.yaml").write_text("sos: 1\nname: acme\nfields: {lead: {x: {type: txt}}}\n")
    failed = run("sos-validate")
    assert failed.returncode == 1 and "blueprint.yaml:3:" in failed.stderr and "[bad-value]" in failed.stderr
