"""`sos handoff run` end to end: the sandbox's deals, the real Asana client and requests over HTTP against the
emulators (tests/emulators/asana, jira), two overlapping runs, and 429s and 5xx in the middle."""

from __future__ import annotations

import datetime
from pathlib import Path

from sos.engine import run_handoffs
from sos.project import load_project
from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator
from tests.handoff.conftest import add_deals, sandbox
from tests.handoff.overlap import NOW, TODAY, overlapping_runs, run_config


def test_a_won_deal_gets_one_project_and_one_issue_from_two_overlapping_runs_through_429_and_5xx(
        client: Path, asana: AsanaEmulator, jira: JiraEmulator, environ: dict[str, str]) -> None:
    ids = add_deals(client)
    project = load_project(client / "sos.yaml")
    target = project.target(None)
    summaries, waits = overlapping_runs(project, lambda: sandbox(client), environ, asana, jira)

    # Exactly one project and one issue, for the won deal in the window only.
    priya = next(gid for gid, user in asana.state.users.items() if user.email == "priya@acme.io")
    assert [(p.name, p.owner) for p in asana.projects] == [("Globex — Globex rollout", priya)]
    made = asana.projects[0]
    assert made.notes.splitlines() == ["Amount: 12,000", "Close Date: 2026-12-01",
                                       "Handoff notes: Kick-off on the 8th; SSO first.", "Champion: Hank Scorpio",
                                       "", f"sos-deal-sandbox-delivery-{ids['Globex rollout']}"]
    assert [(i.key, i.summary, i.issue_type, i.labels, jira.users[i.assignee or ""][0]) for i in jira.issues] == [
        ("DEL-1", "Onboard Globex", "Epic", [f"sos-deal-sandbox-ticket-{ids['Globex rollout']}"], "sam@acme.io")]
    # The links are on the deal; the other deals are as they were.
    deals = {d["name"]: d for d in sandbox(client).records("opportunity", today=TODAY)}
    assert deals["Globex rollout"]["delivery_link"] == f"https://app.asana.com/0/{made.gid}/list"
    assert deals["Globex rollout"]["ticket_link"] == f"{jira.api_url}/browse/DEL-1"
    assert deals["Globex pilot"]["delivery_link"] == "https://app.asana.com/0/1/list"
    assert deals["Globex expansion"]["delivery_link"] is None and deals["Globex 2024"]["ticket_link"] is None
    # Each handoff of the deal was made by one run and found claimed by the other (which run made which is the
    # threads' race); the waits are the tools' Retry-After, else the backoff.
    assert [sum(s.count(status) for s in summaries) for status in ("handed-off", "elsewhere", "existed", "failed")] \
        == [2, 2, 0, 0]
    # Asana: 7 (its Retry-After), then 4 after the 504 (no Retry-After: 2 s doubled for the second retry);
    # Jira: 2 after the 503 (the first backoff), 3 after the 429 (its Retry-After).
    assert sorted(waits) == [2.0, 3.0, 4.0, 7.0]
    # The 504'd create was carried out once and found again, not made twice.
    assert asana.calls["POST /api/1.0/teams/{team_gid}/projects"] == 1

    # A third run, later, creates nothing.
    again = run_handoffs(project, target, run_config(run_id="r3"), environ)
    assert again.line() == "0 handed off, 0 already had one, 0 failed"
    assert len(asana.projects) == 1 and len(jira.issues) == 1


def test_a_claim_a_crashed_run_left_is_taken_over_and_its_project_found_not_made_again(
        client: Path, asana: AsanaEmulator, environ: dict[str, str]) -> None:
    ids = add_deals(client)
    deal = ids["Globex rollout"]
    project = load_project(client / "sos.yaml")
    # A run that died two hours ago: it claimed the deal and created the project, but never wrote the link.
    crashed = (NOW - datetime.timedelta(hours=2)).isoformat()
    assert sandbox(client).set_if("opportunity", deal, "delivery_link", None, f"sos-claim:dead@{crashed}")
    left = asana.add_project("Globex — Globex rollout", f"Amount: 12,000\n\nsos-deal-sandbox-delivery-{deal}")
    # Half an hour after the claim, it is another run at work: the deal is left to it.
    young = run_handoffs(project, project.target(None), run_config(now=NOW - datetime.timedelta(minutes=90)),
                         environ, only=["delivery"])
    assert young.line() == "0 handed off, 0 already had one, 0 failed"
    assert asana.calls == {}
    summary = run_handoffs(project, project.target(None), run_config(), environ, only=["delivery"])
    assert summary.line() == "0 handed off, 1 already had one, 0 failed"
    assert [p.gid for p in asana.projects] == [left]
    row = sandbox(client).stored_row("opportunity", deal)
    assert row is not None and row["delivery_link"] == f"https://app.asana.com/0/{left}/list"
