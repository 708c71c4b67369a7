"""The records side of the HubSpot backend (`Records`: tally, record_count) against the emulator holding deals and
contacts, read over real HTTP with hubspot-api-client."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from sos.backends.base import Offender
from sos.engine import desired_model
from sos.model.checks import checks_of
from sos.project import load_project
# The wall-clock emulator and the client repository of the backend's tests.
from tests.backends.hubspot.test_backend import Waits, deal_pipeline, engine_backend, make_project, running, sos
from tests.emulators.hubspot import HubSpotEmulator

__all__ = ["make_project", "running"]

AUDITED = """\
sos: 1
name: client
fields:
  opportunity:
    competitor: {type: text, label: Competitor}
    budget_confirmed: {type: checkbox, label: Budget confirmed}
pipelines:
  new_business:
    label: New business
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
rules:
  big_deals_need_budget:
    object: opportunity
    when: amount > 10000
    require: budget_confirmed
    message: Deals over 10,000 need a confirmed budget.
  changed_amount:
    object: opportunity
    when: is_changed(amount)
    require: not is_blank(next_step)
    message: A changed amount needs a next step.
lead_statuses:
  - {key: fresh, label: Fresh, default: true}
  - {key: qualified, label: Qualified, converted: true}
"""


def test_tally_counts_the_deals_that_break_each_check(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(AUDITED)
    sos("apply", "--auto-approve")
    pipeline = deal_pipeline(hub, "New business")
    stage = {s["label"]: s["id"] for s in pipeline["stages"].values()}
    hub.seed("deals", [
        {"dealname": "Acme", "dealstage": stage["Proposal"], "pipeline": pipeline["id"], "amount": "50000",
         "hubspot_owner_id": "101"},
        {"dealname": "Globex", "dealstage": stage["Proposal"], "pipeline": pipeline["id"], "amount": "20000",
         "competitor": "Initech", "budget_confirmed": "true", "hubspot_owner_id": "102"},
        {"dealname": "Umbrella", "dealstage": stage["Discovery"], "pipeline": pipeline["id"], "amount": "12000",
         "hubspot_owner_id": "101"},
        {"dealname": "Sales pipeline deal", "dealstage": "appointmentscheduled", "amount": "500"},
    ])
    project = load_project(root / "sos.yaml")
    _, backend = engine_backend(root, Waits())
    checks = checks_of(desired_model(project))
    assert [str(c.address) for c in checks] == [
        "stage.new_business.discovery", "stage_requirement.new_business.proposal",
        "rule.opportunity.big_deals_need_budget", "rule.opportunity.changed_amount"]
    hub.calls.clear()
    later = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=20)
    aging, requirement, budget, changed = backend.tally(checks, top=1, today=later)
    assert (aging.total, aging.by_stage) == (1, {"discovery": 1})
    assert (requirement.total, requirement.by_owner) == (1, {"101": 1})
    assert (budget.total, budget.by_owner, budget.by_stage) == (2, {"101": 2}, {"proposal": 1, "discovery": 1})
    assert budget.worst == (Offender(budget.worst[0].id, "Acme", "101", "proposal", 50000.0,
                                     f"https://app.hubspot.com/contacts/62515/record/0-3/{budget.worst[0].id}"),)
    assert changed.unsupported and "is_changed" in changed.unsupported and changed.total == 0
    # The portal read (8 calls), one search for each check the search can say (the requirement, the budget rule),
    # and one page of deals with the history of dealstage for the time limit, which it cannot.
    assert hub.calls["POST /crm/v3/objects/{objectType}/search"] == 2
    assert hub.calls["GET /crm/v3/objects/{objectType}"] == 1 and sum(hub.calls.values()) == 11
    today = datetime.datetime.now(datetime.UTC).date()
    assert backend.tally(checks[:1], today=today)[0].total == 0        # entered Discovery today: within 14 days
    assert backend.record_count("opportunity") == 4


def test_tally_reads_leads_from_contacts(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(AUDITED.replace("lead_statuses:", """\
  leads_need_email:
    object: lead
    when: status == 'qualified'
    require: not is_blank(email)
    message: A qualified lead needs an email.
lead_statuses:"""))
    sos("apply", "--auto-approve")
    hub.seed("contacts", [{"firstname": "Ada", "lastname": "Lovelace", "hs_lead_status": "qualified"},
                          {"firstname": "Alan", "email": "alan@example.com", "hs_lead_status": "qualified"},
                          {"firstname": "Grace", "hs_lead_status": "NEW"}])
    project = load_project(root / "sos.yaml")
    _, backend = engine_backend(root, Waits())
    check = next(c for c in checks_of(desired_model(project)) if c.address.key == "leads_need_email")
    (found,) = backend.tally([check], today=datetime.date(2026, 12, 4))
    assert (found.total, found.by_stage) == (1, {"qualified": 1})
    assert found.worst[0].name == "Ada Lovelace"


def test_a_stage_limit_counts_only_the_deals_of_its_own_pipeline(hub: HubSpotEmulator,
                                                                 make_project: Callable[..., Path]) -> None:
    # The portal's own Sales Pipeline has a "Contract Sent" stage too, which `sos import` would key contract_sent.
    root = make_project(AUDITED.replace("{key: discovery, label: Discovery, probability: 10, max_days: 14}",
                                        "{key: contract_sent, label: Contract out, probability: 10, max_days: 14}"))
    sos("apply", "--auto-approve")
    pipeline = deal_pipeline(hub, "New business")
    contract_out = next(s["id"] for s in pipeline["stages"].values() if s["label"] == "Contract out")
    hub.seed("deals", [
        {"dealname": "Ours", "dealstage": contract_out, "pipeline": pipeline["id"]},
        {"dealname": "Sales pipeline deal", "dealstage": "contractsent", "pipeline": "default"},
    ])
    _, backend = engine_backend(root, Waits())
    aging = next(c for c in checks_of(desired_model(load_project(root / "sos.yaml")))
                 if str(c.address) == "stage.new_business.contract_sent")
    later = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=20)
    (found,) = backend.tally([aging], today=later)
    assert (found.total, [o.name for o in found.worst]) == (1, ["Ours"])

