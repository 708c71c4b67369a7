"""Working across client repositories: `sos -C DIR`, `sos validate` over several blueprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.resources import starters_dir


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
    assert (acme["audit"], gamma["audit"]) == (0, 0)                 # no records yet
    assert sos("-C", "acme", "sandbox", "seed", "--deals", "60").exit_code == 0
    monkeypatch.chdir(clients)
    found = json.loads(sos("-C", "acme", "audit", "--format", "json").stdout)["found"]
    monkeypatch.chdir(clients)
    assert found > 0 and json.loads(sos("status", "acme", "--format", "json").stdout)[0]["audit"] == found
    text = sos("status", "acme", "nested").stdout.splitlines()
    assert text[0].split() == ["client", "target", "add", "change", "delete", "drift", "last", "apply", "audit"]
    assert [line.split()[0] for line in text[1:]] == ["acme", "nested/gamma"]


def test_status_text_names_a_client_it_cannot_read_with_its_located_error(clients: Path) -> None:
    result = sos("status", "beta")
    lines = (clients / "beta" / "blueprint.yaml").read_text(encoding="utf-8").splitlines()
    line = lines.index("    require: amount > 'ten'") + 1
    assert (result.exit_code, result.stdout.splitlines()[1]) == (
        1, f"beta    beta/blueprint.yaml:{line}:14: error: cannot compare a number with text [type-mismatch]")


def test_status_audit_and_test_leave_a_client_without_a_lock_as_it_was(clients: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (clients / "acme" / "sos.lock").unlink()
    assert sos("status", "acme").exit_code == 0
    monkeypatch.chdir(clients / "acme")
    assert sos("audit").exit_code == 0 and sos("test").exit_code == 0
    assert not (clients / "acme" / "sos.lock").exists()


def test_an_audit_report_to_a_missing_folder_is_a_clear_error(clients: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(clients / "acme")
    assert sos("apply", "--auto-approve").exit_code == 0
    result = sos("audit", "--out", "reports/audit.md", "--format", "markdown")
    assert (result.exit_code, result.stderr) == (
        1, "error: cannot write reports/audit.md: No such file or directory [file-unwritable]\n")


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


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A consultant's own starter library beside the clients, named by sos-portfolio.yaml: agency (from smb-bant)
    and agency@2 (a version with a discovery limit of 10 days)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "library").mkdir()
    text = (starters_dir() / "smb-bant.yaml").read_text(encoding="utf-8").replace("name: smb-bant", "name: agency")
    (tmp_path / "library" / "agency.yaml").write_text(text, encoding="utf-8")
    assert "max_days: 7\n" in text
    (tmp_path / "library" / "agency@2.yaml").write_text(text.replace("max_days: 7\n", "max_days: 10\n", 1),
                                                         encoding="utf-8")
    (tmp_path / "sos-portfolio.yaml").write_text("starters: [library]\n", encoding="utf-8")
    for name, starter in (("one", "agency"), ("two", "agency@2"), ("three", "smb-bant")):
        assert sos("init", name, "--starter", starter, "--name", name).exit_code == 0
    return tmp_path


def test_private_starters_are_listed_shown_and_extended(library: Path) -> None:
    listed = {line.split()[0]: line for line in sos("starters").stdout.splitlines()}
    assert listed["agency"].endswith("(library)") and listed["agency@2"].endswith("(library)")
    assert not listed["smb-bant"].endswith(")")
    assert sos("show", "starter:agency@2").stdout.count("max_days: 10") == 1
    assert json.loads((library / "one" / "sos.lock").read_text(encoding="utf-8"))["starters"].keys() == {
        "starter:agency"}


@pytest.mark.parametrize(("portfolio", "expected"), [
    pytest.param("starters: library\n", "sos-portfolio.yaml:1:11: error: `starters:` must list the folders of "
                 "your starters [portfolio-file]", id="not-a-list"),
    pytest.param("starters: [library, librray]\n", "sos-portfolio.yaml:1:21: error: no folder librray beside "
                 "sos-portfolio.yaml [portfolio-file]", id="missing-folder"),
    pytest.param("starters: [library\n", "sos-portfolio.yaml:2:1: error: invalid YAML: expected ',' or ']', "
                 "but got '<stream end>' [yaml-syntax]", id="broken-yaml"),
])
def test_a_portfolio_file_sos_cannot_follow_is_located(library: Path, portfolio: str, expected: str) -> None:
    (library / "sos-portfolio.yaml").write_text(portfolio, encoding="utf-8")
    for args in (("starters",), ("-C", "one", "validate")):
        result = sos(*args)
        assert (result.exit_code, result.stderr.splitlines()[0]) == (1, expected.replace(
            "sos-portfolio.yaml:", ("../" if args[0] == "-C" else "") + "sos-portfolio.yaml:", 1))


def test_starters_path_puts_a_library_first_and_refuses_a_folder_that_is_not_there(
        library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (library / "sos-portfolio.yaml").unlink()
    other = library / "other"
    other.mkdir()
    (other / "smb-bant.yaml").write_text((library / "library" / "agency.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    monkeypatch.setenv("SOS_STARTERS_PATH", os.pathsep.join([str(library / "library"), str(other)]))
    listed = {line.split()[0]: line for line in sos("starters").stdout.splitlines()}
    assert listed["agency"].endswith("(library)") and listed["smb-bant"].endswith("(other)")   # the library wins
    monkeypatch.setenv("SOS_STARTERS_PATH", os.pathsep.join([str(library / "library"), str(library / "librray")]))
    for args in (("starters",), ("-C", "one", "validate")):
        result = sos(*args)
        assert (result.exit_code, result.stderr.splitlines()[0]) == (
            1, f"error: SOS_STARTERS_PATH names {library / 'librray'}, which is not a folder [starters-path]")


def test_a_starter_edit_changes_a_client_only_when_it_upgrades(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sos("-C", "one", "apply", "--auto-approve").exit_code == 0
    monkeypatch.chdir(library)
    starter = library / "library" / "agency.yaml"
    starter.write_text(starter.read_text(encoding="utf-8").replace("max_days: 7\n", "max_days: 9\n", 1),
                       encoding="utf-8")
    impact = sos("starters", "impact", "agency").stdout.splitlines()
    assert impact == ["one: changes on `sos upgrade`"]        # two extends agency@2, three smb-bant
    refused = sos("-C", "one", "plan")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("sos.lock:1:1: error: starter:agency changed since this client locked it "
                                     "[starter-changed]")
    monkeypatch.chdir(library)
    upgrade = sos("-C", "one", "upgrade")
    assert upgrade.exit_code == 0
    assert "      max_days: 7 → 9" in upgrade.stdout.splitlines()
    assert "Locked starter:agency at " in upgrade.stderr
    monkeypatch.chdir(library)
    assert sos("-C", "one", "plan", "--detailed-exitcode").exit_code == 2      # the upgrade, to apply
    monkeypatch.chdir(library)
    assert sos("starters", "impact", "agency").stdout == "one: up to date\n"


def test_targets_and_starters_speak_json(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    starters = {s["name"]: s for s in json.loads(sos("starters", "--format", "json").stdout)}
    assert starters["agency@2"]["folder"] == str((library / "library").resolve())
    assert starters["smb-bant"]["folder"] is None and starters["smb-bant"]["description"].startswith("Transactional")
    monkeypatch.chdir(library / "one")
    (library / "one" / ".sos").mkdir()
    (library / "one" / ".sos" / "sandbox.db").write_bytes(b"not a database\n" * 200)
    result = sos("targets", "--format", "json")
    [target] = json.loads(result.stdout)
    assert result.exit_code == 1
    assert (target["name"], target["type"], target["default"], target["ok"], target["code"]) == (
        "sandbox", "local", True, False, "sandbox-corrupt")


def test_apply_speaks_json_for_a_pipeline(clients: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(clients / "acme")
    refused = sos("apply", "--format", "json")
    assert (refused.exit_code, refused.stdout) == (1, "")
    first = json.loads(sos("apply", "--auto-approve", "--format", "json").stdout)
    assert first["outcome"] == "applied"
    assert first["applied"] == [c["address"] for c in first["plan"]["changes"]] and first["failed"] == {}
    with (clients / "acme" / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write("remove:\n  cadences: [friday_forecast]\n")
    held = json.loads(sos("apply", "--auto-approve", "--format", "json").stdout)
    assert (held["outcome"], held["held_back"], held["applied"]) == ("no-changes", 1, [])


def test_init_and_import_speak_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = json.loads(sos("init", "zeta", "--starter", "smb-bant", "--format", "json").stdout)
    assert (made["name"], made["starter"]) == ("zeta", "smb-bant")
    assert made["files"] == sorted(str(p.relative_to(tmp_path / "zeta")) for p in (tmp_path / "zeta").rglob("*")
                                   if p.is_file())
    monkeypatch.chdir(tmp_path / "zeta")
    assert sos("apply", "--auto-approve").exit_code == 0
    as_json = json.loads(sos("import", "--format", "json").stdout)
    assert as_json == yaml.safe_load(sos("import").stdout)
