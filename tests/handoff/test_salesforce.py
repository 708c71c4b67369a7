"""`sos handoff run` against a Salesforce org: the deals read through History (OpportunityHistory says when a deal
reached the stage), claimed and linked with conditional writes (If-Unmodified-Since), over real HTTPS against the
Salesforce emulator, with the real Asana client and requests against the Asana and Jira emulators.

What the expectations rest on: the REST API Developer Guide, "Conditional Request Headers" (a write with
If-Unmodified-Since to a record modified after that moment answers 412 Precondition Failed and writes nothing), and
the Object Reference's OpportunityHistory (a row at a deal's creation and at each change of its stage)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from sos.backends.salesforce.backend import SalesforceBackend
from sos.engine import apply_plan, make_plan, run_handoffs
from sos.errors import SosError
from sos.project import Project, load_project
from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.loader import load_record
from tests.emulators.salesforce.org import USER_ID, SteppingClock
from tests.handoff.conftest import BLUEPRINT
from tests.handoff.overlap import NOW, overlapping_runs, run_config

# The org's clock runs on from the run's morning: a write is stamped after every record the test loads.
ORG_START = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.UTC)
WON_AT = "2026-12-01T15:00:00.000+0000"


@pytest.fixture(scope="module")
def org() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator(clock=SteppingClock(ORG_START)) as emulator, emulator.ca_env():
        yield emulator


@pytest.fixture
def unapplied(org: SalesforceEmulator, asana: AsanaEmulator, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """The handoff blueprint, its target a fresh org reached with SF_ACCESS_TOKEN."""
    org.reset()
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT.format(team=asana.team), encoding="utf-8")
    (tmp_path / "sos.yaml").write_text(f'blueprint: blueprint.yaml\ntargets:\n  prod: {{type: salesforce, '
                                       f'instance_url: "{org.instance_url}", api_version: "63.0"}}\n',
                                       encoding="utf-8")
    monkeypatch.setenv("SF_ACCESS_TOKEN", org.access_token)
    monkeypatch.setenv("SF_INSTANCE_URL", org.instance_url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org.ca_file)
    yield load_project(tmp_path / "sos.yaml")
    assert org.internal_errors == []


@pytest.fixture
def project(unapplied: Project) -> Project:
    """The handoff blueprint applied to the org."""
    run = make_plan(unapplied, unapplied.target(None))
    assert apply_plan(unapplied, run.backend, run.plan, run.desired).ok
    return unapplied


def add_deals(org: SalesforceEmulator) -> dict[str, str]:
    """As tests/handoff/conftest.py's sandbox: a won deal due, an open one, a won one already linked, and one won
    before the window; their ids by name."""
    data = org.org
    account = load_record(data, "Account", {"Name": "Globex"}, created=WON_AT, by=USER_ID)
    champion = load_record(data, "Contact", {"FirstName": "Hank", "LastName": "Scorpio", "AccountId": account},
                           created=WON_AT, by=USER_ID)
    ids = {}
    for name, stage, created in (("Globex rollout", "Closed Won", WON_AT), ("Globex expansion", "Discovery", WON_AT),
                                 ("Globex pilot", "Closed Won", WON_AT),
                                 ("Globex 2024", "Closed Won", "2026-09-01T10:00:00.000+0000")):
        ids[name] = load_record(data, "Opportunity", {
            "Name": name, "AccountId": account, "StageName": stage, "Amount": 12000, "CloseDate": "2026-12-01",
            "Handoff_Notes__c": "Kick-off on the 8th; SSO first.", "Champion__c": champion},
            created=created, by=USER_ID)
    pilot = data.records["Opportunity"][ids["Globex pilot"]]
    pilot.update(Delivery_Link__c="https://app.asana.com/0/1/list",
                 Ticket_Link__c="https://acme.atlassian.net/browse/DEL-7")
    return ids


def deal(org: SalesforceEmulator, deal_id: str) -> dict[str, object]:
    return org.org.records["Opportunity"][deal_id]


def test_a_won_deal_in_salesforce_gets_one_project_and_one_issue_from_two_overlapping_runs_through_429_and_5xx(
        org: SalesforceEmulator, project: Project, asana: AsanaEmulator, jira: JiraEmulator,
        environ: dict[str, str]) -> None:
    ids = add_deals(org)
    target = project.target(None)
    # In the org too: the first record call is refused 429, and the first write to a deal is saved but answered
    # 503 (its retry meets 412, its own write having moved the deal, and finds its value there).
    org.faults.rate_limit(status=429, operations={"record"})
    org.faults.lose_answer(operations={"record"})
    org_waits: list[float] = []
    summaries, waits = overlapping_runs(project, lambda: SalesforceBackend(
        target, project.root, sleep=org_waits.append, progress=lambda line: None), environ, asana, jira)

    rollout = ids["Globex rollout"]
    priya = next(gid for gid, user in asana.state.users.items() if user.email == "priya@acme.io")
    assert [(p.name, p.owner) for p in asana.projects] == [("Globex — Globex rollout", priya)]
    made = asana.projects[0]
    assert made.notes.splitlines() == ["Amount: 12,000", "Close Date: 2026-12-01",
                                       "Handoff notes: Kick-off on the 8th; SSO first.", "Champion: Hank Scorpio",
                                       "", f"sos-deal-prod-delivery-{rollout}"]
    assert [(i.summary, i.labels) for i in jira.issues] == [("Onboard Globex", [f"sos-deal-prod-ticket-{rollout}"])]
    # The links are on the deal in the org; the other deals are as they were.
    assert deal(org, rollout)["Delivery_Link__c"] == f"https://app.asana.com/0/{made.gid}/list"
    assert deal(org, rollout)["Ticket_Link__c"] == f"{jira.api_url}/browse/{jira.issues[0].key}"
    assert deal(org, ids["Globex pilot"])["Delivery_Link__c"] == "https://app.asana.com/0/1/list"
    assert all(deal(org, ids[name]).get(field) is None for name in ("Globex expansion", "Globex 2024")
               for field in ("Delivery_Link__c", "Ticket_Link__c"))
    # Each handoff was made by one run and found claimed by the other: the loser's claim met a 412.
    assert [sum(s.count(status) for s in summaries) for status in ("handed-off", "elsewhere", "existed", "failed")] \
        == [2, 2, 0, 0]
    assert sorted(waits) == [2.0, 3.0, 4.0, 7.0]
    assert asana.calls["POST /api/1.0/teams/{team_gid}/projects"] == 1
    assert len(org_waits) == 2          # the org's 429 and 503 were each waited out, once

    again = run_handoffs(project, target, run_config(target="prod", run_id="r3"), environ)
    assert again.line() == "0 handed off, 0 already had one, 0 failed"
    assert len(asana.projects) == 1 and len(jira.issues) == 1


def test_a_write_to_a_deal_changed_since_the_given_moment_is_refused_with_412_and_changes_nothing(
        org: SalesforceEmulator, project: Project) -> None:
    rollout = add_deals(org)["Globex rollout"]
    url = f"{org.instance_url}/services/data/v63.0/sobjects/Opportunity/{rollout}"
    auth = {"Authorization": f"Bearer {org.access_token}"}
    before = datetime.datetime(2026, 12, 1, 14, 59, 59, tzinfo=datetime.UTC)   # a second before WON_AT
    refused = requests.patch(url, json={"Delivery_Link__c": "x"}, timeout=10,
                             headers={**auth, "If-Unmodified-Since": format_datetime(before, usegmt=True)})
    assert refused.status_code == 412 and refused.json()[0]["errorCode"] == "PRECONDITION_FAILED"
    assert deal(org, rollout).get("Delivery_Link__c") is None
    bad = requests.patch(url, json={"Delivery_Link__c": "x"}, timeout=10,
                         headers={**auth, "If-Unmodified-Since": "last tuesday"})
    assert bad.status_code == 400 and deal(org, rollout).get("Delivery_Link__c") is None
    at_won = format_datetime(datetime.datetime(2026, 12, 1, 15, tzinfo=datetime.UTC), usegmt=True)
    done = requests.patch(url, json={"Delivery_Link__c": "x"}, timeout=10,
                          headers={**auth, "If-Unmodified-Since": at_won})
    assert done.status_code == 204 and deal(org, rollout)["Delivery_Link__c"] == "x"
    # The claim itself: the field moved from blank, so a claim expecting blank is refused and writes nothing.
    backend = SalesforceBackend(project.target(None), project.root)
    assert not backend.set_if("opportunity", rollout, "delivery_link", None, "sos-claim:late@" + NOW.isoformat())
    assert deal(org, rollout)["Delivery_Link__c"] == "x"


def test_an_org_without_the_link_field_is_told_to_apply_first(unapplied: Project, environ: dict[str, str]) -> None:
    with pytest.raises(SosError) as raised:
        run_handoffs(unapplied, unapplied.target(None), run_config(target="prod", dry_run=True), environ)
    assert raised.value.diagnostics[0].message == ("handoff 'delivery' writes its link into 'delivery_link', which "
                                                   "target 'prod' does not hold yet")
    assert raised.value.diagnostics[0].code == "handoff-unapplied"
