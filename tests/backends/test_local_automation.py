"""The sandbox runs the blueprint's automation as a CRM would: a new lead without an owner goes to the first route
whose `when` holds (a round robin keeps its turn), and cadences fire on a record created, a stage or a status
entered, and on time in a stage as the sandbox's clock moves (`tick`), once per deal and stage.

The expectations are the blueprint language's own words (docs/language.md, "cadences" and "routing"): routes are
tried in order and the first match wins; a task's owner is the record's owner unless the cadence names one; its due
date is `due_in_days` after the event (`due_in_hours` for a due time); `stage_age_over: max_days` fires when a deal
has been in a stage longer than the stage's `max_days`."""

from __future__ import annotations

import datetime
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sos.backends.local import LocalBackend
from sos.project import Project
from tests.backends.test_local import apply_blueprint, make_project

NOW = datetime.datetime(2026, 3, 2, 15, 30)
BLUEPRINT = """\
sos: 1
name: client
fields:
  lead:
    partner: {type: checkbox, label: Partner}
pipelines:
  sales:
    label: Sales
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 60}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: nurture, label: Nurture}
  - {key: qualified, label: Qualified, converted: true}
cadences:
  first_touch:
    trigger: {record_created: lead}
    when: not partner
    action: {create_task: {subject: Call the new lead, due_in_hours: 4, priority: high}}
  proposal_plan:
    trigger: {stage_entered: proposal}
    action: {create_task: {subject: Draft the mutual action plan, due_in_days: 2}}
  proposal_alert:
    trigger: {stage_entered: proposal}
    action: {notify: {to: {user: vp@acme.com}, message: A deal reached Proposal}}
  nurture_check:
    trigger: {status_entered: nurture}
    action: {create_task: {subject: Check in again, due_in_days: 90, priority: low}}
  stale:
    trigger: {stage_age_over: max_days}
    action: {create_task: {subject: Stale deal, due_in_days: 1}}
routing:
  - {key: partners, when: partner, assign_to: {user: partners@acme.com}}
  - {key: emea, when: "country in ['Germany', 'France']", assign_to: {round_robin: [eva@acme.com, emil@acme.com]}}
  - {key: everyone, assign_to: {queue: inbound}}
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> LocalBackend:
    project: Project = make_project(tmp_path, BLUEPRINT)
    apply_blueprint(project)
    return LocalBackend(project.target(None), project.root)


def table(sandbox: LocalBackend, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(sandbox.path)) as connection:
        return connection.execute(sql).fetchall()


def lead(sandbox: LocalBackend, **values: object) -> int:
    return sandbox.create_record("lead", {"last_name": "Rep", "company": "Acme", **values}, now=NOW)


def owner(sandbox: LocalBackend, record_id: int) -> str | None:
    return table(sandbox, f"SELECT owner FROM lead WHERE _id = {record_id}")[0][0]


def test_the_first_matching_route_owns_a_new_lead_and_a_round_robin_keeps_its_turn(sandbox: LocalBackend) -> None:
    owners = [owner(sandbox, lead(sandbox, country=country)) for country in ("Germany", "France", "Germany", "Peru")]
    assert owners == ["eva@acme.com", "emil@acme.com", "eva@acme.com", "inbound"]
    assert owner(sandbox, lead(sandbox, partner=True, country="Germany")) == "partners@acme.com"   # first match
    assert owner(sandbox, lead(sandbox, country="Germany", owner="sam@acme.com")) == "sam@acme.com"
    assert owner(sandbox, lead(sandbox, country="France")) == "emil@acme.com"      # the turn went on: eva, emil


def test_a_created_lead_gets_its_first_touch_task_unless_the_cadence_s_when_refuses(sandbox: LocalBackend) -> None:
    called = lead(sandbox, country="France")
    lead(sandbox, partner=True)
    tasks = table(sandbox, "SELECT subject, owner, due_date, priority, what_object, what_id FROM task")
    assert tasks == [("Call the new lead", "eva@acme.com", "2026-03-02T19:30Z", "high", "lead", called)]


def test_entering_a_stage_or_status_fires_its_cadences_once_per_entry(sandbox: LocalBackend) -> None:
    deal = sandbox.create_record("opportunity", {"name": "Acme", "owner": "ana@acme.com", "stage": "discovery",
                                                 "close_date": "2026-04-01"}, now=NOW)
    assert table(sandbox, "SELECT count(*) FROM task")[0][0] == 0
    sandbox.update_record("opportunity", deal, {"stage": "proposal"}, now=NOW)
    sandbox.update_record("opportunity", deal, {"amount": 500}, now=NOW)          # no stage change: nothing fires
    assert table(sandbox, "SELECT subject, owner, due_date, priority FROM task") == [
        ("Draft the mutual action plan", "ana@acme.com", "2026-03-04", "normal")]
    assert table(sandbox, "SELECT cadence, recipient, message, what_id FROM notification") == [
        ("cadence.opportunity.proposal_alert", "vp@acme.com", "A deal reached Proposal", deal)]
    nurtured = lead(sandbox, country="Peru")
    sandbox.update_record("lead", nurtured, {"status": "nurture"}, now=NOW)
    assert table(sandbox, "SELECT subject, owner, due_date, priority FROM task WHERE subject = 'Check in again'") == [
        ("Check in again", "inbound", "2026-05-31", "low")]


def test_time_in_a_stage_fires_once_per_deal_and_stage_as_the_clock_moves(sandbox: LocalBackend) -> None:
    today = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    young = sandbox.create_record("opportunity", {"name": "Young", "owner": "bo@acme.com", "stage": "discovery",
                                                  "close_date": "2030-01-01"}, now=today)
    sandbox.create_record("opportunity", {"name": "Proposal", "owner": "bo@acme.com", "stage": "proposal",
                                          "close_date": "2030-01-01"}, now=today)           # no max_days there
    assert sandbox.tick(14)[1] == 0                                                 # 14 days: not over 14
    day, fired = sandbox.tick(1)
    assert (day, fired) == ((today + datetime.timedelta(days=15)).date(), 1)
    assert table(sandbox, "SELECT subject, owner, what_id FROM task WHERE subject = 'Stale deal'") == [
        ("Stale deal", "bo@acme.com", young)]
    assert sandbox.tick(5)[1] == 0                                                   # once per deal and stage


def test_a_closed_deal_is_never_stale(tmp_path: Path) -> None:
    # A stage's time limit is the days a deal may sit in it "before someone must act" (shared DOMAIN.md, "Deal aging
    # / stage SLA"; Pipedrive rots open deals only): a won or lost deal has nothing left to act on, so a cadence on
    # `stage_age_over: N days` (which applies to every stage, docs/language.md) leaves closed deals alone.
    project = make_project(tmp_path, BLUEPRINT.replace("routing:\n", "  follow_up:\n    trigger: {stage_age_over: 10}\n"
                                                       "    action: {create_task: {subject: Follow up}}\nrouting:\n"))
    apply_blueprint(project)
    sandbox = LocalBackend(project.target(None), project.root)
    today = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    deals = {stage: sandbox.create_record("opportunity", {"name": stage, "owner": "bo@acme.com", "stage": stage,
                                                          "close_date": "2030-01-01"}, now=today)
             for stage in ("proposal", "won", "lost")}
    assert sandbox.tick(11)[1] == 1
    assert table(sandbox, "SELECT subject, what_id FROM task WHERE subject = 'Follow up'") == [
        ("Follow up", deals["proposal"])]


def test_time_in_a_stage_fires_once_its_when_holds_even_if_it_did_not_at_first(tmp_path: Path) -> None:
    # `when` narrows a cadence to the records it holds for (docs/language.md, "cadences"): a deal that grows big while
    # it sits in a stage past its limit is as stale as one that always was, so the cadence fires on the next tick.
    project = make_project(tmp_path, BLUEPRINT.replace("routing:\n", "  big_and_stale:\n"
                                                       "    trigger: {stage_age_over: 10}\n    when: amount > 10000\n"
                                                       "    action: {create_task: {subject: Big and stale}}\n"
                                                       "routing:\n"))
    apply_blueprint(project)
    sandbox = LocalBackend(project.target(None), project.root)
    today = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    deal = sandbox.create_record("opportunity", {"name": "Grows", "owner": "bo@acme.com", "stage": "proposal",
                                                 "amount": 5000, "close_date": "2030-01-01"}, now=today)
    sandbox.tick(11)
    assert table(sandbox, "SELECT what_id FROM task WHERE subject = 'Big and stale'") == []
    sandbox.update_record("opportunity", deal, {"amount": 20000}, now=today + datetime.timedelta(days=11))
    sandbox.tick(1)
    sandbox.tick(1)
    assert table(sandbox, "SELECT what_id FROM task WHERE subject = 'Big and stale'") == [(deal,)]


def test_a_new_lead_without_a_status_starts_in_the_default_one_and_fires_its_cadences(tmp_path: Path) -> None:
    # A lead status marked `default: true` is the one a new lead starts in (docs/language.md, "lead_statuses"), as a
    # CRM puts a picklist's default value on a record created without one: the sandbox's leads start there too, and
    # a cadence on entering that status fires when the lead is created.
    project = make_project(tmp_path, BLUEPRINT.replace("routing:\n", "  welcome:\n    trigger: {status_entered: new}\n"
                                                       "    action: {create_task: {subject: Say hello}}\nrouting:\n"))
    apply_blueprint(project)
    sandbox = LocalBackend(project.target(None), project.root)
    fresh, nurtured = lead(sandbox, country="Peru"), lead(sandbox, country="Peru", status="nurture")
    assert table(sandbox, "SELECT _id, status FROM lead ORDER BY _id") == [(fresh, "new"), (nurtured, "nurture")]
    assert table(sandbox, "SELECT what_id FROM task WHERE subject = 'Say hello'") == [(fresh,)]
