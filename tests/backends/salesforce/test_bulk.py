"""Past a threshold of records, the checks SOQL cannot say read the object with one Bulk API 2.0 query job (over
real HTTPS against the emulator): the counts equal the REST path's and an independent evaluation's, the calls do
not grow with the records, and a failed job or a fault mid-poll is retried or one clear error."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest

from sos.backends.base import Tally
from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.client import MAX_POLLS, poll_waits
from sos.backends.salesforce.records import BULK_THRESHOLD, RecordCounter
from sos.errors import SosError
from sos.model.checks import Check, checks_of
from sos.model.resources import Model
from sos.project import Project
from tests.backends.salesforce.conftest import Recorder, blueprint_text
from tests.backends.salesforce.test_faults import oauth_env
from tests.backends.salesforce.test_records import (GENERATED, TODAY, applied, check_on, expected, load, naming,
                                                    shape, soql_says)
from tests.emulators.salesforce import SalesforceEmulator


def counted(backend: SalesforceBackend, model: Model, checks: Sequence[Check], *, threshold: int,
            top: int = 5) -> list[Tally]:
    """The tally SalesforceBackend.tally makes, with records read by a Bulk API job past `threshold`."""
    namings = {obj: naming(model, obj) for obj in {c.object for c in checks}}
    return RecordCounter(backend.client, namings, top=top, today=TODAY, bulk_threshold=threshold).tally(checks)


def one_check(make_project: Callable[..., Project], emulator: SalesforceEmulator, text: str,
              per_object: int) -> tuple[Project, Model, Check, list[dict[str, object]]]:
    """The smb-bant starter applied, a written check of `text` and `per_object` opportunities (and leads) loaded."""
    project, model = applied(make_project, blueprint_text("smb-bant"))
    check = check_on(model, text)
    return project, model, check, load(emulator, model, [check], per_object=per_object)["opportunity"]


def with_written(model: Model) -> list[Check]:
    """The starter's checks and written ones, several of them beyond SOQL."""
    return list(checks_of(model)) + [check_on(model, text) for text in GENERATED]


def test_bulk_reads_count_what_paged_reads_and_an_independent_evaluation_count(
        make_project: Callable[..., Project], emulator: SalesforceEmulator,
        backend_for: Callable[..., SalesforceBackend], recorder: Recorder) -> None:
    project, model = applied(make_project, blueprint_text("services-agency"))
    checks = with_written(model)
    records = load(emulator, model, checks, per_object=400)
    backend = backend_for(project)
    emulator.calls.clear()
    by_bulk = counted(backend, model, checks, threshold=399)
    assert emulator.calls["bulkQueryCreate"] == 1 and "queryMore" not in emulator.calls   # the opportunities
    paged = counted(backend, model, checks, threshold=400)
    assert [shape(t) for t in by_bulk] == [shape(t) for t in paged] == [
        expected(c, records[c.object], 5) for c in checks]
    assert sum(t.total for t in by_bulk) > 0 and sum(not soql_says(c, model) for c in checks) > len(GENERATED) // 2
    assert "Reading 400 Opportunity records with Bulk API query job 750Em0000000001AAA… JobComplete" in recorder.lines


def test_bulk_calls_do_not_grow_with_the_records(make_project: Callable[..., Project], emulator: SalesforceEmulator,
                                                 backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = [check_on(model, text) for text in GENERATED]
    calls = []
    for count in (300, 4500):   # REST would read 1 page, then 3
        emulator.org.records["Opportunity"].clear()
        load(emulator, model, checks, per_object=count)
        emulator.calls.clear()
        counted(backend_for(project), model, checks, threshold=200, top=10)
        calls.append(dict(emulator.calls))
    assert calls[0] == calls[1] == {"composite": calls[0]["composite"], "query": 1,   # COUNT()
                                    "bulkQueryCreate": 1, "bulkQueryJob": 1, "bulkQueryResults": 1}


def test_the_threshold_decides_between_paged_and_bulk_reads(make_project: Callable[..., Project],
                                                            emulator: SalesforceEmulator,
                                                            backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model, check, _ = one_check(make_project, emulator, "close_date < created_date", 120)
    emulator.calls.clear()
    backend_for(project).tally([check], top=0, today=TODAY, desired=model)
    assert dict(emulator.calls) == {"query": 2}   # COUNT(), then one page: 120 is below BULK_THRESHOLD
    assert BULK_THRESHOLD > 120


def test_past_the_threshold_an_audit_reads_with_one_job(make_project: Callable[..., Project],
                                                       emulator: SalesforceEmulator,
                                                       backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model, check, records = one_check(make_project, emulator, "close_date < created_date",
                                               BULK_THRESHOLD + 1)
    emulator.calls.clear()
    (tally,) = backend_for(project).tally([check], top=3, today=TODAY, desired=model)
    assert shape(tally) == expected(check, records, 3)
    assert dict(emulator.calls) == {"query": 1, "bulkQueryCreate": 1, "bulkQueryJob": 1, "bulkQueryResults": 1}


def test_a_job_polled_until_it_is_done_waits_with_bounded_backoff(
        make_project: Callable[..., Project], emulator: SalesforceEmulator,
        backend_for: Callable[..., SalesforceBackend], recorder: Recorder) -> None:
    project, model, check, records = one_check(make_project, emulator, "days_since(close_date) > 3", 50)
    emulator.bulk_polls = 7
    (tally,) = counted(backend_for(project), model, [check], threshold=10)
    assert shape(tally) == expected(check, records, 5)
    waits = poll_waits()
    assert recorder.sleeps == [waits(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert [line.rsplit("… ", 1)[1] for line in recorder.lines if "Bulk API" in line] == ["InProgress"] * 6 + [
        "JobComplete"]


def test_a_failed_job_is_one_clear_error(make_project: Callable[..., Project], emulator: SalesforceEmulator,
                                         backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model, check, _ = one_check(make_project, emulator, "close_date < created_date", 30)
    emulator.faults.fail_bulk_queries(problem="InternalServerError : retried more than 15 times")
    with pytest.raises(SosError) as raised:
        counted(backend_for(project), model, [check], threshold=10)
    (problem,) = raised.value.diagnostics
    assert (problem.code, problem.message, problem.fix) == (
        "sf-bulk-query-failed", "Salesforce's Bulk API query job 750Em0000000001AAA ended Failed: "
        "InternalServerError : retried more than 15 times",
        "run the command again; if it fails again, see the job in Setup → Bulk Data Load Jobs")


def test_a_job_that_never_finishes_gives_up_after_the_status_checks(
        make_project: Callable[..., Project], emulator: SalesforceEmulator,
        backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model, check, _ = one_check(make_project, emulator, "close_date < created_date", 30)
    emulator.bulk_polls = 10**6
    with pytest.raises(SosError) as raised:
        counted(backend_for(project), model, [check], threshold=10)
    (problem,) = raised.value.diagnostics
    assert (problem.code, problem.message) == (
        "sf-bulk-query-stalled", f"Salesforce has not finished Bulk API query job 750Em0000000001AAA after "
                                 f"{MAX_POLLS} status checks")
    assert emulator.calls["bulkQueryJob"] == MAX_POLLS


@pytest.mark.parametrize(("fault", "sleeps"), [
    pytest.param(lambda e: e.faults.rate_limit(times=1, status=503, operations={"bulkQueryJob"}), [1.0, 2.0],
                 id="unavailable-mid-poll"),
    pytest.param(lambda e: e.faults.expire_session(times=1, operations={"bulkQueryJob"}), [1.0],
                 id="expired-session-mid-poll"),
    pytest.param(lambda e: e.faults.rate_limit(times=1, status=429, operations={"bulkQueryResults"}), [1.0, 2.0],
                 id="rate-limit-on-results"),
])
def test_a_fault_mid_poll_is_retried_and_counts_the_same(
        fault: Callable[[SalesforceEmulator], None], sleeps: list[float], make_project: Callable[..., Project],
        emulator: SalesforceEmulator, recorder: Recorder, backend_for: Callable[..., SalesforceBackend],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project, model, check, records = one_check(make_project, emulator,    # beyond SOQL: days_since()
                                               "amount > 1000 and days_since(close_date) >= 10", 60)
    oauth_env(emulator, monkeypatch)   # a login that can be renewed when the session expires
    emulator.bulk_polls = 2
    fault(emulator)
    backend = backend_for(project, session=emulator.login_session())
    (tally,) = counted(backend, model, [check], threshold=10)
    assert shape(tally) == expected(check, records, 5)
    assert sorted(recorder.sleeps) == sorted(sleeps)


def test_a_connection_lost_mid_poll_is_one_clear_error(make_project: Callable[..., Project],
                                                       emulator: SalesforceEmulator,
                                                       backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model, check, _ = one_check(make_project, emulator, "close_date < created_date", 30)
    emulator.faults.drop_connection(times=1, operations={"bulkQueryJob"})
    with pytest.raises(SosError) as raised:
        counted(backend_for(project), model, [check], threshold=10)
    (problem,) = raised.value.diagnostics
    assert (problem.code, re.sub(r"\d+", "N", problem.message)) == (
        "sf-unreachable", "could not reach Salesforce at https://N.N.N.N:N during bulkQueryJob: ConnectionError")
    assert emulator.access_token not in str(problem)
