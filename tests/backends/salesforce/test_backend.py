"""SalesforceBackend against the emulator, through simple-salesforce over real HTTPS.

plan → apply → plan is empty for every starter and the acme example; a saved plan applies
in a later process; import then plan is empty; the org's own stage values survive an apply;
check() finds deals in stages a plan removes; a plan costs one retrieve and an apply one
deploy (plus their status polls) whatever the blueprint's size.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import replace
from collections.abc import Callable

import pytest
import yaml
from click.testing import CliRunner

from bench.generate import blueprint as generated_blueprint
from sos.backends import open_backend
from sos.backends.base import Support
from sos.backends.salesforce.backend import ROUTING_NOTE, STALE, SalesforceBackend, component_at_line
from sos.backends.salesforce.lower.flows import HELD_NOTE
from sos.backends.salesforce.names import rule_api_name
from sos.cli import cli
from sos.errors import SosError
from sos.model.decompile import model_to_blueprint
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Action
from sos.plan.planfile import load_plan, save_plan
from sos.engine import apply_plan, check_plan, desired_model, make_plan, without_deletions
from sos.project import Project, load_project
from tests.backends.salesforce.conftest import SMALL, STARTERS, Recorder, blueprint_text, plan_for
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child, text

PLAN_CALLS = {"retrieve": 1, "checkRetrieveStatus": 1}
ROUTING_CALLS = {"query": 2}       # a blueprint with routes: the org's users and queues
# The first apply also assigns the permission set to the user sos runs as: who it is, the set, any assignment, one.
GRANT_CALLS = {"userinfo": 1, "query": 2, "create": 1}
APPLY_CALLS = {"retrieve": 1, "checkRetrieveStatus": 1, "deploy": 1, "checkDeployStatus": 1, **GRANT_CALLS}
MakeProject = Callable[..., Project]
MakeBackend = Callable[..., SalesforceBackend]


def stage_rows(emulator: SalesforceEmulator) -> dict[str, bool]:
    """Every OpportunityStage value and whether it is active (read beside the backend, not through it)."""
    sf = emulator.client()
    rows = sf.query("SELECT ApiName, IsActive FROM OpportunityStage ORDER BY SortOrder")["records"]
    return {row["ApiName"]: row["IsActive"] for row in rows}


def flows_expected(desired: Model, left_alone: set[str]) -> set[str]:
    """The flow names of the blueprint's cadences (as its plain attributes say, not the backend's choice) that fire
    on a record event and send a notification, or create a task for the record's owner or a named user (a Task's
    owner is a user: Object Reference, Task), and of its stale-deal cadences that create such a task, one per open
    stage with a max_days sos manages (docs/salesforce.md, "Stale deals")."""
    names = set()
    watched = [s.address.key for s in desired.of_kind(Kind.STAGE) if s.attrs.get("max_days")
               and s.attrs.get("outcome", "open") == "open" and str(s.address) not in left_alone]
    for cadence in desired.of_kind(Kind.AUTOMATION):
        (event, value), = (cadence.attrs.get("trigger") or {"schedule": None}).items()
        task = cadence.attrs["action"].get("create_task")
        by_user = task and "queue" not in (task.get("assign_to") or {})
        words = f"{cadence.address.scope}_{cadence.address.key}".split("_")
        if event in ("record_created", "stage_entered", "status_entered") and ("notify" in cadence.attrs["action"]
                                                                              or by_user):
            names.add("Sos_" + "_".join(w.capitalize() for w in words))
        elif event == "stage_age_over" and value == "max_days" and "when" not in cadence.attrs and by_user:
            names |= {"Sos_" + "_".join(w.capitalize() for w in [*words, "in", *stage.split("_")]) for stage in watched}
    return names


def counted(emulator: SalesforceEmulator) -> dict[str, int]:
    calls = dict(emulator.calls)
    emulator.calls.clear()
    return calls


# -- the cycle ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [*STARTERS, "acme"])
def test_plan_apply_plan_is_empty(emulator: SalesforceEmulator, make_project: MakeProject, case: str) -> None:
    project = make_project(blueprint_text(case))     # every starter routes leads: the org has the people they name
    target = project.target(None)
    first = make_plan(project, target, impact=False)     # the impact's counts: tests/cli/test_impact.py
    assert first.plan.has_changes and counted(emulator) == {**PLAN_CALLS, **ROUTING_CALLS}
    assert [note.split(" in the blueprint")[1] for note in first.plan.cannot_enforce] == [
        f" are applied in part: {HELD_NOTE}",
        f" are applied in part: {ROUTING_NOTE}"]
    assert any(c.address.kind is Kind.ASSIGNMENT for c in first.plan.changes)
    result = apply_plan(project, first.backend, first.plan, first.desired)
    assert result.ok, result.failed
    assert result.applied == tuple(c.address for c in first.plan.changes)
    assert counted(emulator) == {**APPLY_CALLS, "query": APPLY_CALLS["query"] + ROUTING_CALLS["query"]}
    assert emulator.org.get("AssignmentRule", "Lead.Sos_Lead_Routing") is not None
    # One active flow per cadence a record event fires that notifies or creates a task for a user, one per watched
    # stage for a stale-deal cadence.
    active = {c.full_name for c in emulator.org.of_type("Flow") if text(c.body, "status") == "Active"}
    left_alone = {str(u.address) for u in first.plan.unmanaged}
    assert active == flows_expected(first.desired, left_alone) and active
    again = make_plan(project, target)
    assert [str(c.address) for c in again.plan.changes] == []
    assert counted(emulator) == {**PLAN_CALLS, **ROUTING_CALLS}
    # What sos left alone is still reported as such (the org's own Closed Won / Closed Lost values).
    assert {str(u.address) for u in again.plan.unmanaged} == {str(u.address) for u in first.plan.unmanaged}


def test_saved_plan_applies_in_a_later_process(emulator: SalesforceEmulator, make_project: MakeProject,
                                               backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    plan = plan_for(project, backend_for(project))
    assert {str(u.address) for u in plan.unmanaged} == {"stage.new_business.won", "stage.new_business.lost"}
    save_plan(plan, desired_model(project), project.root / "plan.json")
    emulator.calls.clear()
    saved = load_plan(project.root / "plan.json")
    result = backend_for(project).apply(saved.plan, saved.desired)   # a fresh backend: nothing read
    assert result.ok, result.failed
    assert counted(emulator) == APPLY_CALLS
    assert not plan_for(project, backend_for(project)).has_changes


def test_a_plan_saved_in_one_clone_applies_from_another(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pull-request job saves the plan; the merge job, on another runner, has a fresh clone (no .sos/) and the
    plan file, and applies it: the org ends as the blueprint says."""
    first = make_project(SMALL)
    monkeypatch.chdir(first.root)
    planned = CliRunner().invoke(cli, ["plan", "-o", "plan.json"])
    assert planned.exit_code == 0, planned.output
    second = tmp_path_factory.mktemp("runner") / "client"
    shutil.copytree(first.root, second, ignore=shutil.ignore_patterns(".sos"))
    shutil.rmtree(first.root)               # nothing of the first clone is left to lean on
    monkeypatch.chdir(second)

    applied = CliRunner().invoke(cli, ["apply", "plan.json", "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    competitor = emulator.org.get("CustomField", "Opportunity.Competitor__c")
    assert competitor is not None and child(competitor.body, "label").text == "Competitor"
    assert child(competitor.body, "length").text == "120"
    rule = emulator.org.get("ValidationRule", f"Opportunity.{rule_api_name('close_date_not_past')}")
    assert rule is not None and child(rule.body, "active").text == "true"
    assert {"Discovery", "Proposal"} <= {name for name, active in stage_rows(emulator).items() if active}
    assert emulator.org.get("BusinessProcess", "Opportunity.New_Business") is not None
    assert not make_plan(load_project(second / "sos.yaml"), first.target(None)).plan.has_changes


def test_stale_plan_is_refused(emulator: SalesforceEmulator, make_project: MakeProject,
                               backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    plan = plan_for(project, backend_for(project))
    assert backend_for(project).apply(plan, desired_model(project)).ok
    with pytest.raises(SosError) as caught:
        backend_for(project).apply(plan, desired_model(project))   # the org changed since: the first apply
    assert caught.value.diagnostics[0].message == STALE
    assert emulator.calls["deploy"] == 1


def test_check_only_changes_nothing(emulator: SalesforceEmulator, make_project: MakeProject,
                                   backend_for: MakeBackend, recorder: Recorder) -> None:
    project = make_project(SMALL)
    plan = plan_for(project, backend_for(project))
    before = stage_rows(emulator)
    result = backend_for(project).apply(plan, desired_model(project), check_only=True)
    assert result.ok
    assert emulator.org.of_type("CustomField") == [] and emulator.org.of_type("ValidationRule") == []
    assert stage_rows(emulator) == before
    assert re.fullmatch(r"Validating (\d+) components… Succeeded \(\1/\1\)", recorder.lines[-1]), recorder.lines
    assert plan_for(project, backend_for(project)).changes == plan.changes


# -- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["acme", "smb-bant"])
def test_import_then_plan_is_empty(emulator: SalesforceEmulator, make_project: MakeProject,
                                   backend_for: MakeBackend, case: str) -> None:
    project = make_project(blueprint_text(case))
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    live = backend_for(project).read(Model()).model
    imported = model_to_blueprint(live, "imported", "Imported from the emulated org")
    (project.root / "blueprint.yaml").write_text(yaml.safe_dump(imported, sort_keys=False), encoding="utf-8")
    plan = plan_for(project, backend_for(project))
    assert [str(c.address) for c in plan.changes] == []
    held = {r.address for r in live}
    assert held and all(SalesforceBackend.capabilities.support[r.address.kind] in (Support.NATIVE, Support.PARTIAL)
                       for r in live)
    unmanaged = {u.address for u in plan.unmanaged}               # the org's own stages a pipeline lists
    assert unmanaged == {r.address for r in live if not r.managed} and all(a.kind is Kind.STAGE for a in unmanaged)
    assert plan.unchanged + len(unmanaged) == len(held)


# -- the standard-value-set trap ------------------------------------------------------------------


def test_org_stage_values_stay_active_after_apply(emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    """A deployed OpportunityStage file deactivates what it omits: sos lists the org's values too."""
    org_values = stage_rows(emulator)
    assert "Prospecting" in org_values and all(org_values.values())
    emulator.org.seed_opportunities({"Prospecting": 2, "Negotiation/Review": 1})
    project = make_project(SMALL)
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    after = stage_rows(emulator)
    assert {name: after[name] for name in org_values} == org_values          # every org value, still active
    assert {"Discovery", "Proposal"} <= {name for name, active in after.items() if active}


def test_removing_a_stage_deactivates_it_and_check_counts_its_deals(
        emulator: SalesforceEmulator, make_project: MakeProject, backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    emulator.org.seed_opportunities({"Proposal": 3, "Discovery": 1})
    (project.root / "blueprint.yaml").write_text(
        SMALL.replace("      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}\n", ""),
        encoding="utf-8")
    backend = backend_for(project)
    run = make_plan(project, project.target(None), backend=backend)
    plan = run.plan
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    assert Address(Kind.STAGE, "new_business", "proposal") in [c.address for c in deletes]
    emulator.calls.clear()
    problems = check_plan(project, run)
    assert [p.message for p in problems] == ["3 deals are in stage Proposal, which this plan removes"]
    assert problems[0].code == "stage-in-use" and problems[0].span is not None
    assert problems[0].span.line == 8            # the pipeline the stage is gone from
    assert counted(emulator) == {"query": 1}
    assert check_plan(project, run, without_deletions(plan)) == [] and counted(emulator) == {}
    # --allow-delete deactivates the value; the deals keep it.
    assert backend.apply(plan, desired_model(project)).ok
    assert stage_rows(emulator)["Proposal"] is False
    assert not plan_for(project, backend_for(project)).has_changes


# -- calls do not grow with the blueprint ------------------------------------------------------


@pytest.mark.parametrize("fields", [8, 200])
def test_calls_are_constant(emulator: SalesforceEmulator, make_project: MakeProject, backend_for: MakeBackend,
                            recorder: Recorder, fields: int) -> None:
    data = generated_blueprint(fields=fields, stages=6, rules=fields // 4)
    project = make_project(yaml.safe_dump(data, sort_keys=False))
    emulator.deploy_polls = 3
    backend = backend_for(project)
    plan = plan_for(project, backend)
    assert counted(emulator) == PLAN_CALLS
    assert backend.apply(plan, desired_model(project)).ok
    assert counted(emulator) == {**APPLY_CALLS, "checkDeployStatus": 3}
    assert recorder.sleeps == [1.0, 2.0]                         # the first check is at once, then 1 s, 2 s
    assert re.fullmatch(r"Deploying (\d+) components… Succeeded \(\1/\1\)", recorder.lines[-2]), recorder.lines
    assert recorder.lines[-1] == ("Assigned permission set Sos_Managed_Fields to the user sos runs as; assign it to "
                                  "the people who work these records too")
    total = recorder.lines[-2].rsplit("/", 1)[1].rstrip(")")
    assert [line.split("… ")[1] for line in recorder.lines[-4:-1]] == [
        f"Pending (0/{total})", f"InProgress (0/{total})", f"Succeeded ({total}/{total})"]


# -- status, CLI ---------------------------------------------------------------------------------


def test_status_is_one_cheap_call(emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(SMALL)
    backend = open_backend(project.target(None), project.root)
    emulator.api_usage = 1233
    assert backend.status() == f"Salesforce {emulator.instance_url} (API 63.0, 1,234/15,000 daily API requests used)"
    assert emulator.calls == {"limits": 1}


def test_plan_validate(emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch,
                       backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["plan", "--validate"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == \
        "Validation passed: target 'prod' accepts all 10 changes (checked only; nothing was changed)."
    assert emulator.calls["deploy"] == 1 and emulator.org.of_type("CustomField") == []
    emulator.faults.fail_component(f"Opportunity.{rule_api_name('close_date_not_past')}",
                                   "Formula is too big to execute")
    failed = CliRunner().invoke(cli, ["plan", "--validate"])
    assert failed.exit_code == 1
    assert ("rule.opportunity.close_date_not_past: blueprint.yaml:15: Salesforce rejected rule close_date_not_past: "
            "Formula is too big to execute") in failed.stderr
    assert "Validation failed: target 'prod' would refuse this plan; nothing was changed" in failed.stderr
    assert emulator.org.of_type("CustomField") == []


def test_component_at_line() -> None:
    xml = textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
            <fields>
                <fullName>A__c</fullName>
                <type>Text</type>
            </fields>
            <validationRules>
                <fullName>Sos_Rule</fullName>
            </validationRules>
        </CustomObject>
        """).encode()
    assert [component_at_line(xml, line) for line in (3, 5, 7, 8, 2)] == ["A__c", "A__c", "Sos_Rule", "Sos_Rule",
                                                                         None]


def test_apply_of_no_changes_makes_no_calls(emulator: SalesforceEmulator, make_project: MakeProject,
                                            backend_for: MakeBackend) -> None:
    project = make_project(SMALL)
    plan = plan_for(project, backend_for(project))
    emulator.calls.clear()
    assert backend_for(project).apply(replace(plan, changes=()), desired_model(project)).ok
    assert emulator.calls == {}


def test_read_keeps_nothing_and_writes_nothing(emulator: SalesforceEmulator, make_project: MakeProject,
                                               backend_for: MakeBackend) -> None:
    """A plan leaves no file behind and no state on the backend: the saved plan is all an apply needs."""
    project = make_project(SMALL)
    backend = backend_for(project)
    before = vars(backend).copy()
    plan_for(project, backend)
    assert vars(backend) == before
    assert not (project.root / ".sos").exists()


def test_adopt_takes_look_alikes_under_management(emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    """The org's own Closed Won / Closed Lost look like the blueprint's won and lost stages: `--adopt` marks them."""
    project = make_project(SMALL)
    target = project.target(None)
    first = make_plan(project, target)
    assert apply_plan(project, first.backend, first.plan, first.desired).ok
    adopting = make_plan(project, target, adopt=True)
    assert {(str(c.address), c.action) for c in adopting.plan.changes} == {
        ("stage.new_business.won", Action.ADOPT), ("stage.new_business.lost", Action.ADOPT)}
    assert apply_plan(project, adopting.backend, adopting.plan, adopting.desired).ok
    after = make_plan(project, target)
    assert after.plan.changes == () and after.plan.unmanaged == ()
    assert stage_rows(emulator)["Closed Won"] is True
