"""The local sandbox: idempotent applies, stale plans, all-or-nothing, one apply at a time, no silent deletes."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from sos.backends.local import LocalBackend
from sos.errors import SosError
from sos.history import read_history
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan
from sos.plan.planfile import load_plan, save_plan
from sos.engine import PlanRun, apply_plan, make_plan, without_deletions
from sos.project import Project, load_project
from sos.resources import starter_names

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "blueprint.yaml"

PROJECT_FILE = """\
sos: 1
blueprint: blueprint.yaml
targets:
  sandbox: {type: local}
default_target: sandbox
"""

STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."


def make_project(root: Path, blueprint: str) -> Project:
    """What `sos init` makes: sos.yaml with a local sandbox target, and a blueprint."""
    (root / "sos.yaml").write_text(PROJECT_FILE, encoding="utf-8")
    write_blueprint(root, blueprint)
    return load_project(root / "sos.yaml")


def write_blueprint(root: Path, text: str) -> None:
    (root / "blueprint.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


def extends(starter: str, extra: str = "") -> str:
    return f"sos: 1\nname: client\nextends: [starter:{starter}]\n" + textwrap.dedent(extra)


def db_path(project: Project) -> Path:
    return project.root / ".sos" / "sandbox.db"


def save_run(run: PlanRun, path: Path) -> None:
    save_plan(run.plan, run.desired, path)


def saved_parts(path: Path) -> tuple[Plan, Model]:
    """A saved plan and the desired model it carries, as apply_plan takes them."""
    saved = load_plan(path)
    return saved.plan, saved.desired


def rows(project: Project) -> list[tuple]:
    """Every row of the sandbox, as stored."""
    with closing(sqlite3.connect(db_path(project))) as connection:
        return connection.execute("SELECT address, attrs, managed, origin FROM resources ORDER BY address").fetchall()


def apply_blueprint(project: Project) -> None:
    run = make_plan(project, project.target(None))
    result = apply_plan(project, run.backend, run.plan, run.desired)
    assert result.ok


@pytest.fixture
def applied(tmp_path: Path) -> Project:
    """A project on smb-bant whose sandbox has had the blueprint applied once."""
    project = make_project(tmp_path, extends("smb-bant"))
    apply_blueprint(project)
    return project


# --- idempotency ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [*starter_names(), "acme"])
def test_apply_then_plan_is_empty(tmp_path: Path, case: str) -> None:
    if case == "acme":
        (tmp_path / "sos.yaml").write_text(PROJECT_FILE, encoding="utf-8")
        shutil.copy(ACME, tmp_path / "blueprint.yaml")
        project = load_project(tmp_path / "sos.yaml")
    else:
        project = make_project(tmp_path, extends(case))
    target = project.target(None)
    first = make_plan(project, target)
    assert first.plan.count(Action.CREATE) == len(first.desired) > 40
    assert first.plan.count(Action.UPDATE) == first.plan.count(Action.DELETE) == 0
    result = apply_plan(project, first.backend, first.plan, first.desired)
    assert result.ok and len(result.applied) == len(first.desired)

    second = make_plan(project, target)
    assert second.plan.changes == ()
    assert second.plan.unchanged == len(first.desired)
    assert second.plan.live_fingerprint == first.desired.fingerprint()
    # the sandbox remembers where each resource came from
    live = second.backend.read(second.desired).model
    assert {str(r.address): (r.origin.file, r.origin.line) for r in live} == {
        str(r.address): (r.origin.file, r.origin.line) for r in first.desired}
    assert [e["outcome"] for e in read_history(project.state_dir)] == ["applied"]


# --- stale saved plans ----------------------------------------------------------------------------

def test_saved_plan_is_refused_once_the_sandbox_changed(applied: Project, tmp_path: Path) -> None:
    target = applied.target(None)
    write_blueprint(applied.root, extends("smb-bant", """\
        fields:
          opportunity:
            partner: {type: text, label: Partner}
        """))
    saved = tmp_path / "plan.json"
    save_run(make_plan(applied, target), saved)

    # someone else applies a different change before the saved plan is applied
    write_blueprint(applied.root, extends("smb-bant", """\
        pipelines:
          new_business:
            stages:
              - {key: demo, label: Demo, probability: 30}
        """))
    apply_blueprint(applied)
    before = rows(applied)

    with pytest.raises(SosError) as caught:
        apply_plan(applied, LocalBackend(target, applied.root), *saved_parts(saved))
    assert caught.value.diagnostics[0].message == STALE
    assert caught.value.diagnostics[0].code == "plan-stale"
    assert rows(applied) == before
    assert ("field.opportunity.partner",) not in [(r[0],) for r in before]
    history = read_history(applied.state_dir)
    assert [(e["outcome"], e.get("error")) for e in history] == [
        ("applied", None), ("applied", None), ("failed", STALE)]


def test_the_same_saved_plan_applies_only_once(applied: Project, tmp_path: Path) -> None:
    write_blueprint(applied.root, extends("smb-bant", "remove:\n  cadences: [friday_forecast]\n"))
    run = make_plan(applied, applied.target(None))
    saved = tmp_path / "plan.json"
    save_run(run, saved)
    apply_plan(applied, run.backend, *saved_parts(saved))
    after_first = rows(applied)
    with pytest.raises(SosError, match="^error: Saved plan is stale"):
        apply_plan(applied, run.backend, *saved_parts(saved))
    assert rows(applied) == after_first


# --- all or nothing -------------------------------------------------------------------------------

class FaultOnChange:
    """A fault hook that lets N-1 changes through, then fails the Nth as a CRM rejection would."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen: list[Change] = []

    def __call__(self, change: Change) -> None:
        self.seen.append(change)
        if len(self.seen) == self.n:
            raise SosError(f"sandbox refused {change.address}", "injected")


CHANGED_SMB = extends("smb-bant", """\
    fields:
      opportunity:
        partner: {type: text, label: Partner}
        renewal_date: {type: date, label: Renewal date}
    pipelines:
      new_business:
        stages:
          - {key: demo, label: Demo, probability: 30}
          - {key: quote_sent, label: Quote out, probability: 50}
    remove:
      cadences: [friday_forecast, daily_stale_deals]
      routing: [international]
    """)


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_fault_half_way_leaves_the_sandbox_as_it_was(applied: Project, which: str) -> None:
    write_blueprint(applied.root, CHANGED_SMB)
    target = applied.target(None)
    run = make_plan(applied, target)
    changes = run.plan.changes
    assert {c.action for c in changes} == {Action.CREATE, Action.UPDATE, Action.DELETE}
    n = {"first": 1, "middle": len(changes) // 2 + 1, "last": len(changes)}[which]
    before_rows, before_bytes = rows(applied), db_path(applied).read_bytes()
    before_fingerprint = run.backend.read(run.desired).model.fingerprint()

    fault = FaultOnChange(n)
    with pytest.raises(SosError, match=f"sandbox refused {changes[n - 1].address}"):
        apply_plan(applied, LocalBackend(target, applied.root, fault=fault), run.plan, run.desired)
    assert [c.address for c in fault.seen] == [c.address for c in changes[:n]]

    assert rows(applied) == before_rows
    assert db_path(applied).read_bytes() == before_bytes
    again = make_plan(applied, target)
    assert again.plan.live_fingerprint == before_fingerprint
    assert again.plan.changes == changes
    assert read_history(applied.state_dir)[-1]["outcome"] == "failed"

    # and with the fault gone the same plan applies in full
    apply_plan(applied, again.backend, again.plan, again.desired)
    assert make_plan(applied, target).plan.changes == ()


def test_a_crash_in_the_first_apply_leaves_the_sandbox_empty(tmp_path: Path) -> None:
    project = make_project(tmp_path, extends("plg-inbound"))
    target = project.target(None)
    run = make_plan(project, target)

    def crash(change: Change) -> None:
        if change.address.kind is Kind.RULE:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        LocalBackend(target, project.root, fault=crash).apply(run.plan, run.desired)
    assert rows(project) == []
    assert len(make_plan(project, target).plan.changes) == len(run.desired)


def test_an_apply_that_crashes_is_recorded_as_failed(applied: Project) -> None:
    """apply_plan records the outcome "failed or not": an unexpected error mid-apply is a failed apply too."""
    write_blueprint(applied.root, CHANGED_SMB)
    target = applied.target(None)
    run = make_plan(applied, target)

    def crash(change: Change) -> None:
        raise RuntimeError("connection reset")

    with pytest.raises(RuntimeError, match="connection reset"):
        apply_plan(applied, LocalBackend(target, applied.root, fault=crash), run.plan, run.desired)
    assert [e["outcome"] for e in read_history(applied.state_dir)] == ["applied", "failed"]


# --- one apply at a time --------------------------------------------------------------------------

def test_a_second_apply_at_the_same_time_is_refused_then_succeeds(applied: Project) -> None:
    write_blueprint(applied.root, CHANGED_SMB)
    target = applied.target(None)
    run = make_plan(applied, target)
    before = rows(applied)

    other = sqlite3.connect(db_path(applied), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # what a running apply holds
        with pytest.raises(SosError) as caught:
            apply_plan(applied, run.backend, run.plan, run.desired)
        assert caught.value.diagnostics[0].message == (
            f"another apply is running on target 'sandbox' ({db_path(applied)} is locked); wait for it to "
            "finish, then run `sos plan` again")
        # planning still works while an apply runs, and sees the state before it
        assert make_plan(applied, target).plan.changes == run.plan.changes
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rows(applied) == before

    apply_plan(applied, run.backend, run.plan, run.desired)
    assert make_plan(applied, target).plan.changes == ()
    assert [e["outcome"] for e in read_history(applied.state_dir)] == ["applied", "failed", "applied"]


def test_what_the_other_writer_committed_is_kept(applied: Project) -> None:
    """The other transaction commits while ours waits: our old plan is stale, a new one applies, both survive."""
    write_blueprint(applied.root, CHANGED_SMB)
    target = applied.target(None)
    run = make_plan(applied, target)

    with closing(sqlite3.connect(db_path(applied), isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(SosError, match="another apply is running"):
            apply_plan(applied, run.backend, run.plan, run.desired)
        other.execute("INSERT INTO resources VALUES ('field.lead.by_hand', '{\"type\": \"text\"}', 0, NULL)")
        other.execute("COMMIT")

    with pytest.raises(SosError, match="Saved plan is stale"):
        apply_plan(applied, run.backend, run.plan, run.desired)
    fresh = make_plan(applied, target)
    assert fresh.plan.changes == run.plan.changes
    apply_plan(applied, fresh.backend, fresh.plan, fresh.desired)

    live = fresh.backend.read(fresh.desired).model
    by_hand = live.get(Address(Kind.FIELD, "lead", "by_hand"))
    assert by_hand == Resource(Address(Kind.FIELD, "lead", "by_hand"), {"type": "text"}, None, managed=False)
    assert {r.address for r in live} == set(fresh.desired.resources) | {by_hand.address}
    assert make_plan(applied, target).plan.changes == ()


def test_an_apply_that_is_committing_is_reported_not_crashed_into(applied: Project) -> None:
    """While an apply commits (or once its page cache spills), SQLite holds the EXCLUSIVE lock.

    A second apply then must get the same plain "another apply is running" refusal as under
    BEGIN IMMEDIATE, not a raw sqlite3.OperationalError (which the CLI turns into exit 3,
    "internal error", and a crash log).
    """
    write_blueprint(applied.root, CHANGED_SMB)
    run = make_plan(applied, applied.target(None))
    before = rows(applied)
    other = sqlite3.connect(db_path(applied), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(SosError) as caught:
            run.backend.apply(run.plan, run.desired)
        assert "another apply is running on target 'sandbox'" in caught.value.diagnostics[0].message
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rows(applied) == before


def test_planning_while_an_apply_commits_is_reported_not_crashed_into(applied: Project) -> None:
    """`sos plan` during another apply's commit (EXCLUSIVE lock) must fail with a SosError, not a raw sqlite3 error."""
    target = applied.target(None)
    other = sqlite3.connect(db_path(applied), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(SosError) as caught:
            make_plan(applied, target)
        assert "another apply is running on target 'sandbox'" in caught.value.diagnostics[0].message
    finally:
        other.execute("ROLLBACK")
        other.close()


# --- no silent deletes ----------------------------------------------------------------------------

def test_removing_a_stage_plans_a_dangerous_delete_that_is_skipped_without_permission(applied: Project) -> None:
    write_blueprint(applied.root, extends("smb-bant", "remove:\n  stages: {new_business: [negotiation]}\n"))
    target = applied.target(None)
    run = make_plan(applied, target)
    # the stage leaves the pipeline, and the earlier stages' requirement rules stop naming it
    assert [(c.action.value, str(c.address), c.danger) for c in run.plan.changes] == [
        ("update", "pipeline.opportunity.new_business", ""),
        ("update", "stage_requirement.new_business.demo", ""),
        ("update", "stage_requirement.new_business.discovery_call__exit", ""),
        ("update", "stage_requirement.new_business.quote_sent", ""),
        ("delete", "stage_requirement.new_business.negotiation", ""),
        ("delete", "stage.new_business.negotiation",
         "removes a stage: deals in it must move first, and reports that use it lose it"),
    ]

    kept = without_deletions(run.plan)
    assert kept.changes == run.plan.changes[1:4]      # without the flag the pipeline keeps the stage: no change
    assert kept.live_fingerprint == run.plan.live_fingerprint
    pipeline = Address(Kind.PIPELINE, "opportunity", "new_business")
    stages_before = run.backend.read(run.desired).model.get(pipeline).attrs["stages"]
    apply_plan(applied, run.backend, kept, run.desired)

    live = run.backend.read(run.desired).model
    assert live.get(Address(Kind.STAGE, "new_business", "negotiation")) is not None
    assert live.get(Address(Kind.STAGE_REQUIREMENT, "new_business", "negotiation")) is not None
    assert live.get(pipeline).attrs["stages"] == stages_before
    # the removal is still pending, and still flagged
    pending = make_plan(applied, target).plan
    assert [(c.action.value, str(c.address)) for c in pending.changes] == [
        ("update", "pipeline.opportunity.new_business"),
        ("delete", "stage_requirement.new_business.negotiation"),
        ("delete", "stage.new_business.negotiation"),
    ]
    assert pending.changes[2].danger.startswith("removes a stage")

    # applied with permission, the stage goes
    apply_plan(applied, run.backend, pending, run.desired)
    assert run.backend.read(run.desired).model.get(Address(Kind.STAGE, "new_business", "negotiation")) is None
    assert make_plan(applied, target).plan.changes == ()


def test_unmanaged_resources_are_never_changed_or_deleted(applied: Project) -> None:
    target = applied.target(None)
    backend = LocalBackend(target, applied.root)
    lookalike = Resource(Address(Kind.FIELD, "opportunity", "partner"), {"type": "text", "label": "Their partner"},
                         managed=False)
    stray = Resource(Address(Kind.AUTOMATION, "schedule", "their_report"), {"action": {"report": "forecast"}},
                     managed=False)
    backend.seed_unmanaged(lookalike)
    backend.seed_unmanaged(stray)
    write_blueprint(applied.root, extends("smb-bant", """\
        fields:
          opportunity:
            partner: {type: picklist, values: [A, B], label: Partner}
        """))
    run = make_plan(applied, target)
    assert run.plan.changes == ()
    assert [(str(u.address), u.note) for u in run.plan.unmanaged] == [
        ("field.opportunity.partner", "exists in the CRM but was not created by sos; left alone; it differs "
             "from the blueprint in label, type, values (`--adopt` takes it under management)")]
    apply_plan(applied, run.backend, run.plan, run.desired)
    live = backend.read(run.desired).model
    assert live.get(lookalike.address) == lookalike
    assert live.get(stray.address) == stray


# --- tampered saved plans -------------------------------------------------------------------------

PARTNER = Address(Kind.FIELD, "opportunity", "partner")
THEIRS = {"type": "text", "label": "Their partner"}


def edited(change: dict, action: str) -> dict:
    """A saved plan's change for the org's own field `partner`, edited by hand to `action` it."""
    before, after = ({**THEIRS}, None) if action == "delete" else \
        (None if action == "create" else {**THEIRS}, {"type": "text", "label": "Hijacked"})
    return {**change, "address": str(PARTNER), "action": action, "before": before, "after": after, "origin": None}


@pytest.mark.parametrize("action", ["delete", "update", "create"])
def test_an_edited_plan_never_touches_what_sos_did_not_create(applied: Project, tmp_path: Path,
                                                               action: str) -> None:
    """plan.json is a CI artifact anyone could edit between the plan and the apply job: the sandbox holds
    the org's own field `partner`, and a plan edited to delete, relabel or re-create it is refused."""
    import json

    backend = LocalBackend(applied.target(None), applied.root)
    backend.seed_unmanaged(Resource(PARTNER, THEIRS, managed=False))
    write_blueprint(applied.root, extends("smb-bant", "remove:\n  cadences: [friday_forecast]\n"))
    saved = tmp_path / "plan.json"
    save_run(make_plan(applied, applied.target(None)), saved)
    data = json.loads(saved.read_text())
    data["changes"].append(edited(data["changes"][0], action))
    saved.write_text(json.dumps(data, indent=2))
    before = rows(applied)
    with pytest.raises(SosError) as caught:
        apply_plan(applied, backend, *saved_parts(saved))
    verb = {"delete": "deletes", "update": "changes", "create": "creates"}[action]
    why = ("which the CRM already holds (sos did not create)" if action == "create" else
           "which sos did not create (`--adopt` takes it under management)")
    edited_line = saved.read_text().splitlines().index(f'      "address": "{PARTNER}",') + 1
    assert [d.headline() for d in caught.value.diagnostics] == [
        f"{saved}:{edited_line}:7: error: this plan cannot be applied: it {verb} field.opportunity.partner, {why} "
        "[plan-mismatch]"]
    assert rows(applied) == before     # nothing applied, the cadence removal included


def test_an_edited_plan_whose_before_is_not_the_sandbox_is_refused(applied: Project, tmp_path: Path) -> None:
    import json

    write_blueprint(applied.root, extends("smb-bant", "remove:\n  cadences: [friday_forecast]\n"))
    saved = tmp_path / "plan.json"
    save_run(make_plan(applied, applied.target(None)), saved)
    data = json.loads(saved.read_text())
    data["changes"][0]["before"] = {"edited": True}
    saved.write_text(json.dumps(data, indent=2))
    before = rows(applied)
    with pytest.raises(SosError, match=r"deletes cadence\.schedule\.friday_forecast, but the CRM holds it otherwise"):
        apply_plan(applied, LocalBackend(applied.target(None), applied.root), *saved_parts(saved))
    assert rows(applied) == before


@pytest.mark.parametrize("action", [Action.DELETE, Action.UPDATE, Action.CREATE])
def test_the_sandbox_guards_the_rows_sos_did_not_create_in_sql(applied: Project, action: Action) -> None:
    """The last line of defence, under the plan check: the SQL itself never touches an unmanaged row."""
    from sos.backends.local import _apply_change

    LocalBackend(applied.target(None), applied.root).seed_unmanaged(Resource(PARTNER, THEIRS, managed=False))
    before = rows(applied)
    change = Change(PARTNER, action, THEIRS if action is not Action.CREATE else None,
                    None if action is Action.DELETE else {"type": "text", "label": "Hijacked"})
    with (closing(sqlite3.connect(db_path(applied), isolation_level=None)) as connection,
          pytest.raises(SosError, match=f"^error: the sandbox refused to {action.value} field.opportunity.partner")):
        _apply_change(connection, change)
    assert rows(applied) == before


def test_a_sandbox_an_earlier_sos_wrote_plans_and_applies_as_before(applied: Project) -> None:
    """Earlier versions stored a stage's `require` as the rule `rule.opportunity.PIPELINE__STAGE__required` with
    `when`/`require` text. Such a sandbox plans no change for it but its `enforce` (always, as it was then), and
    the next apply stores it under its new address, so the stage requirement is updated, not created twice or
    deleted."""
    with closing(sqlite3.connect(db_path(applied))) as connection, connection:
        for address, attrs in connection.execute(
                "SELECT address, attrs FROM resources WHERE address LIKE 'stage_requirement.%'").fetchall():
            _, pipeline, stage = address.split(".")
            old = json.loads(attrs)
            checks = " and ".join(f"not is_blank({f})" for f in old["fields"])
            when = "stage in [" + ", ".join(f"'{s}'" for s in old["stages"]) + "]"
            connection.execute("UPDATE resources SET address = ?, attrs = ? WHERE address = ?", (
                f"rule.opportunity.{pipeline}__{stage}__required",
                json.dumps({"when": when, "require": checks, "message": old["message"]}), address))
    assert not [r for r in rows(applied) if r[0].startswith("stage_requirement.")]
    # The old rows bit on every save; all that changes is that stage requirements now bite on a stage change.
    changes = make_plan(applied, applied.target(None)).plan.changes
    assert changes and {c.action for c in changes} == {Action.UPDATE}
    assert all(c.address.kind is Kind.STAGE_REQUIREMENT and c.before == {**(c.after or {}), "enforce": "always"}
               and (c.after or {})["enforce"] == "on_stage_change" for c in changes)

    write_blueprint(applied.root, extends("smb-bant", """\
        pipelines:
          new_business:
            stages:
              - {key: demo, label: Demo held}
        """))
    run = make_plan(applied, applied.target(None))
    assert (Action.UPDATE, "stage_requirement.new_business.demo") in {(c.action, str(c.address))
                                                                     for c in run.plan.changes}
    assert apply_plan(applied, run.backend, run.plan, run.desired).ok
    stored = {address: json.loads(attrs) for address, attrs, _, _ in rows(applied)}
    assert not [a for a in stored if a.endswith("__required")]
    assert stored["stage_requirement.new_business.demo"]["message"].startswith("Demo held needs: ")
    assert make_plan(applied, applied.target(None)).plan.changes == ()


def test_cadences_an_earlier_sos_wrote_with_their_defaults_plan_no_change(applied: Project) -> None:
    """Earlier versions stored a cadence's action as written, `assign_to: owner` and `priority: normal` included;
    this sos leaves defaults out. Such a sandbox plans no change, and its next apply stores the rows without them."""
    with closing(sqlite3.connect(db_path(applied))) as connection, connection:
        spelled = 0
        for address, attrs in connection.execute(
                "SELECT address, attrs FROM resources WHERE address LIKE 'cadence.%'").fetchall():
            action = json.loads(attrs)
            task = action.get("action", {}).get("create_task")
            if task is not None and "assign_to" not in task:
                task.update(assign_to="owner", priority=task.get("priority", "normal"))
                connection.execute("UPDATE resources SET attrs = ? WHERE address = ?", (json.dumps(action), address))
                spelled += 1
    assert spelled >= 1
    assert make_plan(applied, applied.target(None)).plan.changes == ()
    write_blueprint(applied.root, extends("smb-bant", """\
        pipelines:
          new_business:
            stages:
              - {key: demo, label: Demo held}
        """))
    run = make_plan(applied, applied.target(None))
    assert apply_plan(applied, run.backend, run.plan, run.desired).ok
    stored = [json.loads(attrs) for address, attrs, _, _ in rows(applied) if address.startswith("cadence.")]
    assert not [a for a in stored if '"assign_to": "owner"' in json.dumps(a)]
