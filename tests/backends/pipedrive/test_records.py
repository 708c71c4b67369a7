"""The records side (Records.tally, record_count) on a Pipedrive account whose emulator holds deals: stage
requirements (open and won deals), stage time limits from stage_change_time, rules, won and lost deals read as
the blueprint's stages, and what it cannot check said as unsupported."""

from __future__ import annotations

import datetime

from sos.engine import desired_model
from sos.model.checks import checks_of
from tests.backends.pipedrive.conftest import SMALL, Repo

TODAY = datetime.date(2026, 12, 4)
LEAD_FIELD = "  lead:\n    referrer: {type: text, label: Referrer}\n"
CONTACT_FIELD = "  contact:\n    role: {type: picklist, values: [Buyer, User]}\n"
RULES = SMALL.replace("  opportunity:\n", LEAD_FIELD + CONTACT_FIELD + "  opportunity:\n", 1) + """\
rules:
  close_date_not_past:
    object: opportunity
    when: stage.is_open
    require: close_date >= today()
    message: Open deals need a close date in the future.
  contacts_have_a_role:
    object: contact
    require: not is_blank(role) and not is_blank(email)
    message: Every contact has a role and an email.
  new_leads_named:
    object: lead
    when: is_new()
    require: not is_blank(referrer)
    message: A new lead names its referrer.
"""


def test_tally_counts_what_breaks_each_check_on_deals_and_persons(repo: Repo) -> None:
    repo.write(RULES).sos("apply", "--auto-approve", "--no-impact")   # the deal reads below are the tally's
    account = repo.emulator.account
    stage = {s.name: s.id for s in account.stages.values()}
    competitor = next(f.code for f in account.fields["deal"] if f.name == "Competitor")
    late = datetime.datetime(2026, 11, 14, tzinfo=datetime.UTC)      # 20 days before TODAY: over 14
    account.seed_deal("No competitor", stage["Proposal"], value=500, expected_close_date="2026-12-31")
    account.seed_deal("Named", stage["Proposal"], value=700, custom_fields={competitor: "Globex"},
                      expected_close_date="2026-12-31")
    account.seed_deal("Won blind", stage["Proposal"], status="won", value=900)
    account.seed_deal("Stale", stage["Discovery"], value=100, stage_change_time=late, expected_close_date="2026-11-01")
    account.seed_deal("Fresh", stage["Discovery"], value=50, expected_close_date="2027-01-15",
                      stage_change_time=datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC))
    project, backend = repo.backend()
    checks = checks_of(desired_model(project))
    tallies = dict(zip((str(c.address) for c in checks), backend.tally(checks, top=1, today=TODAY), strict=True))
    requirement = tallies["stage_requirement.new_business.proposal"]
    assert (requirement.total, requirement.by_stage) == (2, {"proposal": 1, "won": 1})
    assert [(o.name, o.amount, o.stage) for o in requirement.worst] == [("Won blind", 900, "won")]
    assert requirement.worst[0].url == f"https://acme.pipedrive.com/deal/{requirement.worst[0].id}"
    stale = tallies["stage.new_business.discovery"]
    assert (stale.total, [o.name for o in stale.worst]) == (1, ["Stale"])
    assert tallies["rule.opportunity.close_date_not_past"].total == 1
    assert tallies["rule.lead.new_leads_named"].unsupported == "sos does not read Pipedrive's leads yet (deals, " \
                                                                "persons and organizations only)"
    role = next(f for f in account.fields["person"] if f.name == "Role")
    account.seed_person("Ann", email="ann@example.com", custom_fields={role.code: role.options[0].id})
    account.seed_person("Bob", custom_fields={role.code: role.options[1].id})
    account.seed_person("Cy", email="cy@example.com")
    [contacts] = backend.tally([c for c in checks if c.object == "contact"], today=TODAY)
    assert sorted(o.name for o in contacts.worst) == ["Bob", "Cy"]
    assert contacts.worst[0].url.startswith("https://acme.pipedrive.com/person/")
    assert backend.record_count("opportunity") == 5
    assert repo.emulator.calls["GET /api/v2/deals"] == 2     # one page for every check, one for the count


def test_a_lost_deal_is_in_the_lost_stage_its_lost_reason_names(repo: Repo) -> None:
    repo.write(SMALL.replace("      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}\n",
                             "      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}\n"
                             "      - {key: disqualified, label: Disqualified, probability: 0, outcome: lost,"
                             " require: [loss_reason]}\n")).sos("apply", "--auto-approve")
    account = repo.emulator.account
    proposal = next(s.id for s in account.stages.values() if s.name == "Proposal")
    account.seed_deal("Bad fit", proposal, status="lost", lost_reason="Disqualified")
    account.seed_deal("Too pricey", proposal, status="lost", lost_reason="Price")
    project, backend = repo.backend()
    checks = [c for c in checks_of(desired_model(project)) if c.address.key == "disqualified"]
    [tally] = backend.tally(checks, today=TODAY)
    assert (tally.total, tally.by_stage, [o.name for o in tally.worst]) == (1, {"disqualified": 1}, ["Bad fit"])
