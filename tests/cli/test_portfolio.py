"""Working across client repositories: `sos -C DIR`, `sos validate` over several blueprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.cli import cli


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two client repositories side by side, acme (MEDDICC) and beta (BANT); beta's blueprint has an error."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for name, starter in (("acme", "b2b-saas-meddicc"), ("beta", "smb-bant")):
        assert sos("init", name, "--starter", starter, "--name", name).exit_code == 0
    with (tmp_path / "beta" / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write("rules:\n  broken:\n    object: opportunity\n    require: amount > 'ten'\n    message: x\n")
    return tmp_path


def test_validate_checks_every_blueprint_it_is_given(clients: Path) -> None:
    result = sos("validate", "acme", "beta/blueprint.yaml")
    assert result.exit_code == 1
    assert result.stdout.startswith("acme/blueprint.yaml is valid: ")
    assert "beta/blueprint.yaml:" in result.stderr and "[type-mismatch]" in result.stderr
    assert result.stderr.rstrip().endswith("beta/blueprint.yaml: 1 error, 1 warning")


def test_validate_checks_one_blueprint_named_twice_once(clients: Path) -> None:
    result = sos("validate", "acme", "acme/sos.yaml", "./acme/blueprint.yaml")
    assert result.exit_code == 0
    assert result.stdout.count("is valid") == 1


def test_validate_json_lists_one_report_per_blueprint(clients: Path) -> None:
    reports = json.loads(sos("validate", "acme", "beta", "--format", "json").stdout)
    assert [(r["file"], r["valid"], r["errors"]) for r in reports] == [
        ("acme/blueprint.yaml", True, 0), ("beta/blueprint.yaml", False, 1)]
    single = json.loads(sos("validate", "acme", "--format", "json").stdout)
    assert single["file"] == "acme/blueprint.yaml"


def test_dash_c_runs_a_command_in_another_folder(clients: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = sos("-C", "acme", "validate")
    assert (result.exit_code, result.stdout.split(" is valid")[0]) == (0, "blueprint.yaml")
    monkeypatch.chdir(clients)     # -C moved this process
    result = sos("-C", "nowhere", "validate")
    assert result.exit_code == 1 and "Directory 'nowhere' does not exist" in result.stderr


def test_status_shows_each_client_below_the_folder(clients: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sos("-C", "acme", "apply", "--auto-approve").exit_code == 0
    monkeypatch.chdir(clients)
    (clients / "nested" / "gamma").mkdir(parents=True)
    assert sos("-C", "nested", "init", "gamma", "--starter", "plg-inbound", "--name", "gamma").exit_code == 0
    monkeypatch.chdir(clients)
    result = sos("status", "--format", "json")
    assert result.exit_code == 1                          # beta's blueprint does not validate
    rows = {row["client"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["acme", "beta", "nested/gamma"]
    acme, beta, gamma = rows["acme"], rows["beta"], rows["nested/gamma"]
    assert (acme["add"], acme["change"], acme["delete"], acme["drift"]) == (0, 0, 0, 0)
    assert (acme["last_apply"]["outcome"], gamma["last_apply"]) == ("applied", None)
    assert gamma["add"] > 0 and gamma["target"] == "sandbox"
    lines = (clients / "beta" / "blueprint.yaml").read_text(encoding="utf-8").splitlines()
    line = lines.index("    require: amount > 'ten'") + 1
    assert beta["error"] == f"beta/blueprint.yaml:{line}:14: error: cannot compare a number with text [type-mismatch]"
    text = sos("status", "acme", "nested").stdout.splitlines()
    assert text[0].split() == ["client", "target", "add", "change", "delete", "drift", "last", "apply", "audit"]
    assert [line.split()[0] for line in text[1:]] == ["acme", "nested/gamma"]


@pytest.mark.parametrize(("words", "cword", "expected"), [
    pytest.param("sos plan --target ", "3", ["sandbox"], id="target-names-from-sos-yaml"),
    pytest.param("sos init x --starter s", "4", ["services-agency", "smb-bant"], id="starter-names"),
    pytest.param("sos aud", "1", ["audit"], id="commands"),
])
def test_the_shell_completes_commands_targets_and_starters(clients: Path, words: str, cword: str,
                                                           expected: list[str]) -> None:
    script = Path(sys.executable).parent / "sos"
    result = subprocess.run([str(script)], cwd=clients / "acme", capture_output=True, text=True, timeout=60,
                            env={**os.environ, "_SOS_COMPLETE": "bash_complete", "COMP_WORDS": words,
                                 "COMP_CWORD": cword})
    assert [line.split(",", 1)[1] for line in result.stdout.splitlines()] == expected
