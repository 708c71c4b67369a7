"""`enforce:` in the org: each mode lowered, deployed to the emulator and exercised through REST creates and
updates. The emulator runs ISNEW(), ISCHANGED() and PRIORVALUE() as Salesforce documents them (Help, "ISNEW",
"ISCHANGED", "PRIORVALUE"): true on insert; a field's value against the one before the update; the record's own
value on insert) and skips inactive rules (reference §9)."""

from __future__ import annotations

import datetime
from typing import Any
from collections.abc import Callable

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sos.blueprint.load import load_blueprint

from sos.engine import apply_plan, check_plan, make_plan
from sos.model.resources import Kind
from sos.plan.change import Action
from sos.project import Project
from tests.backends.salesforce.conftest import STARTERS, blueprint_text
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import flag, text

BLUEPRINT = """\
sos: 1
name: client
fields:
  opportunity:
    budget_ok: {type: checkbox, label: Budget OK}
  lead:
    segment: {type: picklist, values: [SMB, Enterprise]}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10}
      - {key: proposal, label: Proposal, probability: 50, require: [budget_ok]}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: working, label: Working}
  - {key: qualified, label: Qualified, converted: true}
rules:
  amount_positive:
    object: opportunity
    when: not is_blank(amount)
    require: amount > 0
    message: An amount is more than zero.
  close_date_ahead:
    object: opportunity
    when: stage.is_open
    require: close_date >= today()
    message: Open deals close today or later.
    enforce: audit
  qualified_has_segment:
    object: lead
    when: status == 'qualified'
    require: not is_blank(segment)
    message: Pick a segment to qualify a lead.
    enforce: on_stage_change
"""


def refused(write: Callable[[], object]) -> set[str]:
    try:
        write()
    except SalesforceMalformedRequest as error:
        return {e["message"] for e in error.content}
    return set()


def applied(make_project: Callable[..., Project], blueprint: str) -> Project:
    project = make_project(blueprint)
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    return project


def test_each_mode_bites_when_it_says(emulator: SalesforceEmulator, make_project: Callable[..., Project]) -> None:
    applied(make_project, BLUEPRINT)
    sf = emulator.client()
    past = (emulator.org.clock().date() - datetime.timedelta(days=30)).isoformat()
    deal: dict[str, Any] = {"Name": "Deal", "CloseDate": past, "StageName": "Proposal"}
    proposal_rule = {"Proposal needs: Budget OK."}

    # on_stage_change: a deal created in Proposal without the budget is refused (ISNEW) ...
    assert refused(lambda: sf.Opportunity.create(deal)) == proposal_rule
    # ... one created in Discovery is not, but moving it into Proposal is (ISCHANGED(StageName)).
    early = sf.Opportunity.create({**deal, "StageName": "Discovery"})["id"]
    assert refused(lambda: sf.Opportunity.update(early, {"StageName": "Proposal"})) == proposal_rule
    # A legacy deal already in Proposal without the budget can still be edited, until it moves on.
    legacy = emulator.org.add_record("Opportunity", deal)
    assert refused(lambda: sf.Opportunity.update(legacy, {"NextStep": "Call the CFO"})) == set()
    assert refused(lambda: sf.Opportunity.update(legacy, {"StageName": "Closed Won"})) == proposal_rule
    assert refused(lambda: sf.Opportunity.update(legacy, {"StageName": "Closed Lost"})) == set()

    # always: every save, a legacy record's included.
    other = emulator.org.add_record("Opportunity", {**deal, "StageName": "Discovery", "Amount": -5})
    assert refused(lambda: sf.Opportunity.update(other, {"NextStep": "x"})) == {"An amount is more than zero."}

    # audit: the close date in the past never blocks; the rule is in the org, inactive.
    rule = next(r for r in emulator.org.of_type("ValidationRule", "Opportunity")
                if "close_date_ahead" in (text(r.body, "errorConditionFormula") or ""))
    assert not flag(rule.body, "active")

    # on_stage_change on a lead bites on its status.
    lead = {"LastName": "Doe", "Company": "Acme", "Status": "Qualified"}
    assert refused(lambda: sf.Lead.create(lead)) == {"Pick a segment to qualify a lead."}
    old_lead = emulator.org.add_record("Lead", lead)
    assert refused(lambda: sf.Lead.update(old_lead, {"Title": "CEO"})) == set()
    assert refused(lambda: sf.Lead.update(old_lead, {"Status": "Working"})) == set()
    assert refused(lambda: sf.Lead.update(old_lead, {"Status": "Qualified"})) == {"Pick a segment to qualify a lead."}


def test_enforce_reads_back_and_a_change_of_it_is_planned(emulator: SalesforceEmulator,
                                                          make_project: Callable[..., Project]) -> None:
    project = applied(make_project, BLUEPRINT)
    assert make_plan(project, project.target(None)).plan.changes == ()    # read back exactly, audit included

    project = make_project(BLUEPRINT.replace("    message: An amount is more than zero.\n",
                                             "    message: An amount is more than zero.\n    enforce: audit\n"))
    run = make_plan(project, project.target(None))
    assert [(c.action, str(c.address), (c.before or {}).get("enforce"), (c.after or {}).get("enforce"))
            for c in run.plan.changes] == [(Action.UPDATE, "rule.opportunity.amount_positive", "always", "audit")]
    notes = [(d.code, d.message) for d in check_plan(project, run)]
    assert ("audit-only", "rule amount_positive is audit-only: Salesforce gets it as an inactive "
            "validation rule, which never blocks a save") in notes
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    sf = emulator.client()
    assert refused(lambda: sf.Opportunity.create({"Name": "D", "CloseDate": "2030-01-01", "StageName": "Discovery",
                                                  "Amount": -5})) == set()
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_an_audit_rule_switched_on_in_the_org_is_drift(emulator: SalesforceEmulator,
                                                      make_project: Callable[..., Project]) -> None:
    project = applied(make_project, BLUEPRINT)
    rule = next(r for r in emulator.org.of_type("ValidationRule", "Opportunity")
                if "close_date_ahead" in (text(r.body, "errorConditionFormula") or ""))
    active = rule.body.find("{*}active")
    assert active is not None
    active.text = "true"
    changes = make_plan(project, project.target(None)).plan.changes
    assert [(str(c.address), c.reason) for c in changes] == [
        ("rule.opportunity.close_date_ahead", "audit-only rule switched on in Salesforce")]
    assert {c.address.kind for c in changes} == {Kind.RULE}


@pytest.mark.parametrize("case", STARTERS)
def test_no_starter_blocks_a_deal_created_in_its_first_stage(emulator: SalesforceEmulator,
                                                             make_project: Callable[..., Project], case: str) -> None:
    """A lead conversion creates the opportunity in the pipeline's first stage with a name, a close date and little
    else: every starter takes it there, and asks for its first stage's exit criteria when the deal moves on."""
    project = applied(make_project, blueprint_text(case))
    bp, problems = load_blueprint(project.blueprint_path)
    assert bp is not None, problems
    sf = emulator.client()
    soon = (emulator.org.clock().date() + datetime.timedelta(days=30)).isoformat()
    for pipeline in bp.pipelines.values():
        first, second = pipeline.stages[:2]
        assert first.require_to_leave and not first.require
        deal = sf.Opportunity.create({"Name": "Converted", "CloseDate": soon, "StageName": first.label})
        leaving = refused(lambda: sf.Opportunity.update(deal["id"], {"StageName": second.label}))  # noqa: B023
        assert any(message.startswith(f"Leaving {first.label} needs: ") for message in leaving), leaving
