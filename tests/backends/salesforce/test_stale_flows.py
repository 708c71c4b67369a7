"""`stage_age_over` cadences on Salesforce: a flow per watched stage whose scheduled path creates the task, run by
the emulator as its clock advances, and the same tasks as the sandbox's tick.

What must fire is read from the documents, not from sos's code:
- the blueprint language (docs/language.md, cadences): `stage_age_over: max_days` fires when an open deal has been
  in a stage longer than the stage's max_days (a number: that many days, in every open stage), once per deal and
  stage, the task for the deal's owner, due `due_in_days` after it fires;
- Salesforce Help, "Scheduled Paths" (https://help.salesforce.com/s/articleView?id=platform.flow_concepts_trigger_scheduled_path.htm):
  a path runs its offset after the triggering save; with "only when a record is updated to meet the condition
  requirements" a save that leaves the record meeting the conditions starts nothing new; a record updated out of the
  entry conditions loses its waiting paths (salesforce.stackexchange.com, "Do scheduled paths get evaluated/canceled
  when Record-triggered flow version changes": updating the record out of the criteria left 0 pending entries);
- Help, "TODAY": the running user's day (the emulator's user is 8 hours west of GMT; these tests save at 17:00 GMT,
  09:00 for the user, so the user's day and the GMT day agree).
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

from sos.backends.local import LocalBackend
from sos.engine import make_plan
from sos.model.resources import Kind
from sos.project import Project
from tests.backends.salesforce.conftest import blueprint_text
from tests.backends.salesforce.test_drift import edit_in_setup
from tests.backends.salesforce.test_flows import applied, dropping
from tests.backends.test_local import apply_blueprint
from tests.backends.test_local import make_project as make_sandbox_project
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.org import SteppingClock
from tests.emulators.salesforce.xmlutil import set_text

MakeProject = Callable[..., Project]
START = datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.UTC)     # a Monday, 09:00 for the emulator's user
DAY = datetime.timedelta(days=1)
RESOLVED = Path(__file__).parents[2] / "golden" / "resolved"
STALE_STARTERS = sorted(p.stem for p in RESOLVED.glob("*.yaml")
                        if any("stage_age_over" in (c.get("trigger") or {})
                               for c in (yaml.safe_load(p.read_text(encoding="utf-8")).get("cadences") or {}).values()))

BLUEPRINT = """\
sos: 1
name: client
pipelines:
  sales:
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 3}
      - {key: proposal, label: Proposal, probability: 60, max_days: 2}
      - {key: negotiation, label: Negotiation, probability: 80}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: qualified, label: Qualified, converted: true}
cadences:
  stale_deal:
    trigger: {stage_age_over: max_days}
    action: {create_task: {subject: Stale deal, due_in_days: 1, priority: high}}
  six_days:
    trigger: {stage_age_over: 6}
    action: {create_task: {subject: Six days in the stage, due_in_days: 2}}
"""
LIMITS = {"stale_deal": {"discovery": 3, "proposal": 2}, "six_days": {"discovery": 6, "proposal": 6,
                                                                           "negotiation": 6}}
SUBJECTS = {"stale_deal": ("Stale deal", 1), "six_days": ("Six days in the stage", 2)}
LABELS = {"discovery": "Discovery", "proposal": "Proposal", "negotiation": "Negotiation", "won": "Closed Won"}
# Each deal's stays: (day it entered, stage), in order; the owner it has from a day on.
STAYS = {
    "sitter": [(0, "discovery")],
    "mover": [(0, "discovery"), (2, "proposal")],                   # leaves before discovery's 3 days are over
    "bouncer": [(0, "discovery"), (1, "proposal"), (2, "discovery")],   # back in discovery: a new stay
    "closer": [(0, "proposal"), (1, "won")],
    "late": [(0, "negotiation")],                                   # no max_days there: only the six days
    "handed": [(1, "proposal")],
}
OWNERS = {"handed": [(1, "ana@client.example"), (2, "bo@client.example")]}   # a new owner before the task
DAYS = 12


@pytest.fixture(scope="module")
def running() -> Iterator[SalesforceEmulator]:
    """This module's own org, on a clock the tests move (SalesforceEmulator.advance)."""
    with SalesforceEmulator(clock=SteppingClock(START)) as emulator, emulator.ca_env():
        yield emulator


def expected_tasks(start: datetime.datetime) -> list[tuple[str, str, str, str, str]]:
    """The tasks the documents above say the scenario makes, worked out from the stays alone: a stay fires on the
    day after its limit is over, if the deal is still in that stay then: (deal, subject, fired day, due day, owner),
    the days counted from `start`."""
    found = []
    for deal, stays in STAYS.items():
        for index, (entered, stage) in enumerate(stays):
            left = stays[index + 1][0] if index + 1 < len(stays) else DAYS + 1
            for cadence, limits in LIMITS.items():
                fires = entered + limits[stage] + 1 if stage in limits else None
                if fires is not None and fires < left and fires <= DAYS:
                    subject, due_in = SUBJECTS[cadence]
                    owner = next((o for day, o in reversed(OWNERS.get(deal, [])) if day <= fires), "rep@client.example")
                    found.append((deal, subject, _day(start, fires), _day(start, fires + due_in), owner))
    return sorted(found)


def _day(start: datetime.datetime, offset: int) -> str:
    return (start + offset * DAY).date().isoformat()


def events(day: int) -> Iterator[tuple[str, str | None, str | None]]:
    """What happens on `day`: (deal, the stage it enters or None, its new owner or None)."""
    for deal, stays in STAYS.items():
        for entered, stage in stays:
            if entered == day:
                yield deal, stage, None
    for deal, owners in OWNERS.items():
        for changed, owner in owners[1:]:
            if changed == day:
                yield deal, None, owner


def org_tasks(emulator: SalesforceEmulator) -> list[dict[str, Any]]:
    return list(emulator.org.records["Task"].values())


def test_the_org_and_the_sandbox_make_the_same_tasks_on_the_same_days(
        emulator: SalesforceEmulator, make_project: MakeProject, tmp_path: Path) -> None:
    applied(make_project(BLUEPRINT))
    start = emulator.org.clock()        # the module's clock: other tests may have moved it on
    sf = emulator.client()
    users = {name: emulator.org.add_user(name) for name in ("rep@client.example", "ana@client.example",
                                                            "bo@client.example")}
    sandbox_root = tmp_path / "sandbox"
    sandbox_root.mkdir()
    project = make_sandbox_project(sandbox_root, BLUEPRINT)
    apply_blueprint(project)
    sandbox = LocalBackend(project.target(None), project.root, clock=lambda: start.replace(tzinfo=None))
    in_org: dict[str, str] = {}
    in_sandbox: dict[str, int] = {}
    for day in range(DAYS + 1):
        for deal, stage, owner in events(day):
            first_owner = next((o for _, o in OWNERS.get(deal, [])), "rep@client.example")
            if deal not in in_org:
                assert stage is not None
                in_org[deal] = sf.Opportunity.create({"Name": deal, "StageName": LABELS[stage],
                                                      "CloseDate": "2027-06-30", "OwnerId": users[first_owner]})["id"]
                in_sandbox[deal] = sandbox.create_record("opportunity", {"name": deal, "stage": stage,
                                                                         "owner": first_owner,
                                                                         "close_date": "2027-06-30"})
                continue
            change = {"StageName": LABELS[stage]} if stage else {"OwnerId": users[str(owner)]}
            sf.Opportunity.update(in_org[deal], change)
            sandbox.update_record("opportunity", in_sandbox[deal], {"stage": stage} if stage else {"owner": owner})
        if day < DAYS:
            emulator.advance(DAY)
            sandbox.tick(1)
    names_in_org = {record_id: deal for deal, record_id in in_org.items()}
    usernames = {user_id: name for name, user_id in users.items()}
    org = sorted((names_in_org[str(t["WhatId"])], str(t["Subject"]), str(t["CreatedDate"])[:10],
                  str(t["ActivityDate"]), usernames[str(t["OwnerId"])]) for t in org_tasks(emulator))
    names_in_sandbox = {record_id: deal for deal, record_id in in_sandbox.items()}
    with closing(sqlite3.connect(sandbox.path)) as connection:
        rows = connection.execute("SELECT what_id, subject, created_date, due_date, owner FROM task").fetchall()
    in_the_sandbox = sorted((names_in_sandbox[what], subject, created[:10], due, owner)
                            for what, subject, created, due, owner in rows)
    assert org == in_the_sandbox == expected_tasks(start)
    assert {t[0] for t in org} == {"sitter", "mover", "bouncer", "late", "handed"}
    assert [t for t in org if t[0] == "mover" and t[2] == _day(start, 4)] == []     # it left discovery on day 2
    assert all(s.due > emulator.org.clock() for s in emulator.org.scheduled)      # nothing overdue left unrun


@pytest.mark.parametrize("case", STALE_STARTERS)
def test_every_starter_s_stale_deals_get_one_task_the_day_after_the_stage_s_limit(
        emulator: SalesforceEmulator, make_project: MakeProject, case: str, tmp_path: Path) -> None:
    project = make_project(blueprint_text(case))
    # A stage the org already has as its own value is left alone (docs/salesforce.md, "Left alone"): sos keeps no
    # limit on it, in the deal-aging fields or in a flow.
    left_alone = {u.address.key for u in applied(project).plan.unmanaged if u.address.kind is Kind.STAGE}
    assert make_plan(project, project.target(None)).plan.changes == ()
    resolved = yaml.safe_load((RESOLVED / f"{case}.yaml").read_text(encoding="utf-8"))
    [cadence] = [c for c in resolved["cadences"].values() if "stage_age_over" in (c.get("trigger") or {})]
    assert cadence["trigger"]["stage_age_over"] == "max_days"
    watched = {s["label"]: s["max_days"] for pipeline in resolved["pipelines"].values() for s in pipeline["stages"]
               if s.get("max_days") and s.get("outcome", "open") == "open" and s["key"] not in left_alone}
    flows = [c.full_name for c in emulator.org.of_type("Flow") if c.full_name.startswith("Sos_Opportunity_Stale")]
    assert len(flows) == len(watched)
    # The stage rules are the validation rules' business (test_rules_in_the_org.py): switched off here, as an
    # admin would in Setup, so that a bare deal can be created in any stage and moved.
    for rule in emulator.org.of_type("ValidationRule"):
        edit_in_setup(emulator, "ValidationRule", rule.full_name, lambda body: set_text(body, "active", False))
    sf = emulator.client()
    owner = emulator.org.add_user(f"owner.{case}@client.example")
    created = emulator.org.clock()
    deals = {stage: sf.Opportunity.create({"Name": stage, "StageName": stage, "CloseDate": "2027-06-30",
                                           "OwnerId": owner})["id"] for stage in watched}
    sandbox = sandbox_with(tmp_path / "sandbox", blueprint_text(case), created, [
        {"Name": stage, "Stage": stage, "Owner": f"owner.{case}@client.example", "Close Date": "2027-06-30",
         "Stage Duration": "0"} for stage in watched])      # loaded as an import is: no stage rule applies
    first, second = list(watched)[:2]
    leaver = sf.Opportunity.create({"Name": "leaver", "StageName": first, "CloseDate": "2027-06-30"})["id"]
    emulator.advance(DAY)
    sandbox.tick(1)
    sf.Opportunity.update(leaver, {"StageName": second})        # a day in `first`, then on to `second`
    task = cadence["action"]["create_task"]
    for day in range(1, max(watched.values()) + 2):
        stale = [t for t in org_tasks(emulator) if t["Subject"] == task["subject"]]
        for stage, limit in watched.items():
            made = [t for t in stale if t["WhatId"] == deals[stage]]
            if day <= limit:
                assert made == [], (stage, day)
            else:
                fired = (created + (limit + 1) * DAY).date()
                assert [(t["Subject"], t["OwnerId"], t["ActivityDate"], t["Priority"], t["WhoId"]) for t in made] == [
                    (task["subject"], owner, (fired + task["due_in_days"] * DAY).isoformat(), "Normal", None)]
        left = [t for t in stale if t["WhatId"] == leaver]
        assert len(left) == (1 if day >= watched[second] + 2 else 0), day     # none for `first`, one for `second`
        emulator.advance(DAY)
        sandbox.tick(1)
    names = {record_id: stage for stage, record_id in deals.items()}
    in_org = sorted((names[t["WhatId"]], str(t["CreatedDate"])[:10], t["ActivityDate"], f"owner.{case}@client.example")
                    for t in org_tasks(emulator) if t["Subject"] == task["subject"] and t["WhatId"] in names)
    assert in_org == sandbox_tasks(sandbox, task["subject"]) and len(in_org) == len(watched)


def sandbox_with(root: Path, blueprint: str, now: datetime.datetime, deals: list[dict[str, str]]) -> LocalBackend:
    """A sandbox with `blueprint` applied whose clock stands at `now`, holding `deals` loaded from a CSV export."""
    import csv

    root.mkdir()
    project = make_sandbox_project(root, blueprint)
    apply_blueprint(project)
    sandbox = LocalBackend(project.target(None), project.root, clock=lambda: now.replace(tzinfo=None))
    with (root / "deals.csv").open("w", newline="", encoding="utf-8") as export:
        writer = csv.DictWriter(export, fieldnames=list(deals[0]))
        writer.writeheader()
        writer.writerows(deals)
    sandbox.load_csv(root / "deals.csv", "opportunity", {}, today=None, progress=lambda _: None)
    return sandbox


def sandbox_tasks(sandbox: LocalBackend, subject: str) -> list[tuple[str, str, str, str]]:
    """The sandbox's tasks with `subject`: (deal name, day made, due date, owner)."""
    with closing(sqlite3.connect(sandbox.path)) as connection:
        return sorted((name, created[:10], due, owner) for name, created, due, owner in connection.execute(
            "SELECT opportunity.name, task.created_date, task.due_date, task.owner FROM task "
            "JOIN opportunity ON opportunity._id = task.what_id WHERE task.subject = ?", (subject,)).fetchall())


def test_a_stage_that_loses_its_limit_loses_its_flow_and_a_dropped_cadence_its_flows(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from sos.cli import cli

    project = make_project(BLUEPRINT)
    applied(project)
    stale = {"Sos_Opportunity_Stale_Deal_In_Discovery", "Sos_Opportunity_Stale_Deal_In_Proposal"}
    six = {"Sos_Opportunity_Six_Days_In_Discovery", "Sos_Opportunity_Six_Days_In_Proposal",
           "Sos_Opportunity_Six_Days_In_Negotiation"}
    assert {c.full_name for c in emulator.org.of_type("Flow")} == stale | six
    (project.root / "blueprint.yaml").write_text(BLUEPRINT.replace(", max_days: 2}", "}"), encoding="utf-8")
    applied(project)
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {"Sos_Opportunity_Stale_Deal_In_Discovery"} | six
    assert make_plan(project, project.target(None)).plan.changes == ()
    dropped = BLUEPRINT.replace(", max_days: 2}", "}").split("  six_days:")[0]
    (project.root / "blueprint.yaml").write_text(dropped, encoding="utf-8")
    monkeypatch.chdir(project.root)
    held_back = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert {c.full_name for c in emulator.org.of_type("Flow")} >= six, held_back.output
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "--allow-delete"])
    assert result.exit_code == 0, result.output
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {"Sos_Opportunity_Stale_Deal_In_Discovery"}


def test_a_stage_flow_edited_in_setup_is_planned_and_put_back(emulator: SalesforceEmulator,
                                                             make_project: MakeProject) -> None:
    project = make_project(BLUEPRINT)
    applied(project)
    name = "Sos_Opportunity_Stale_Deal_In_Proposal"
    edit_in_setup(emulator, "Flow", name, lambda body: set_text(
        body.find("{*}start/{*}scheduledPaths"), "offsetNumber", 30))
    plan = make_plan(project, project.target(None)).plan
    assert [(str(c.address), c.reason) for c in plan.changes] == [
        ("cadence.opportunity.stale_deal", "flow edited or deactivated in Salesforce")]
    applied(project)
    path = emulator.org.get("Flow", name)
    assert path is not None and path.body.find("{*}start/{*}scheduledPaths/{*}offsetNumber").text == "3"
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_an_offline_build_switches_every_stage_flow_off_then_deletes_them(emulator: SalesforceEmulator,
                                                                          make_project: MakeProject) -> None:
    from sos.model.resources import Address
    from tests.backends.salesforce.test_metadata import deploy, schema_errors

    package = dropping(applied(make_project(BLUEPRINT)), Address(Kind.AUTOMATION, "opportunity", "stale_deal"))
    names = ["Sos_Opportunity_Stale_Deal_In_Discovery", "Sos_Opportunity_Stale_Deal_In_Proposal"]
    assert sorted(n for n in package.files if n.startswith(("flows/", "destructive"))) == [
        "destructiveChangesPost.xml", *(f"flows/{name}.flow" for name in names)]
    for name in names:
        assert b"<status>Obsolete</status>" in package.files[f"flows/{name}.flow"]
        assert schema_errors(package.files[f"flows/{name}.flow"], "Flow") == []
    assert deploy(emulator.client(), package) == ("Succeeded", [])
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {
        "Sos_Opportunity_Six_Days_In_Discovery", "Sos_Opportunity_Six_Days_In_Proposal",
        "Sos_Opportunity_Six_Days_In_Negotiation"}


# The org's own stage values (the emulator's default org has Qualification) are look-alikes a pipeline lists as they
# are, without the max_days sos would deploy: stage_limits reads them as the org holds them, so a cadence watching only
# those has no flow.
ORGS_OWN_STAGES = (BLUEPRINT[:BLUEPRINT.index("      - {key: discovery")]
                   + "      - {key: qualification, label: Qualification, probability: 10, max_days: 4}\n"
                   + BLUEPRINT[BLUEPRINT.index("      - {key: won"):BLUEPRINT.index("  six_days:")])


def test_a_cadence_watching_only_the_orgs_own_stages_is_said_once_and_not_planned_again(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(ORGS_OWN_STAGES)
    run = applied(project)
    assert [c for c in run.plan.changes if c.address.kind is Kind.AUTOMATION] == []
    [note] = [n for n in run.plan.cannot_enforce if n.startswith("1 cadence")]
    assert note.endswith("; cadence stale_deal watches only stages sos leaves alone (the org's own values, listed as "
                         "they are, with no max_days sos deploys), so no flow runs it: give the pipeline stages of its "
                         "own, or take the org's over with `--adopt` and plan again")
    assert emulator.org.of_type("Flow") == []
    again = make_plan(project, project.target(None)).plan
    assert again.changes == () and again.cannot_enforce == run.plan.cannot_enforce
