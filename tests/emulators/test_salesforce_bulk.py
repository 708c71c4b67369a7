"""The emulator's Bulk API 2.0 query jobs (/services/data/vNN.N/jobs/query) through simple-salesforce's `restful`
and its requests session: created, polled to JobComplete or Failed, results as CSV in sets; refusals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceError, SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.emulators.salesforce import SalesforceEmulator

Client = Any
SELECT = "SELECT Id, Name, Owner.Username, Amount, IsClosed, CloseDate, CreatedDate FROM Opportunity"


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SalesforceEmulator, Client]]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        yield emulator, emulator.client()


def create(sf: Client, soql: str) -> dict[str, Any]:
    return dict(sf.restful("jobs/query", method="POST", json={"operation": "query", "query": soql}))


def results(sf: Client, job_id: str, **params: object) -> tuple[list[list[str]], dict[str, str]]:
    answer = sf._call_salesforce("GET", f"{sf.base_url}jobs/query/{job_id}/results", params=params)
    return list(csv.reader(io.StringIO(answer.text))), dict(answer.headers)


def seeded(emulator: SalesforceEmulator, count: int) -> list[str]:
    owner = emulator.org.add_user("ana@acme.example")
    return [emulator.org.add_record("Opportunity", {
        "Name": f'Deal "{index}", Inc', "OwnerId": owner, "StageName": "Prospecting",
        "Amount": None if index % 2 else 1000 * index, "CloseDate": "2026-12-31",
        "CreatedDate": "2026-06-01T08:30:00.000Z"}) for index in range(count)]


def test_a_query_job_runs_from_upload_complete_to_job_complete(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.bulk_polls = 2
    seeded(emulator, 3)
    job = create(sf, SELECT)
    states = [job["state"]] + [sf.restful(f"jobs/query/{job['id']}")["state"] for _ in range(3)]
    assert job["id"].startswith("750") and (job["operation"], job["object"], job["contentType"]) == (
        "query", "Opportunity", "CSV")
    assert states == ["UploadComplete", "InProgress", "JobComplete", "JobComplete"]
    assert dict(emulator.calls) == {"bulkQueryCreate": 1, "bulkQueryJob": 3}


def test_results_are_csv_with_nulls_empty_checkboxes_dates_and_relationship_columns(emulator: SalesforceEmulator,
                                                                                     sf: Client) -> None:
    ids = seeded(emulator, 2)
    job = create(sf, SELECT)
    sf.restful(f"jobs/query/{job['id']}")
    rows, headers = results(sf, job["id"])
    assert rows == [
        ["Id", "Name", "Owner.Username", "Amount", "IsClosed", "CloseDate", "CreatedDate"],
        [ids[0], 'Deal "0", Inc', "ana@acme.example", "0", "false", "2026-12-31", "2026-06-01T08:30:00.000Z"],
        [ids[1], 'Deal "1", Inc', "ana@acme.example", "", "false", "2026-12-31", "2026-06-01T08:30:00.000Z"]]
    assert (headers["Content-Type"], headers["Sforce-NumberOfRecords"], headers["Sforce-Locator"]) == (
        "text/csv", "2", "null")


def test_max_records_splits_the_results_into_sets_the_locator_names(emulator: SalesforceEmulator,
                                                                    sf: Client) -> None:
    ids = seeded(emulator, 5)
    job = create(sf, SELECT)
    sf.restful(f"jobs/query/{job['id']}")
    read, sets, locator = [], [], None
    while locator != "null":
        rows, headers = results(sf, job["id"], maxRecords=2, **({"locator": locator} if locator else {}))
        read += [row[0] for row in rows[1:]]
        sets.append(int(headers["Sforce-NumberOfRecords"]))
        locator = headers["Sforce-Locator"]
    assert (read, sets) == (ids, [2, 2, 1])


@pytest.mark.parametrize("soql", ["SELECT COUNT() FROM Opportunity",
                                  "SELECT StageName, COUNT(Id) n FROM Opportunity GROUP BY StageName",
                                  "SELECT Id FROM Opportunity LIMIT 5 OFFSET 2"])
def test_aggregates_group_by_and_offset_are_refused(soql: str, emulator: SalesforceEmulator, sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        create(sf, soql)
    assert raised.value.content == [{"message": "Aggregate queries, GROUP BY and OFFSET are not supported by Bulk "
                                                "API 2.0 query jobs", "errorCode": "API_ERROR"}]


def test_soql_the_rest_query_refuses_is_refused_alike(emulator: SalesforceEmulator, sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        create(sf, "SELECT Id, Budget__c FROM Opportunity")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Budget__c' on entity 'Opportunity'" in raised.value.content[0]["message"]


def test_an_unknown_job_is_not_found_and_results_wait_for_job_complete(emulator: SalesforceEmulator,
                                                                        sf: Client) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("jobs/query/750Em0000000099AAA")
    job = create(sf, SELECT)
    with pytest.raises(SalesforceError) as raised:
        results(sf, job["id"])
    assert (raised.value.status, raised.value.content[0]["message"]) == (
        409, "The job is in the state UploadComplete, not JobComplete")


def test_a_scheduled_failure_ends_the_job_failed_with_its_error_message(emulator: SalesforceEmulator,
                                                                        sf: Client) -> None:
    emulator.faults.fail_bulk_queries(problem="InternalServerError : retried more than 15 times")
    failed = create(sf, SELECT)
    polled = sf.restful(f"jobs/query/{failed['id']}")
    assert (polled["state"], polled["errorMessage"]) == ("Failed", "InternalServerError : retried more than 15 times")
    after = create(sf, SELECT)   # one job failed, as scheduled; the next runs
    assert sf.restful(f"jobs/query/{after['id']}")["state"] == "JobComplete"


def test_rest_faults_reach_bulk_calls_by_their_operation(emulator: SalesforceEmulator, sf: Client) -> None:
    job = create(sf, SELECT)
    emulator.faults.rate_limit(times=1, status=503, operations={"bulkQueryJob"})
    with pytest.raises(SalesforceError) as raised:
        sf.restful(f"jobs/query/{job['id']}")
    assert raised.value.status == 503
    assert sf.restful(f"jobs/query/{job['id']}")["state"] == "JobComplete"
