"""When sos's own files fail it: an unwritable history, an unwritable crash log, Ctrl-C mid-apply.

Tests run as root in CI containers, where a read-only mode bit does not stop a write: a folder where the file
should be makes every write fail the same way (an OSError) for every user.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from sos.history import read_history
from tests.cli.test_cycle import SMB_RESOURCES, last_line, sandbox_addresses, sos


def bug(*args: object) -> None:
    raise RuntimeError("a bug in sos")


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`sos targets` hits a bug; temporary files go to a folder of the test's own. Returns that folder."""
    monkeypatch.setattr("sos.cli.targets.open_target", bug)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_an_apply_that_committed_succeeds_when_its_history_cannot_be_written(project: Path) -> None:
    (project / ".sos").mkdir(exist_ok=True)
    (project / ".sos" / "history.jsonl").mkdir()
    result = sos("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == f"Apply complete: {SMB_RESOURCES} added, 0 changed, 0 deleted."
    history = project / ".sos" / "history.jsonl"
    assert result.stderr.splitlines() == [
        f"warning: the outcome of this apply (applied) could not be recorded: cannot write {history}: Is a "
        "directory [history-unwritable]",
        "  why: `sos history` will not list this apply; the outcome above is the CRM's all the same",
        f"  fix: make {history} writable"]
    assert len(sandbox_addresses(project)) == SMB_RESOURCES
    listed = sos("history")
    assert (listed.exit_code, listed.stderr) == (1, f"error: cannot read {history}: Is a directory "
                                                    "[history-unreadable]\n")


def test_a_failed_apply_says_so_and_that_its_history_cannot_be_written(project: Path) -> None:
    assert sos("apply", "--auto-approve").exit_code == 0
    (project / "blueprint.yaml").write_text((project / "blueprint.yaml").read_text() + "fields:\n  opportunity:\n"
                                            "    partner: {type: text, label: Partner}\n")
    assert sos("plan", "-o", "plan.json").exit_code == 0
    assert sos("apply", "plan.json", "--auto-approve").exit_code == 0
    (project / ".sos" / "history.jsonl").unlink()
    (project / ".sos" / "history.jsonl").mkdir()
    result = sos("apply", "plan.json", "--auto-approve")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: Saved plan is stale")
    assert lines[1].startswith("warning: the outcome of this apply (failed) could not be recorded: ")


def test_a_crash_log_that_cannot_be_written_goes_to_a_named_temporary_file(project: Path, crashing: Path) -> None:
    (project / ".sos").mkdir(exist_ok=True)
    (project / ".sos" / "crash.log").mkdir()
    result = sos("targets")
    assert result.exit_code == 3
    [log] = crashing.iterdir()
    assert result.stderr == (f"internal error: RuntimeError: a bug in sos; details in {log} — please report it\n")
    assert log.name.startswith("sos-crash-") and "RuntimeError: a bug in sos" in log.read_text()


def test_outside_a_project_the_crash_log_is_a_temporary_file_not_in_home(
        tmp_path: Path, crashing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    monkeypatch.setattr("sos.cli.targets.current_project", bug)
    result = sos("targets")
    assert result.exit_code == 3
    [log] = crashing.iterdir()
    assert result.stderr == f"internal error: RuntimeError: a bug in sos; details in {log} — please report it\n"
    assert list(home.iterdir()) == []


def test_when_no_crash_log_can_be_written_the_handler_still_answers(project: Path, crashing: Path) -> None:
    (project / ".sos").mkdir(exist_ok=True)
    (project / ".sos" / "crash.log").mkdir()
    crashing.rmdir()                           # the temporary folder is gone too
    result = sos("targets")
    assert result.exit_code == 3
    assert result.stderr == ("internal error: RuntimeError: a bug in sos; no crash log could be written — please "
                             "report it\n")


def test_a_crash_that_quotes_a_credential_hides_it_on_screen_and_in_the_log(
        project: Path, crashing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_ACCESS_TOKEN", "00Dxx0000001gPL!AQ4AQFakeToken")

    def leaky_bug(*args: object) -> None:
        raise RuntimeError("session 00Dxx0000001gPL!AQ4AQFakeToken refused")

    monkeypatch.setattr("sos.cli.targets.open_target", leaky_bug)
    result = sos("targets")
    assert result.exit_code == 3
    log = project / ".sos" / "crash.log"
    assert result.stderr == (f"internal error: RuntimeError: session [redacted] refused; details in {log} — "
                             "please report it\n")
    assert "RuntimeError: session [redacted] refused" in log.read_text()
    assert "FakeToken" not in log.read_text()


def test_ctrl_c_mid_apply_is_recorded_as_interrupted_without_a_crash_log(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("sos.backends.local._apply_change", interrupt)
    result = sos("apply", "--auto-approve")
    assert (result.exit_code, result.stderr) == (130, "\nInterrupted.\n")      # click ends the ^C line first
    [entry] = read_history(project / ".sos")
    assert (entry["outcome"], entry["error"]) == ("interrupted",
                                                  "stopped with Ctrl-C; `sos plan` shows what the CRM holds now")
    assert not (project / ".sos" / "crash.log").exists()
    assert sandbox_addresses(project) == set()


@pytest.mark.parametrize(("damage", "what"), [
    pytest.param("UPDATE resources SET attrs = '{half' WHERE rowid = 3",
                 "row 3 of table resources ('{address}'): its attributes are not JSON", id="attrs-not-json"),
    pytest.param("UPDATE resources SET attrs = '[1, 2]' WHERE rowid = 3",
                 "row 3 of table resources ('{address}'): its attributes are not a JSON object", id="attrs-not-object"),
    pytest.param("UPDATE resources SET address = 'gadget.x' WHERE rowid = 3",
                 "row 3 of table resources ('gadget.x'): not a resource address", id="bad-address"),
    pytest.param("UPDATE resources SET origin = 'blueprint.yaml:twelve' WHERE rowid = 3",
                 "row 3 of table resources ('{address}'): its origin 'blueprint.yaml:twelve' is not file:line",
                 id="bad-origin"),
    pytest.param("UPDATE meta SET value = 'one' WHERE name = 'schema_version'",
                 "its schema version 'one' (table meta) is not a number", id="bad-schema-version"),
])
def test_a_damaged_sandbox_row_is_reported_where_it_is(project: Path, damage: str, what: str) -> None:
    import sqlite3
    from contextlib import closing

    assert sos("apply", "--auto-approve").exit_code == 0
    database = project / ".sos" / "sandbox.db"
    with closing(sqlite3.connect(database)) as connection, connection:
        address = connection.execute("SELECT address FROM resources WHERE rowid = 3").fetchone()[0]
        connection.execute(damage)
    headline = f"error: {database} is damaged: {what.format(address=address)} [sandbox-corrupt]"
    for command in ("plan", "apply"):
        result = sos(command, "--auto-approve") if command == "apply" else sos(command)
        assert result.exit_code == 1, result.output
        assert result.stderr.splitlines()[0] == headline
    targets = sos("targets")
    assert targets.exit_code == 1
    assert targets.stdout == f"* sandbox      local       unusable: {headline.removeprefix('error: ')}\n"

