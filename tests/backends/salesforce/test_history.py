"""The history side of SalesforceBackend (rows, changes, activities) over real HTTPS against the emulator, loaded
with deals and leads that have a past. Every expectation is written from the story the test loads (what changed,
when, by whom), never read back from the org's history objects; the history objects' meaning is the Object
Reference's (tests/emulators/salesforce/history.py quotes it): OpportunityHistory snapshots the major fields at each
change, field history keeps tracked fields only, a lookup's change is kept as ids."""

from __future__ import annotations

import datetime
import pytest

from sos.backends.base import Activity, FieldChange, History
from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.history import OrgHistory
from sos.engine import desired_model
from sos.model.exprs import model_scope
from sos.project import Project
from tests.backends.salesforce.conftest import Recorder
from tests.backends.salesforce.test_records import naming
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.loader import load_record

UTC = datetime.UTC
SINCE = datetime.datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime.datetime:
    """The story's moments: `day` days after 30 September 2026 (day 32 is SINCE's day), at `hour` UTC."""
    return datetime.datetime(2026, 9, 30, hour, tzinfo=UTC) + datetime.timedelta(days=day)


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.fixture
def story(applied: Project, emulator: SalesforceEmulator) -> dict[str, str]:
    """Two deals and a lead with a past, the field history of NextStep and Owner on; its ids by name."""
    org = emulator.org
    org.history_enabled.update({"Opportunity", "Lead"})
    org.tracked_standard.update({"Opportunity": {"NextStep", "OwnerId"}, "Lead": {"Status"}})
    ana, bo = org.add_user("ana@acme.example", "Ana"), org.add_user("bo@acme.example", "Bo")
    ids = {"ana": ana, "bo": bo}
    # An old deal (before SINCE): created in Discovery, moved to Proposal before SINCE, won after it.
    ids["old"] = load_record(org, "Opportunity", {
        "Name": "Old", "StageName": "Discovery", "Amount": 1000, "CloseDate": "2026-11-30", "OwnerId": ana,
        "ForecastCategoryName": "Pipeline"}, created=iso(at(5)), by=ana, updates=[
        (iso(at(20)), ana, {"StageName": "Proposal", "ForecastCategoryName": "Best Case"}),
        (iso(at(33)), bo, {"Amount": 1500, "NextStep": "sign"}),
        (iso(at(40)), bo, {"StageName": "Closed Won", "ForecastCategoryName": "Closed", "OwnerId": bo})])
    # A new deal (after SINCE), its close date pushed once and its Competitor__c (not tracked) filled in.
    ids["new"] = load_record(org, "Opportunity", {
        "Name": "New", "StageName": "Discovery", "Amount": 800, "CloseDate": "2026-12-15", "OwnerId": bo,
        "ForecastCategoryName": "Pipeline", "NextStep": "demo"}, created=iso(at(35)), by=bo, updates=[
        (iso(at(36)), bo, {"CloseDate": "2027-01-15", "Competitor__c": "Globex"}),
        (iso(at(37)), bo, {"NextStep": "proposal"})])
    ids["lead"] = load_record(org, "Lead", {
        "LastName": "Ng", "Company": "Acme", "Status": "New", "OwnerId": ana}, created=iso(at(34)), by=ana, updates=[
        (iso(at(36, 9)), ana, {"Status": "Working"})])
    ids["converted"] = load_record(org, "Lead", {
        "LastName": "Ito", "Company": "Initech", "Status": "Qualified", "OwnerId": bo, "IsConverted": True,
        "ConvertedOpportunityId": ids["new"]}, created=iso(at(2)), by=bo)
    org.add_task("Call", what_id=ids["new"], activity_date="2026-11-08", owner_id=bo, created=iso(at(36, 11)),
                 completed=iso(at(38, 15)))
    org.add_task("Old call", what_id=ids["old"], owner_id=ana, created=iso(at(10)), closed=False)
    org.add_task("Intro", who_id=ids["lead"], activity_date="2026-11-05", owner_id=ana, created=iso(at(34, 12)),
                 closed=False)
    return ids


@pytest.fixture
def history(applied: Project, recorder: Recorder) -> tuple[SalesforceBackend, Project]:
    return SalesforceBackend(applied.target(None), applied.root, sleep=recorder.sleep,
                             progress=recorder.progress), applied


def test_rows_are_the_records_as_they_are_now_in_sos_terms(history: tuple[SalesforceBackend, Project],
                                                          story: dict[str, str]) -> None:
    backend, project = history
    assert isinstance(backend, History)       # what the reports check before reading
    desired = desired_model(project)
    deals = {r["id"]: r for r in backend.rows("opportunity", ["stage", "amount", "close_date", "owner",
                                                               "forecast_category", "competitor", "days_in_stage"],
                                              desired=desired)}
    assert deals[story["old"]] == {
        "id": story["old"], "url": f"{backend.client.instance_url}/lightning/r/Opportunity/{story['old']}/view",
        "stage": "won", "amount": 1500.0, "close_date": datetime.date(2026, 11, 30), "owner": "bo@acme.example",
        "forecast_category": "closed", "competitor": None, "days_in_stage": None}
    assert deals[story["new"]]["competitor"] == "Globex"
    assert deals[story["new"]]["close_date"] == datetime.date(2027, 1, 15)
    leads = {r["id"]: r for r in backend.rows("lead", ["status", "owner", "created_date"], desired=desired)}
    assert leads == {
        story["lead"]: {"id": story["lead"], "url": leads[story["lead"]]["url"], "status": "working",
                        "owner": "ana@acme.example", "created_date": at(34), "converted_deal": None},
        story["converted"]: {"id": story["converted"], "url": leads[story["converted"]]["url"],
                             "status": "qualified", "owner": "bo@acme.example", "created_date": at(2),
                             "converted_deal": story["new"]}}


def test_changes_replay_the_stage_history_and_the_tracked_fields_since_a_date(
        history: tuple[SalesforceBackend, Project], story: dict[str, str]) -> None:
    backend, project = history
    old, new = story["old"], story["new"]
    timeline = backend.changes("opportunity", ["stage", "amount", "close_date", "next_step", "owner", "competitor"],
                               SINCE, desired=desired_model(project))
    expected = {   # the story's changes at or after SINCE; the new deal's creation as changes from nothing
        FieldChange(old, "amount", 1000.0, 1500.0, at(33), "bo@acme.example"),
        FieldChange(old, "next_step", None, "sign", at(33), "bo@acme.example"),
        FieldChange(new, "stage", None, "discovery", at(35), "bo@acme.example"),
        FieldChange(new, "amount", None, 800.0, at(35), "bo@acme.example"),
        FieldChange(new, "close_date", None, datetime.date(2026, 12, 15), at(35), "bo@acme.example"),
        FieldChange(new, "next_step", None, "demo", at(35), "bo@acme.example"),
        FieldChange(new, "owner", None, "bo@acme.example", at(35), "bo@acme.example"),
        FieldChange(new, "close_date", datetime.date(2026, 12, 15), datetime.date(2027, 1, 15), at(36),
                    "bo@acme.example"),
        FieldChange(new, "next_step", "demo", "proposal", at(37), "bo@acme.example"),
        FieldChange(old, "stage", "proposal", "won", at(40), "bo@acme.example"),
        FieldChange(old, "owner", "ana@acme.example", "bo@acme.example", at(40), "bo@acme.example"),
    }
    assert set(timeline.changes) == expected
    assert [c.at for c in timeline.changes] == sorted(c.at for c in timeline.changes)     # oldest first
    assert list(timeline.unavailable) == ["competitor"]
    assert timeline.unavailable["competitor"].startswith(
        "field history is not tracked for Opportunity.Competitor__c: turn on field history tracking for it in Setup")


def test_lead_status_changes_and_tasks_by_record(history: tuple[SalesforceBackend, Project],
                                                story: dict[str, str]) -> None:
    backend, project = history
    timeline = backend.changes("lead", ["status", "owner"], SINCE, desired=desired_model(project))
    assert set(timeline.changes) == {
        FieldChange(story["lead"], "status", None, "new", at(34), "ana@acme.example"),
        FieldChange(story["lead"], "status", "new", "working", at(36, 9), "ana@acme.example")}
    assert "OwnerId" in timeline.unavailable["owner"]          # Lead owner is not tracked in this org
    assert list(backend.activities("opportunity", SINCE)) == [   # the old deal's task is from before SINCE
        Activity(task_id(backend, "Call"), story["new"], "Call", "bo@acme.example", at(36, 11),
                 datetime.date(2026, 11, 8), at(38, 15))]
    [intro] = backend.activities("lead", SINCE)
    assert (intro.record, intro.subject, intro.owner, intro.due, intro.completed, intro.cadence) == (
        story["lead"], "Intro", "ana@acme.example", datetime.date(2026, 11, 5), None, None)


def task_id(backend: SalesforceBackend, subject: str) -> str:
    [task] = backend.client.query(f"SELECT Id FROM Task WHERE Subject = '{subject}'")
    return str(task["Id"])


def test_a_bulk_read_gives_the_same_answers_as_pages(history: tuple[SalesforceBackend, Project],
                                                     story: dict[str, str], emulator: SalesforceEmulator) -> None:
    backend, project = history
    model = desired_model(project)
    fields = ["stage", "amount", "close_date", "next_step", "owner"]

    def reader(threshold: int) -> OrgHistory:
        return OrgHistory(backend.client, {"opportunity": model_scope(model, "opportunity")},
                          {"opportunity": naming(model, "opportunity")}, bulk_threshold=threshold)

    paged, bulk = reader(10_000), reader(0)
    emulator.calls.clear()
    by_pages = (sorted(map(repr, paged.rows("opportunity", fields))), paged.changes("opportunity", fields, SINCE))
    assert "bulkQueryCreate" not in emulator.calls
    by_bulk = (sorted(map(repr, bulk.rows("opportunity", fields))), bulk.changes("opportunity", fields, SINCE))
    # rows, OpportunityHistory, OpportunityFieldHistory, the new deal's values: one query job each
    assert emulator.calls["bulkQueryCreate"] == 4
    assert by_bulk == by_pages
