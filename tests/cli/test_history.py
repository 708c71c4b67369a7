"""sos history: numbered applies, the plan each applied (`sos history show N`), and a history kept in the
repository (`history: repository`) that every clone shares."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.history import _new_file, read_history


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def add_field(root: Path, key: str) -> None:
    with (root / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write(f"fields:\n  opportunity:\n    {key}: {{type: text, label: {key.title()}}}\n")


def test_show_prints_the_plan_an_apply_applied(project: Path) -> None:
    assert sos("apply", "--auto-approve").exit_code == 0
    add_field(project, "partner")
    assert sos("apply", "--auto-approve").exit_code == 0
    listed = sos("history").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["1", "2"]
    last = sos("history", "show", "-1")
    assert last.exit_code == 0
    assert last.stderr.startswith("Apply 2: ")
    assert "  + field.opportunity.partner" in last.stdout
    assert last.stdout.splitlines()[-1] == "Plan: 1 to add, 0 to change, 0 to delete."
    assert sos("history", "show", "2").stdout == last.stdout
    first = json.loads(sos("history", "show", "1", "--format", "json").stdout)
    assert first["summary"]["create"] > 1 and first["summary"]["create"] == len(first["changes"])
    missing = sos("history", "show", "3")
    assert (missing.exit_code, missing.stderr) == (
        1, "error: there is no apply 3: the history holds 1 to 2 [history-number]\n")


def test_a_shared_history_lives_in_the_repository_and_travels_with_it(project: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = (project / "sos.yaml").read_text(encoding="utf-8")     # one CRM both clones apply to, as in life
    text = text.replace("    type: local ", f"    path: {tmp_path / 'crm.db'}\n    type: local ", 1)
    (project / "sos.yaml").write_text(text + "history: repository\n", encoding="utf-8")
    assert sos("apply", "--auto-approve").exit_code == 0
    recorded = sorted((project / "history").glob("*.json"))
    assert len(recorded) == 1 and not (project / ".sos" / "history.jsonl").exists()
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns(".sos"))   # what git carries: not .sos/
    monkeypatch.chdir(clone)
    add_field(clone, "partner")
    assert sos("apply", "--auto-approve").exit_code == 0
    entries = read_history(clone / "history")
    assert [e["summary"]["create"] for e in entries][1:] == [1] and len(entries) == 2
    assert "field.opportunity.partner" in sos("history", "show", "2").stdout


def test_two_applies_in_one_second_get_two_files(tmp_path: Path) -> None:
    first, second = _new_file(tmp_path, "20261204T101010Z-sandbox"), _new_file(tmp_path, "20261204T101010Z-sandbox")
    assert (first.name, second.name) == ("20261204T101010Z-sandbox.json", "20261204T101010Z-sandbox-2.json")
