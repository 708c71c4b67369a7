"""Notify cadences and tasks for a named user as Salesforce Flows, end to end: plan, apply, plan again; then write
records through the REST API and see what was sent and made.

What must happen is read from Salesforce's documentation, not from sos's code: a record-triggered flow with
CreateAndUpdate runs on inserts and updates and its entry formula decides (Metadata API Developer Guide, "Flow":
FlowStart; Help, "ISCHANGED", "ISNEW"), so a cadence on entering a stage fires when a deal is created in the stage or
moved into it, never when a deal already in it is saved again or moves elsewhere. The Send Custom Notification action
(Actions Developer Guide, "Custom Notification Actions") sends `title` and `body` to the recipient ids (a user, or
every member of a queue), about the record `targetId`. A Task's OwnerId is the user it is assigned to (Object
Reference, "Task").
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli
from sos.engine import make_plan
from sos.model.automation import Notify, Owner, Queue, StageEntered, User, automation_of
from sos.model.resources import Kind
from sos.plan.change import Action, Unmanaged
from sos.project import Project
from tests.backends.salesforce.conftest import REPO, STARTERS, blueprint_text
from tests.backends.salesforce.staff import DOMAIN
from tests.backends.salesforce.test_drift import edit_in_setup
from tests.backends.salesforce.test_flows import SMALL as TASKS
from tests.backends.salesforce.test_flows import applied, tasks
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import set_text

MakeProject = Callable[..., Project]
NOTIFYING = [c for c in STARTERS if "notify:" in (REPO / "blueprints" / f"{c}.yaml").read_text(encoding="utf-8")]

# The pipeline of test_flows.py's blueprint, with cadences that notify and assign to named people.
SMALL = "sos: 1\nname: client\n" + TASKS[TASKS.index("pipelines:"):TASKS.index("lead_statuses:")] + """\
cadences:
  big_deal_alert:
    trigger: {stage_entered: proposal}
    when: amount >= 50000
    action:
      notify:
        to: {user: vp@northwind-traders.com}
        message: A big deal reached Proposal. Review the pricing before it goes out.
  owner_nudge:
    trigger: {stage_entered: won}
    action:
      notify: {message: Your deal is won. Book the kickoff.}
  legal_review:
    trigger: {stage_entered: proposal}
    action:
      create_task:
        assign_to: {user: counsel@northwind-traders.com}
        subject: Review the order form
        due_in_days: 3
        priority: high
"""


def user_id(emulator: SalesforceEmulator, username: str) -> str:
    return next(str(u["Id"]) for u in emulator.org.records["User"].values() if u["Username"] == username)


def sent(emulator: SalesforceEmulator, target: str) -> list[tuple[object, ...]]:
    """The notifications about `target`: (type, recipients, title, body)."""
    return [(n["type"], n["recipients"], n["title"], n["body"]) for n in emulator.org.notifications
            if n["target"] == target]


@pytest.mark.parametrize("case", NOTIFYING)
def test_every_starter_notifies_who_its_cadence_names_when_a_deal_enters_the_stage(
        emulator: SalesforceEmulator, make_project: MakeProject, case: str) -> None:
    project = make_project(blueprint_text(case))
    run = applied(project)
    assert make_plan(project, project.target(None)).plan.changes == ()
    for rule in emulator.org.of_type("ValidationRule"):     # the stage rules are test_rules_in_the_org.py's business
        edit_in_setup(emulator, "ValidationRule", rule.full_name, lambda body: set_text(body, "active", False))
    sf = emulator.client()
    notifying = [c for c in run.desired.of_kind(Kind.AUTOMATION) if isinstance(automation_of(c).action, Notify)]
    assert notifying
    for cadence in notifying:
        automation = automation_of(cadence)
        assert isinstance(automation.trigger, StageEntered) and isinstance(automation.action, Notify)
        label = next(r.attrs["label"] for r in run.desired.of_kind(Kind.STAGE) if r.address.key ==
                     automation.trigger.stage)
        owner = emulator.org.add_user(f"rep.{cadence.address.key}@{DOMAIN}")
        deal = sf.Opportunity.create({"Name": f"Deal {cadence.address.key}", "StageName": "Prospecting",
                                      "CloseDate": "2027-03-01", "OwnerId": owner})["id"]
        assert sent(emulator, deal) == []                       # created in another stage
        sf.Opportunity.update(deal, {"StageName": label})
        match automation.action.to:
            case User(email=email):
                recipient = user_id(emulator, email)
            case Queue(key=key):
                recipient = next(str(g["Id"]) for g in emulator.org.records["Group"].values()
                                 if g["DeveloperName"] == key)
            case Owner():
                recipient = owner
        assert sent(emulator, deal) == [("Sos_Cadence", [recipient], f"Deal {cadence.address.key}",
                                         automation.action.message)]
        sf.Opportunity.update(deal, {"NextStep": "Call the CFO"})     # saved again in the stage: nothing more
        assert len(sent(emulator, deal)) == 1


def test_a_notification_and_a_named_users_task_fire_for_the_deals_that_enter_the_stage(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    assert make_plan(project, project.target(None)).plan.changes == ()
    kind = emulator.org.get("CustomNotificationType", "Sos_Cadence")
    assert kind is not None
    sf = emulator.client()
    vp, counsel = user_id(emulator, "vp@northwind-traders.com"), user_id(emulator, "counsel@northwind-traders.com")
    rep = emulator.org.add_user("rep@northwind-traders.com")
    big = sf.Opportunity.create({"Name": "Big", "StageName": "Discovery", "CloseDate": "2027-03-01",
                                 "Amount": 50000, "OwnerId": rep})["id"]
    assert sent(emulator, big) == [] and tasks(sf, big) == []
    sf.Opportunity.update(big, {"StageName": "Proposal"})
    assert sent(emulator, big) == [("Sos_Cadence", [vp], "Big",
                                    "A big deal reached Proposal. Review the pricing before it goes out.")]
    [task] = tasks(sf, big)
    due = (emulator.org.clock() + emulator.user_offset).date() + datetime.timedelta(days=3)
    assert (task["Subject"], task["OwnerId"], task["Priority"], task["WhatId"], task["ActivityDate"]) == (
        "Review the order form", counsel, "High", big, due.isoformat())  # the named user's, not the deal owner's
    sf.Opportunity.update(big, {"NextStep": "Send it"})               # saved again in the stage: nothing more
    assert len(sent(emulator, big)) == 1 and len(tasks(sf, big)) == 1
    small = sf.Opportunity.create({"Name": "Small", "StageName": "Discovery", "CloseDate": "2027-03-01",
                                   "Amount": 49999})["id"]
    blank = sf.Opportunity.create({"Name": "Blank", "StageName": "Proposal", "CloseDate": "2027-03-01"})["id"]
    sf.Opportunity.update(small, {"StageName": "Proposal"})
    assert sent(emulator, small) == sent(emulator, blank) == []     # under 50,000, or blank: `when` does not hold
    assert len(tasks(sf, small)) == len(tasks(sf, blank)) == 1       # the task cadence has no `when`
    sf.Opportunity.update(big, {"StageName": "Closed Won"})
    assert sent(emulator, big)[1:] == [("Sos_Cadence", [rep], "Big", "Your deal is won. Book the kickoff.")]


def located(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column of `needle`'s first `{` in `text`."""
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if needle in row)
    return line, text.splitlines()[line - 1].index(needle) + needle.index("{") + 1


def plan_output(project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["plan"])
    return result.exit_code, result.output


def test_a_user_the_org_lacks_or_has_inactive_is_a_located_plan_error(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    del emulator.org.records["User"][user_id(emulator, "vp@northwind-traders.com")]
    emulator.org.records["User"][user_id(emulator, "counsel@northwind-traders.com")]["IsActive"] = False
    code, output = plan_output(project, monkeypatch)
    vp_line, vp_col = located(SMALL, "to: {user: vp@northwind-traders.com}")
    counsel_line, counsel_col = located(SMALL, "assign_to: {user: counsel@northwind-traders.com}")
    assert code == 1
    counsel = "counsel@northwind-traders.com"
    assert [line for line in output.splitlines() if ": error: " in line] == [
        f"blueprint.yaml:{vp_line}:{vp_col}: error: cadence big_deal_alert notifies vp@northwind-traders.com, who is "
        "not a user of the Salesforce org [sf-assignee-missing]",
        f"blueprint.yaml:{counsel_line}:{counsel_col}: error: cadence legal_review assigns a task to {counsel}, whose "
        f"Salesforce user {counsel} is inactive [sf-assignee-inactive]"]
    assert "fix: create the user in Setup → Users" in output and "Traceback" not in output
    assert emulator.org.of_type("Flow") == []                         # nothing was deployed


def test_a_user_deactivated_after_the_apply_stops_the_next_plan_at_the_cadence(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    applied(project)
    emulator.org.records["User"][user_id(emulator, "counsel@northwind-traders.com")]["IsActive"] = False
    code, output = plan_output(project, monkeypatch)
    line, col = located(SMALL, "assign_to: {user: counsel@northwind-traders.com}")
    assert code == 1
    counsel = "counsel@northwind-traders.com"
    assert f"blueprint.yaml:{line}:{col}: error: cadence legal_review assigns a task to {counsel}, whose Salesforce " \
           f"user {counsel} is inactive [sf-assignee-inactive]" in output.splitlines()


def test_a_notification_type_deleted_in_setup_fails_the_save_until_the_next_apply(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    project = make_project(SMALL)
    applied(project)
    emulator.org.remove("CustomNotificationType", "Sos_Cadence")
    sf = emulator.client()
    deal = sf.Opportunity.create({"Name": "Big", "StageName": "Discovery", "CloseDate": "2027-03-01",
                                  "Amount": 90000})["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Opportunity.update(deal, {"StageName": "Proposal"})
    assert refused.value.content[0]["errorCode"] == "CANNOT_EXECUTE_FLOW_TRIGGER"
    assert emulator.org.records["Opportunity"][deal]["StageName"] == "Discovery"   # the save failed whole
    assert tasks(sf, deal) == [] and sent(emulator, deal) == []
    plan = make_plan(project, project.target(None)).plan
    assert {(c.action, str(c.address), c.reason) for c in plan.changes} == {
        (Action.UPDATE, f"cadence.opportunity.{key}", "notification type Sos_Cadence edited or deleted in Salesforce")
        for key in ("big_deal_alert", "owner_nudge")}
    applied(project)
    sf.Opportunity.update(deal, {"StageName": "Proposal"})
    assert [notification[2] for notification in sent(emulator, deal)] == ["Big"]
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_a_dropped_notify_cadence_is_switched_off_then_deleted_with_allow_delete(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    applied(project)
    dropped = SMALL.replace("  owner_nudge:\n    trigger: {stage_entered: won}\n    action:\n"
                            "      notify: {message: Your deal is won. Book the kickoff.}\n", "")
    (project.root / "blueprint.yaml").write_text(dropped, encoding="utf-8")
    monkeypatch.chdir(project.root)
    CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert emulator.org.get("Flow", "Sos_Opportunity_Owner_Nudge") is not None     # held back without the flag
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "--allow-delete"])
    assert result.exit_code == 0, result.output
    assert emulator.org.get("Flow", "Sos_Opportunity_Owner_Nudge") is None
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {"Sos_Opportunity_Big_Deal_Alert",
                                                                  "Sos_Opportunity_Legal_Review"}
    deal = emulator.client().Opportunity.create({"Name": "Won", "StageName": "Closed Won",
                                                 "CloseDate": "2027-03-01"})["id"]
    assert sent(emulator, deal) == []
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_an_offline_build_holds_the_owners_notification_and_leaves_out_the_named_people(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.backends.salesforce.test_metadata import file_type, schema_errors

    (tmp_path / "blueprint.yaml").write_text(SMALL, encoding="utf-8")
    (tmp_path / "sos.yaml").write_text("sos: 1\nblueprint: blueprint.yaml\ntargets:\n"
                                       "  prod: {type: salesforce, org: client-prod}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["build", "--target", "prod", "--out", "build"])
    assert result.exit_code == 0, result.output
    written = {str(p.relative_to(tmp_path / "build")): p.read_bytes() for p in (tmp_path / "build").rglob("*")
               if p.is_file()}
    assert sorted(n for n in written if n.startswith(("flows/", "notificationtypes/"))) == [
        "flows/Sos_Opportunity_Owner_Nudge.flow", "notificationtypes/Sos_Cadence.notiftype"]
    for name, body in written.items():
        assert schema_errors(body, file_type(name)) == [], name
    assert b"<members>Sos_Cadence</members>" in written["package.xml"]
    assert "Left out the flows of cadences cadence.opportunity.big_deal_alert, cadence.opportunity.legal_review" \
        in result.output


def cadences(found: Iterable[Unmanaged]) -> set[str]:
    return {str(u.address) for u in found if u.address.kind is Kind.AUTOMATION}


def test_the_orgs_own_notification_type_under_sos_name_is_left_alone_until_adopted(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    from lxml import etree

    from tests.emulators.test_salesforce_emulator import component

    theirs = component("CustomNotificationType", "<customNotifTypeName>Deal desk</customNotifTypeName>",
                       "<description>The deal desk's alerts</description>", "<desktop>true</desktop>",
                       "<masterLabel>Deal desk</masterLabel>", "<mobile>false</mobile>")
    emulator.org.put("CustomNotificationType", "Sos_Cadence", etree.fromstring(theirs.encode()))
    before = etree.tostring(emulator.org.get("CustomNotificationType", "Sos_Cadence").body)  # type: ignore[union-attr]
    project = make_project(SMALL)
    notifying = {"cadence.opportunity.big_deal_alert", "cadence.opportunity.owner_nudge"}
    run = make_plan(project, project.target(None))
    assert cadences(run.plan.unmanaged) == notifying          # the org's closed stages are look-alikes too
    assert [str(c.address) for c in run.plan.changes if c.address.kind is Kind.AUTOMATION] == [
        "cadence.opportunity.legal_review"]
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert "notification type Sos_Cadence that sos did not make" in result.output and "--adopt" in result.output
    kept = emulator.org.get("CustomNotificationType", "Sos_Cadence")
    assert kept is not None and etree.tostring(kept.body) == before         # the org's type, as it was
    assert {c.full_name for c in emulator.org.of_type("Flow")} == {"Sos_Opportunity_Legal_Review"}
    assert cadences(make_plan(project, project.target(None)).plan.unmanaged) == notifying

    adopting = make_plan(project, project.target(None), adopt=True)
    assert {(c.action, str(c.address)) for c in adopting.plan.changes if c.address.kind is Kind.AUTOMATION} == {
        (Action.ADOPT, a) for a in notifying}
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "--adopt"])
    assert result.exit_code == 0, result.output
    adopted = emulator.org.get("CustomNotificationType", "Sos_Cadence")
    assert adopted is not None and b"sos: derived (notifications)" in etree.tostring(adopted.body)
    again = make_plan(project, project.target(None)).plan
    assert again.changes == () and cadences(again.unmanaged) == set()
    sf = emulator.client()
    deal = sf.Opportunity.create({"Name": "Won", "StageName": "Closed Won", "CloseDate": "2027-03-01"})["id"]
    assert [n[3] for n in sent(emulator, deal)] == ["Your deal is won. Book the kickoff."]
