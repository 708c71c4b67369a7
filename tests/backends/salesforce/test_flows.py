"""Cadences as Salesforce Flows, end to end: apply, then write records through the REST API and see the Tasks.

What must fire is read from Salesforce's documentation of record-triggered flows, not from sos's code: a flow
with recordTriggerType Create runs when a record is inserted; CreateAndUpdate on inserts and updates; its entry
formula decides, and ISCHANGED() is FALSE on insert, ISNEW() TRUE only on insert (Help, "ISCHANGED", "ISNEW";
Metadata API Developer Guide, "Flow": FlowStart). So a cadence on entering a stage must fire when a deal is
created in the stage or moved into it, and never when a deal already in it is saved again or moves elsewhere.
A Task's ActivityDate is a date: TODAY() is the running user's day (Help, "TODAY"), NOW() + hours / 24 read with
DATEVALUE is the GMT date (Help, "DATEVALUE").
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from sos.engine import apply_plan, make_plan
from sos.model.resources import Address, Kind
from sos.plan.change import Action
from sos.project import Project
from tests.backends.salesforce.conftest import STARTERS, blueprint_text
from tests.backends.salesforce.test_drift import edit_in_setup
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child as child_of
from tests.emulators.salesforce.xmlutil import set_text, text

MakeProject = Callable[..., Project]

SMALL = """\
sos: 1
name: client
fields:
  lead:
    is_pql: {type: checkbox, label: PQL}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10}
      - {key: proposal, label: Proposal, probability: 60}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: working, label: Working}
  - {key: qualified, label: Qualified, converted: true}
cadences:
  proposal_plan:
    trigger: {stage_entered: proposal}
    when: amount >= 10000
    action:
      create_task: {subject: Draft the mutual action plan, due_in_days: 2, priority: high}
  first_touch:
    trigger: {record_created: lead}
    when: is_pql or lead_source in ['Partner Referral', 'Phone Inquiry']
    action:
      create_task: {subject: "First touch: reply personally", due_in_hours: 30}
  working_call:
    trigger: {status_entered: working}
    action:
      create_task: {subject: Second attempt, priority: low}
"""


def applied(project: Project) -> Any:
    run = make_plan(project, project.target(None))
    result = apply_plan(project, run.backend, run.plan, run.desired)
    assert result.ok, result.failed
    return run


def tasks(sf: Any, record_id: str) -> list[dict[str, Any]]:
    """The Tasks about `record_id`, by SOQL as a user would list them."""
    rows = sf.query(f"SELECT Subject, OwnerId, ActivityDate, Priority, WhatId, WhoId, Status FROM Task "
                    f"WHERE WhatId = '{record_id}' OR WhoId = '{record_id}'")["records"]
    return [{k: v for k, v in row.items() if k != "attributes"} for row in rows]


def user_today(emulator: SalesforceEmulator) -> datetime.date:
    return (emulator.org.clock() + emulator.user_offset).date()


def test_moving_a_deal_into_the_stage_creates_the_task_and_nothing_else_does(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    applied(make_project(SMALL))
    sf = emulator.client()
    owner = emulator.org.add_user("rep@client.example")
    big = sf.Opportunity.create({"Name": "Big", "StageName": "Discovery", "CloseDate": "2027-03-01",
                                 "Amount": 50000, "OwnerId": owner})["id"]
    assert tasks(sf, big) == []                                       # created in another stage
    sf.Opportunity.update(big, {"StageName": "Proposal"})           # moved into the stage: fires
    expected = {"Subject": "Draft the mutual action plan", "OwnerId": owner, "Priority": "High", "WhatId": big,
                "WhoId": None, "Status": "Not Started",
                "ActivityDate": (user_today(emulator) + datetime.timedelta(days=2)).isoformat()}
    assert tasks(sf, big) == [expected]
    sf.Opportunity.update(big, {"NextStep": "Call the CFO"})         # saved again in the stage: no new task
    sf.Opportunity.update(big, {"StageName": "Closed Won"})          # moved elsewhere: none either
    assert len(tasks(sf, big)) == 1
    created_in = sf.Opportunity.create({"Name": "Direct", "StageName": "Proposal", "CloseDate": "2027-03-01",
                                        "Amount": 10000})["id"]      # created in the stage: fires (10000 >= 10000)
    assert [t["Subject"] for t in tasks(sf, created_in)] == ["Draft the mutual action plan"]
    small = sf.Opportunity.create({"Name": "Small", "StageName": "Discovery", "CloseDate": "2027-03-01",
                                   "Amount": 9999})["id"]
    sf.Opportunity.update(small, {"StageName": "Proposal"})         # the cadence's `when` does not hold
    blank = sf.Opportunity.create({"Name": "Blank", "StageName": "Proposal", "CloseDate": "2027-03-01"})["id"]
    assert tasks(sf, small) == [] and tasks(sf, blank) == []        # a blank amount is not >= 10000


def test_a_new_lead_and_a_status_entered_create_tasks_about_the_lead(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    applied(make_project(SMALL))
    sf = emulator.client()
    hot = sf.Lead.create({"LastName": "Hot", "Company": "Acme", "LeadSource": "Partner Referral"})["id"]
    pql = sf.Lead.create({"LastName": "Pql", "Company": "Acme", "Is_Pql__c": True})["id"]
    cold = sf.Lead.create({"LastName": "Cold", "Company": "Acme", "LeadSource": "Web"})["id"]
    gmt = emulator.org.clock()
    due = (gmt + datetime.timedelta(hours=30)).date().isoformat()    # the GMT date 30 hours on
    [first] = tasks(sf, hot)
    assert (first["Subject"], first["WhoId"], first["WhatId"], first["Priority"], first["ActivityDate"]) == (
        "First touch: reply personally", hot, None, "Normal", due)
    assert [t["Subject"] for t in tasks(sf, pql)] == ["First touch: reply personally"]
    assert tasks(sf, cold) == []
    sf.Lead.update(cold, {"Status": "Working"})
    [second] = tasks(sf, cold)
    assert (second["Subject"], second["Priority"], second["ActivityDate"]) == ("Second attempt", "Low", None)
    sf.Lead.update(hot, {"LeadSource": "Phone Inquiry"})           # an update is no new lead
    assert len(tasks(sf, hot)) == 1


@pytest.mark.parametrize("case", STARTERS)
def test_every_starter_moving_a_deal_into_a_cadence_stage_creates_its_task(
        emulator: SalesforceEmulator, make_project: MakeProject, case: str) -> None:
    run = applied(make_project(blueprint_text(case)))
    # The stage rules are the validation rules' business (test_rules_in_the_org.py): switched off here, as an
    # admin would in Setup, so that a bare deal can move.
    for rule in emulator.org.of_type("ValidationRule"):
        edit_in_setup(emulator, "ValidationRule", rule.full_name, lambda body: set_text(body, "active", False))
    sf = emulator.client()
    cadences = [c for c in run.desired.of_kind(Kind.AUTOMATION)
                if "stage_entered" in (c.attrs.get("trigger") or {}) and "create_task" in c.attrs["action"]]
    assert cadences
    for cadence in cadences:
        stage = run.desired.get(next(a for a in run.desired.resources if a.kind is Kind.STAGE
                                     and a.key == cadence.attrs["trigger"]["stage_entered"]))
        assert stage is not None
        deal = sf.Opportunity.create({"Name": cadence.address.key, "StageName": "Prospecting",
                                      "CloseDate": "2027-03-01"})["id"]
        sf.Opportunity.update(deal, {"StageName": stage.attrs["label"]})
        task = cadence.attrs["action"]["create_task"]
        days = task.get("due_in_days")
        [made] = tasks(sf, deal)
        assert made == {"Subject": task["subject"], "OwnerId": emulator.org.records["Opportunity"][deal]["OwnerId"],
                        "Priority": str(task.get("priority", "normal")).capitalize(), "WhatId": deal, "WhoId": None,
                        "Status": "Not Started", "ActivityDate": None if days is None else
                        (user_today(emulator) + datetime.timedelta(days=days)).isoformat()}


def test_a_flow_edited_in_setup_is_planned_and_put_back(emulator: SalesforceEmulator,
                                                       make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    name = "Sos_Opportunity_Proposal_Plan"
    deployed = text(emulator.org.get("Flow", name).body, "status")
    edit_in_setup(emulator, "Flow", name, lambda body: set_text(body, "status", "Draft"))
    plan = make_plan(project, project.target(None)).plan
    assert [(c.action, str(c.address), c.reason) for c in plan.changes] == [
        (Action.UPDATE, "cadence.opportunity.proposal_plan", "flow edited or deactivated in Salesforce")]
    applied(project)
    assert text(emulator.org.get("Flow", name).body, "status") == deployed == "Active"
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_a_dropped_cadence_flow_is_switched_off_then_deleted_only_with_allow_delete(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from sos.cli import cli

    project = make_project(SMALL)
    applied(project)
    own_flow = copy.deepcopy(emulator.org.get("Flow", "Sos_Lead_Working_Call").body)
    set_text(own_flow, "description", "The client's own follow-up")      # no sos mark
    emulator.org.put("Flow", "Client_Own_Flow", own_flow)
    own = SMALL.replace("  working_call:\n    trigger: {status_entered: working}\n    action:\n"
                        "      create_task: {subject: Second attempt, priority: low}\n", "")
    (project.root / "blueprint.yaml").write_text(own, encoding="utf-8")
    monkeypatch.chdir(project.root)
    held_back = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert emulator.org.get("Flow", "Sos_Lead_Working_Call") is not None, held_back.output
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "--allow-delete"])
    assert result.exit_code == 0, result.output
    assert emulator.org.get("Flow", "Sos_Lead_Working_Call") is None
    assert emulator.org.get("Flow", "Client_Own_Flow") is not None    # a flow sos did not make stays
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {
        "Client_Own_Flow", "Sos_Lead_First_Touch", "Sos_Opportunity_Proposal_Plan"}
    assert Address(Kind.AUTOMATION, "lead", "working_call") not in make_plan(project, project.target(None)).live.model


def dropping(run: Any, address: Address) -> Any:
    """The offline package (`sos build`, deletions allowed) that deletes the applied cadence at `address`."""
    from sos.backends.salesforce.lower import build_package
    from sos.plan.change import Change

    dropped = run.desired.get(address)
    assert dropped is not None
    return build_package(run.desired, [Change(address, Action.DELETE, dict(dropped.attrs), None)], None,
                         allow_delete=True)


def test_an_offline_build_switches_the_flow_off_then_deletes_it(emulator: SalesforceEmulator,
                                                                make_project: MakeProject) -> None:
    from tests.backends.salesforce.test_metadata import deploy, schema_errors

    run = applied(make_project(SMALL))
    package = dropping(run, Address(Kind.AUTOMATION, "lead", "working_call"))
    assert sorted(n for n in package.files if n.startswith(("flows/", "destructive"))) == [
        "destructiveChangesPost.xml", "flows/Sos_Lead_Working_Call.flow"]
    assert b"<status>Obsolete</status>" in package.files["flows/Sos_Lead_Working_Call.flow"]
    assert schema_errors(package.files["flows/Sos_Lead_Working_Call.flow"], "Flow") == []
    assert deploy(emulator.client(), package) == ("Succeeded", [])
    assert emulator.org.get("Flow", "Sos_Lead_Working_Call") is None


def test_a_when_no_flow_formula_can_say_is_a_located_error(make_project: MakeProject,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from sos.cli import cli

    project = make_project(SMALL.replace("when: amount >= 10000", "when: days_in_stage > 3"))
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["plan"])
    line = SMALL.splitlines().index("  proposal_plan:") + 1
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"blueprint.yaml:{line}:3: error: a Flow entry condition cannot read days_in_stage; use a stage_age_over "
        "trigger for time in a stage [unsupported]")


def test_a_cadence_turned_into_one_no_flow_runs_loses_its_flow(emulator: SalesforceEmulator,
                                                               make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    queued = SMALL.replace("      create_task: {subject: Second attempt, priority: low}\n",
                           "      create_task: {subject: Second attempt, assign_to: {queue: inbound}}\n")
    (project.root / "blueprint.yaml").write_text(queued, encoding="utf-8")
    plan = make_plan(project, project.target(None)).plan
    assert [(c.action, str(c.address)) for c in plan.changes] == [(Action.UPDATE, "cadence.lead.working_call")]
    applied(project)
    assert emulator.org.get("Flow", "Sos_Lead_Working_Call") is None      # it would still create the old task
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_a_flow_whose_cadence_was_edited_past_reading_is_rewritten(emulator: SalesforceEmulator,
                                                                   make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    name = "Sos_Lead_First_Touch"
    deployed = emulator.org.get("Flow", name)
    assert deployed is not None
    before = text(deployed.body.find(".//{*}processMetadataValues/{*}value"), "stringValue")

    def garble(body: Any) -> None:
        set_text(body.find(".//{*}processMetadataValues/{*}value"), "stringValue", '{"trigger": 3}')

    edit_in_setup(emulator, "Flow", name, garble)
    plan = make_plan(project, project.target(None)).plan
    assert [(c.action, str(c.address)) for c in plan.changes] == [(Action.UPDATE, "cadence.lead.first_touch")]
    applied(project)
    restored = emulator.org.get("Flow", name)
    assert restored is not None
    assert text(restored.body.find(".//{*}processMetadataValues/{*}value"), "stringValue") == before


def test_a_lead_owned_by_a_queue_is_saved_without_a_task(emulator: SalesforceEmulator,
                                                         make_project: MakeProject) -> None:
    """A Task's owner is a user (Object Reference, Task: OwnerId refers to User), and a failing after-save flow
    rolls back the save that started it: a queue's lead must still save, with no task."""
    applied(make_project(SMALL))
    sf = emulator.client()
    queued = sf.Lead.create({"LastName": "Queued", "Company": "Acme", "LeadSource": "Partner Referral",
                             "OwnerId": "00GEm0000000001AAA"})["id"]
    assert tasks(sf, queued) == []
    owned = sf.Lead.create({"LastName": "Owned", "Company": "Acme", "LeadSource": "Partner Referral"})["id"]
    assert len(tasks(sf, owned)) == 1


def test_a_flow_sos_did_not_make_is_left_alone_even_under_a_cadences_name(emulator: SalesforceEmulator,
                                                                          make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    theirs = copy.deepcopy(emulator.org.get("Flow", "Sos_Lead_Working_Call").body)
    set_text(theirs, "description", "Built by the client's admin")       # no sos mark
    set_text(child_of(theirs, "recordCreates"), "label", "Their own task")
    emulator.org.put("Flow", "Sos_Lead_Working_Call", theirs)
    before = etree.tostring(theirs)
    run = make_plan(project, project.target(None))
    assert "cadence.lead.working_call" in [str(u.address) for u in run.plan.unmanaged]
    assert run.plan.changes == ()
    project_with_more = SMALL + "  quick_call:\n    trigger: {status_entered: new}\n    action:\n" \
                                "      create_task: {subject: Call}\n"
    (project.root / "blueprint.yaml").write_text(project_with_more, encoding="utf-8")
    applied(project)
    assert etree.tostring(emulator.org.get("Flow", "Sos_Lead_Working_Call").body) == before
