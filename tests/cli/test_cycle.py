"""The validate → plan → apply → plan cycle through the command line, in a project `sos init` made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from sos.backends import open_backend
from sos.cli import cli
from sos.history import read_history
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.diff import plan_digest
from sos.engine import desired_model
from sos.project import load_project

REPO = Path(__file__).resolve().parents[2]
STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."
NO_CHANGES = "No changes. The CRM matches the blueprint."
SMB_RESOURCES = 52  # smb-bant compiles to this many resources (checked below, not assumed)


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add_to_blueprint(root: Path, text: str) -> None:
    path = root / "blueprint.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def sandbox_addresses(root: Path) -> set[str]:
    project = load_project(root / "sos.yaml")
    return {str(r.address) for r in open_backend(project.target(None), project.root).read(Model()).model}


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


def test_detailed_exitcode(project: Path) -> None:
    result = sos("plan", "--detailed-exitcode")
    assert (result.exit_code, last_line(result.stdout)) == (
        2, f"Plan: {SMB_RESOURCES} to add, 0 to change, 0 to delete.")
    assert sos("plan").exit_code == 0  # without the flag, changes are not an error
    applied = sos("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert last_line(applied.stdout) == f"Apply complete: {SMB_RESOURCES} added, 0 changed, 0 deleted."
    result = sos("plan", "--detailed-exitcode")
    assert (result.exit_code, result.stdout) == (0, NO_CHANGES + "\n")


def test_saved_plan_applies_exactly_that_plan(project: Path) -> None:
    saved = sos("plan", "-o", "plan.json")
    assert saved.exit_code == 0
    assert saved.stderr == "Saved the plan to plan.json. Apply exactly it with: sos apply plan.json\n"
    # the blueprint moves on after the plan was saved; the saved plan does not
    add_to_blueprint(project, "fields:\n  opportunity:\n    partner: {type: text, label: Partner}\n")

    result = sos("apply", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == f"Apply complete: {SMB_RESOURCES} added, 0 changed, 0 deleted."
    assert "field.opportunity.partner" not in sandbox_addresses(project)
    assert len(sandbox_addresses(project)) == SMB_RESOURCES

    after = sos("plan", "--detailed-exitcode")
    assert after.exit_code == 2
    assert "  + field.opportunity.partner" in after.stdout
    assert last_line(after.stdout) == "Plan: 1 to add, 0 to change, 0 to delete."
    (entry,) = read_history(project / ".sos")
    assert entry["plan_digest"] == plan_digest(json.loads((project / "plan.json").read_text(encoding="utf-8")))
    assert (entry["outcome"], entry["summary"]) == (
        "applied", {"create": SMB_RESOURCES, "update": 0, "delete": 0, "adopt": 0})


@pytest.mark.parametrize("saved", [False, True], ids=["planned-on-the-spot", "saved-plan"])
def test_apply_refuses_without_approval_off_a_terminal(project: Path, saved: bool) -> None:
    args = ["apply"]
    if saved:
        assert sos("plan", "-o", "plan.json").exit_code == 0
        args.append("plan.json")
    result = sos(*args)  # CliRunner's stdin is not a TTY
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "error: not on a terminal, so nobody can confirm: pass --auto-approve to apply [no-approval]\n")
    assert "Apply complete" not in result.stdout
    assert sandbox_addresses(project) == set()
    assert read_history(project / ".sos") == []


SKIPPING = ("Skipping 2 deletions: pass --allow-delete to apply them (or set `allow_delete: true` on target "
            "'sandbox' in sos.yaml).\n")


def set_target_option(root: Path, line: str) -> None:
    """Add `line` to the sandbox target in sos.yaml."""
    path = root / "sos.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    type: local ", f"    {line}\n    type: local ", 1), encoding="utf-8")


def test_a_target_may_allow_deletions(project: Path) -> None:
    assert sos("apply", "--auto-approve").exit_code == 0
    add_to_blueprint(project, "remove:\n  cadences: [friday_forecast]\n")
    set_target_option(project, "allow_delete: true")
    result = sos("apply", "--auto-approve")
    assert (result.exit_code, result.stderr) == (0, "")
    assert last_line(result.stdout) == "Apply complete: 0 added, 0 changed, 1 deleted."
    assert "cadence.schedule.friday_forecast" not in sandbox_addresses(project)


@pytest.mark.parametrize(("answer", "code", "applied"), [
    pytest.param("y\n", 1, False, id="yes-is-not-the-name"),
    pytest.param("sandbox\n", 0, True, id="the-name"),
])
def test_a_protected_target_asks_for_its_name(project: Path, answer: str, code: int, applied: bool) -> None:
    set_target_option(project, "protected: true")
    returncode, output = on_a_terminal(project, answer, "apply")
    assert returncode == code, output
    assert "Target 'sandbox' is protected. Type its name to apply these changes: " in output
    assert bool(sandbox_addresses(project)) == applied


def test_deletions_need_allow_delete(project: Path) -> None:
    assert sos("apply", "--auto-approve").exit_code == 0
    add_to_blueprint(project, "remove:\n  cadences: [friday_forecast, daily_stale_deals]\n"
                              "fields:\n  opportunity:\n    partner: {type: text, label: Partner}\n")

    result = sos("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert result.stderr == SKIPPING
    assert last_line(result.stdout) == "Apply complete: 1 added, 0 changed, 0 deleted."
    live = sandbox_addresses(project)
    assert {"cadence.schedule.friday_forecast", "cadence.schedule.daily_stale_deals",
            "field.opportunity.partner"} <= live

    only_deletions = sos("apply", "--auto-approve")
    assert (only_deletions.exit_code, only_deletions.stderr) == (
        0, SKIPPING)
    assert "Apply complete" not in only_deletions.stdout

    result = sos("apply", "--auto-approve", "--allow-delete")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == "Apply complete: 0 added, 0 changed, 2 deleted."
    assert not {"cadence.schedule.friday_forecast", "cadence.schedule.daily_stale_deals"} & sandbox_addresses(project)
    assert sos("plan", "--detailed-exitcode").exit_code == 0
    assert [e["summary"] for e in read_history(project / ".sos")] == [
        {"create": SMB_RESOURCES, "update": 0, "delete": 0, "adopt": 0},
        {"create": 1, "update": 0, "delete": 0, "adopt": 0},
        {"create": 0, "update": 0, "delete": 2, "adopt": 0},
    ]


def test_import_then_plan_shows_no_changes(project: Path) -> None:
    add_to_blueprint(project, "pipelines:\n  new_business:\n    stages:\n"
                              "      - {key: demo, label: Demo held, probability: 30}\n")
    assert sos("apply", "--auto-approve").exit_code == 0
    result = sos("import", "-o", "imported.yaml")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote imported.yaml: {SMB_RESOURCES} resources from target 'sandbox'.\n"
    text = (project / "imported.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Imported by `sos import` from target 'sandbox'.\nsos: 1\nname: sandbox\n")
    assert "extends" not in text

    (project / "blueprint.yaml").write_text(text, encoding="utf-8")
    assert sos("validate").exit_code == 0
    plan = sos("plan", "--detailed-exitcode")
    assert (plan.exit_code, plan.stdout) == (0, NO_CHANGES + "\n")
    stdout_import = sos("import")
    assert stdout_import.stdout == text


def test_targets_lists_the_sandbox(project: Path) -> None:
    database = project.resolve() / ".sos" / "sandbox.db"
    result = sos("targets")
    assert (result.exit_code, result.stdout) == (
        0, f"* sandbox      local       local sandbox {database} (empty: nothing applied yet)\n")
    assert sos("apply", "--auto-approve").exit_code == 0
    assert sos("targets").stdout == f"* sandbox      local       local sandbox {database} ({SMB_RESOURCES} resources)\n"


def test_history_lists_applies_and_a_failed_stale_one(project: Path) -> None:
    assert sos("history").stdout == "No applies yet.\n"
    assert sos("plan", "-o", "plan.json").exit_code == 0
    assert sos("apply", "plan.json", "--auto-approve").exit_code == 0
    stale = sos("apply", "plan.json", "--auto-approve")  # the sandbox moved on: the same plan is stale now
    assert stale.exit_code == 1
    assert stale.stderr == f"error: {STALE} [plan-stale]\n"

    digest = plan_digest(json.loads((project / "plan.json").read_text(encoding="utf-8")))
    entries = json.loads(sos("history", "--format", "json").stdout)
    assert [(e["target"], e["plan_digest"], e["outcome"], e.get("error")) for e in entries] == [
        ("sandbox", digest, "applied", None), ("sandbox", digest, "failed", STALE)]
    lines = sos("history").stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(f"{digest}  +{SMB_RESOURCES} ~0 -0    applied")
    assert lines[1].endswith(f"{digest}  +{SMB_RESOURCES} ~0 -0    failed: {STALE}")
    assert lines[0].startswith(f"  1  {entries[0]['at']}")


def test_plan_formats(project: Path) -> None:
    as_json = sos("plan", "--format", "json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert data["summary"] == {"create": SMB_RESOURCES, "update": 0, "delete": 0, "adopt": 0, "unchanged": 0}
    assert data["target"] == {"name": "sandbox", "type": "local"}
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)

    markdown = sos("plan", "--format", "markdown")
    assert markdown.exit_code == 0
    assert f"**Plan: {SMB_RESOURCES} to add, 0 to change, 0 to delete.** 0 unchanged." in markdown.stdout.splitlines()

    assert sos("apply", "--auto-approve").exit_code == 0
    assert json.loads(sos("plan", "--format", "json").stdout)["summary"] == {
        "create": 0, "update": 0, "delete": 0, "adopt": 0, "unchanged": SMB_RESOURCES}
    assert (f"**No changes.** The CRM matches the blueprint. {SMB_RESOURCES} unchanged."
            in sos("plan", "--format", "markdown").stdout.splitlines())


def test_installed_entry_point_runs_the_whole_cycle(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sos"
    assert script.is_file(), f"{script} is not installed"
    env = {**os.environ, "NO_COLOR": "1"}

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)

    init = run("init", "gamma", "--starter", "services-agency", "--name", "gamma", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    root = tmp_path / "gamma"
    validate = run("validate", cwd=root)
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.startswith("blueprint.yaml is valid: ")
    plan = run("plan", "--detailed-exitcode", cwd=root)
    assert plan.returncode == 2, plan.stderr
    count = int(last_line(plan.stdout).split()[1])
    assert last_line(plan.stdout) == f"Plan: {count} to add, 0 to change, 0 to delete."
    apply = run("apply", "--auto-approve", cwd=root)
    assert apply.returncode == 0, apply.stderr
    assert last_line(apply.stdout) == f"Apply complete: {count} added, 0 changed, 0 deleted."
    again = run("plan", "--detailed-exitcode", cwd=root)
    assert (again.returncode, again.stdout, again.stderr) == (0, NO_CHANGES + "\n", "")


def test_smb_resource_count_is_what_the_tests_assume(project: Path) -> None:
    assert len(desired_model(load_project(project / "sos.yaml"))) == SMB_RESOURCES


def test_import_brings_an_existing_crm_under_management(project: Path) -> None:
    """DESIGN: `sos import` writes a blueprint "so an existing client can be brought under management on
    day one"; the plan schema: an unmanaged look-alike is left alone, "`sos import` takes it under management".

    So after import and an apply with --adopt, editing an imported field in the blueprint must plan an
    update, rather than report the field as not sos's and say the CRM matches the blueprint.
    """
    loaded = load_project(project / "sos.yaml")
    backend = open_backend(loaded.target(None), loaded.root)
    backend.seed_unmanaged(Resource(Address(Kind.FIELD, "opportunity", "partner"),
                                    {"type": "text", "label": "Partner", "length": 255}, managed=False))
    imported = sos("import", "-o", "blueprint.yaml")
    assert imported.exit_code == 0, imported.output
    assert "run `sos apply --adopt`" in imported.stderr
    before = sos("plan", "--adopt")
    assert "  = field.opportunity.partner" in before.stdout.splitlines()[2]
    assert "Plan: 0 to add, 0 to change, 0 to delete, 1 to adopt." in before.stdout.splitlines()
    adopted = sos("apply", "--auto-approve", "--adopt")
    assert adopted.exit_code == 0, adopted.output
    assert adopted.stdout.splitlines()[-1] == "Apply complete: 0 added, 0 changed, 0 deleted, 1 adopted."

    path = project / "blueprint.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("label: Partner\n") == 1
    path.write_text(text.replace("label: Partner\n", "label: Partner company\n"), encoding="utf-8")
    plan = sos("plan", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.stdout
    assert "  ~ field.opportunity.partner" in plan.stdout
    assert "      label: Partner → Partner company" in plan.stdout.splitlines()


def on_a_terminal(root: Path, answer: str, *args: str) -> tuple[int, str]:
    """Run the installed `sos` with a pseudo-terminal as stdin (so it may ask), answering `answer`."""
    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen([str(Path(sys.executable).parent / "sos"), *args], cwd=root, stdin=secondary,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "NO_COLOR": "1"})
        os.write(primary, answer.encode())
        output, _ = process.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    return process.returncode, output


@pytest.mark.parametrize(("answer", "code", "closing", "applied"), [
    pytest.param("n\n", 1, "Apply cancelled; nothing was changed.", False, id="no"),
    pytest.param("y\n", 0, f"Apply complete: {SMB_RESOURCES} added, 0 changed, 0 deleted.", True, id="yes"),
])
def test_apply_asks_on_a_terminal(project: Path, answer: str, code: int, closing: str, applied: bool) -> None:
    returncode, output = on_a_terminal(project, answer, "apply")
    # the answer is typed on the terminal, not into the captured output: the prompt and the result share a line
    assert (returncode, last_line(output)) == (code, f"Apply these changes to target 'sandbox'? [y/N]: {closing}")
    assert bool(sandbox_addresses(project)) == applied


def test_a_corrupt_sandbox_is_a_clear_error(project: Path) -> None:
    (project / ".sos").mkdir(exist_ok=True)
    (project / ".sos" / "sandbox.db").write_bytes(b"this is not a database, it is a grocery list\n" * 100)
    result = sos("plan")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {project / '.sos' / 'sandbox.db'} is not a sos sandbox (")
    assert "move it away and apply again to start an empty sandbox [sandbox-corrupt]" in result.stderr


def test_outputs_that_cannot_be_written_are_clear_errors(project: Path) -> None:
    for args in (["plan", "-o", "/nonexistent/plan.json"], ["import", "-o", "/nonexistent/blueprint.yaml"]):
        result = sos(*args)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            f"error: cannot write {args[-1]}: No such file or directory [file-unwritable]")


def test_a_damaged_history_line_is_located(project: Path) -> None:
    assert sos("apply", "--auto-approve").exit_code == 0
    with (project / ".sos" / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write("{half a line\n")
    result = sos("history")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{project / '.sos' / 'history.jsonl'}:2:1: error: not an apply record [history-corrupt]")


def test_a_sandbox_path_that_is_a_folder_is_a_clear_error(project: Path) -> None:
    (project / "sos.yaml").write_text("targets:\n  sandbox: {type: local, path: /tmp}\n", encoding="utf-8")
    result = sos("plan")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("sos.yaml:2:12: error: cannot use the sandbox file /tmp: ")
