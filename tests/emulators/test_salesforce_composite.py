"""The emulator's Composite API (POST /services/data/vNN.N/composite) through simple-salesforce's `restful`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceGeneralError,
                                          SalesforceMalformedRequest)

from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.server import API_VERSION

Client = Any
DATA = f"/services/data/v{API_VERSION}"
COUNTS = {"open": "SELECT COUNT() FROM Opportunity WHERE IsClosed = false",
          "won": "SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won'",
          "prospecting": "SELECT COUNT() FROM Opportunity WHERE StageName = 'Prospecting'"}


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SalesforceEmulator, Client]]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        yield emulator, emulator.client()


def composite(sf: Client, subrequests: list[dict[str, object]], **options: object) -> list[dict[str, Any]]:
    answer = sf.restful("composite", method="POST", json={**options, "compositeRequest": subrequests})
    return answer["compositeResponse"]


def query(reference_id: str, soql: str) -> dict[str, object]:
    return {"method": "GET", "url": f"{DATA}/query?q={soql}", "referenceId": reference_id}


def create(reference_id: str, obj: str, body: dict[str, object]) -> dict[str, object]:
    return {"method": "POST", "url": f"{DATA}/sobjects/{obj}", "referenceId": reference_id, "body": body}


def test_counts_of_several_queries_in_one_call_equal_the_separate_queries(emulator: SalesforceEmulator,
                                                                         sf: Client) -> None:
    emulator.org.seed_opportunities({"Prospecting": 3, "Closed Won": 2, "Negotiation/Review": 1})
    separate = {name: sf.query(soql)["totalSize"] for name, soql in COUNTS.items()}
    emulator.calls.clear()
    results = composite(sf, [query(name, soql) for name, soql in COUNTS.items()])
    assert {r["referenceId"]: r["body"]["totalSize"] for r in results} == separate == \
        {"open": 4, "won": 2, "prospecting": 3}
    assert [r["httpStatusCode"] for r in results] == [200, 200, 200]
    assert dict(emulator.calls) == {"composite": 1}


def test_a_composite_call_counts_as_one_api_call(emulator: SalesforceEmulator, sf: Client) -> None:
    # "The entire series of requests counts as a single call toward your API limits" (Composite resource docs)
    composite(sf, [query(f"q{i}", COUNTS["open"]) for i in range(5)]
              + [create(f"a{i}", "Account", {"Name": f"Account {i}"}) for i in range(20)])
    assert emulator.api_usage == 1
    assert sf.api_usage["api-usage"].used == 1   # what the Sforce-Limit-Info header told the client


def test_references_carry_an_id_into_later_subrequests(emulator: SalesforceEmulator, sf: Client) -> None:
    results = composite(sf, [
        create("acme", "Account", {"Name": "Acme"}),
        create("deal", "Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting",
                                       "CloseDate": "2027-01-31", "AccountId": "@{acme.id}"}),
        {"method": "GET", "url": f"{DATA}/sobjects/Opportunity/@{{deal.id}}", "referenceId": "read"},
        query("found", "SELECT Id FROM Account WHERE Name = 'Acme'"),
        {"method": "PATCH", "url": f"{DATA}/sobjects/Account/@{{found.records[0].Id}}", "referenceId": "rename",
         "body": {"Name": "Acme Corp"}},
    ])
    account_id, deal_id = results[0]["body"]["id"], results[1]["body"]["id"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200, 200, 204]
    assert results[0]["httpHeaders"] == {"Location": f"{DATA}/sobjects/Account/{account_id}"}
    assert results[2]["body"]["AccountId"] == account_id
    assert emulator.org.records["Opportunity"][deal_id]["AccountId"] == account_id
    assert emulator.org.records["Account"][account_id]["Name"] == "Acme Corp"


def test_all_or_none_rolls_back_and_halts_the_others(emulator: SalesforceEmulator, sf: Client) -> None:
    [deal_id] = emulator.org.seed_opportunities({"Prospecting": 1})
    before = {obj: dict(records) for obj, records in emulator.org.records.items()}
    results = composite(sf, [
        create("acme", "Account", {"Name": "Acme"}),
        {"method": "PATCH", "url": f"{DATA}/sobjects/Opportunity/{deal_id}", "referenceId": "move",
         "body": {"StageName": "Closed Won"}},
        create("bad", "Account", {"Nmae": "typo"}),
        query("after", COUNTS["open"]),
    ], allOrNone=True)
    halted = [{"errorCode": "PROCESSING_HALTED",
               "message": "The transaction was rolled back since another operation in the same transaction failed."}]
    assert results == [
        {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "acme"},
        {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "move"},
        {"body": [{"message": "No such column 'Nmae' on sobject of type Account", "errorCode": "INVALID_FIELD"}],
         "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "bad"},
        {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "after"},
    ]
    assert emulator.org.records == before


def test_without_all_or_none_the_others_run_and_dependents_are_halted(emulator: SalesforceEmulator,
                                                                       sf: Client) -> None:
    results = composite(sf, [
        create("bad", "Account", {"Nmae": "typo"}),
        create("contact", "Contact", {"LastName": "Lee", "AccountId": "@{bad.id}"}),
        create("good", "Account", {"Name": "Acme"}),
        query("later", "SELECT Id FROM Account WHERE Name = '@{nowhere.id}'"),
        query("typo", "SELECT Id FROM Acount"),
    ])
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201, 400, 400]
    assert results[4]["body"][0]["errorCode"] == "INVALID_TYPE"
    assert results[1]["body"] == [{"errorCode": "PROCESSING_HALTED", "message": (
        "Invalid reference specified. No value for bad.id found in bad. Provided referenceId (bad) must be an "
        "earlier subrequest that succeeded.")}]
    assert results[3]["body"][0]["message"].startswith("Invalid reference specified. No value for nowhere.id")
    assert [r["Name"] for r in emulator.org.records["Account"].values()] == ["Acme"]
    assert emulator.org.records["Contact"] == {}


@pytest.mark.parametrize(("subrequests", "code", "message"), [
    pytest.param([query(f"q{i}", COUNTS["open"]) for i in range(25)], "LIMIT_EXCEEDED",
                 "Limit Exceeded: a composite request can hold at most 25 subrequests, not 26", id="too-many"),
    pytest.param([query(f"q{i}", COUNTS["open"]) for i in range(6)], "LIMIT_EXCEEDED",
                 "Limit Exceeded: a composite request can hold at most 5 query subrequests, not 6",
                 id="too-many-queries"),
    pytest.param([{"method": "GET", "url": f"{DATA}/limits", "referenceId": "limits"}], "INVALID_API_INPUT",
                 f"The url of subrequest limits is not supported by composite: {DATA}/limits "
                 f"(only {DATA}/query and /sobjects resources)", id="unsupported-url"),
    pytest.param([{"method": "GET", "url": "/services/data/v62.0/query?q=SELECT Id FROM Account",
                   "referenceId": "old"}], "INVALID_API_INPUT",
                 "The url of subrequest old is not supported by composite: /services/data/v62.0/query?q=SELECT Id "
                 f"FROM Account (only {DATA}/query and /sobjects resources)", id="other-version"),
    pytest.param([{"method": "POST", "url": f"{DATA}/composite", "referenceId": "nested"}], "INVALID_API_INPUT",
                 f"The url of subrequest nested is not supported by composite: {DATA}/composite "
                 f"(only {DATA}/query and /sobjects resources)", id="nested-composite"),
    pytest.param([query("a-b", COUNTS["open"])], "INVALID_API_INPUT",
                 "Invalid referenceId 'a-b': use letters, digits and underscores, once per request", id="bad-ref-id"),
    pytest.param([query("twice", COUNTS["open"]), query("twice", COUNTS["won"])], "INVALID_API_INPUT",
                 "Invalid referenceId 'twice': use letters, digits and underscores, once per request",
                 id="duplicate-ref-id"),
    pytest.param([{**query("q", COUNTS["open"]), "httpHeaders": {"Authorization": "Bearer x"}}], "INVALID_API_INPUT",
                 "Subrequest q may not set Accept, Authorization or Content-Type: they come from the composite "
                 "request", id="inherited-header"),
])
def test_a_request_that_cannot_run_is_refused_whole(emulator: SalesforceEmulator, sf: Client,
                                                     subrequests: list[dict[str, object]], code: str,
                                                     message: str) -> None:
    emulator.org.seed_opportunities({"Prospecting": 1})
    before = {obj: dict(records) for obj, records in emulator.org.records.items()}
    with pytest.raises(SalesforceMalformedRequest) as refused:
        composite(sf, subrequests + [create("acme", "Account", {"Name": "Acme"})])
    content: Any = refused.value.content
    assert content == [{"message": message, "errorCode": code}]
    assert emulator.org.records == before


def test_faults_apply_to_the_composite_call_as_a_whole(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.faults.expire_session(times=1, operations={"composite"})
    emulator.faults.rate_limit(times=1, status=503, operations={"composite"})
    with pytest.raises(SalesforceExpiredSession):
        composite(sf, [create("acme", "Account", {"Name": "Acme"})])
    with pytest.raises(SalesforceGeneralError) as unavailable:
        composite(sf, [create("acme", "Account", {"Name": "Acme"})])
    assert unavailable.value.status == 503
    assert emulator.org.records["Account"] == {}
    assert emulator.api_usage == 0
    results = composite(sf, [create("acme", "Account", {"Name": "Acme"})])
    assert results[0]["httpStatusCode"] == 201
    assert emulator.call_log == ["composite", "composite", "composite"]


def test_a_group_by_answer_past_one_batch_is_refused_and_one_within_it_answered(emulator: SalesforceEmulator,
                                                                               sf: Client) -> None:
    # SOQL and SOSL Reference, "Considerations When Using GROUP BY": no queryMore() for GROUP BY
    for index in range(2001):
        emulator.org.add_record("Opportunity", {"StageName": "Prospecting", "Name": f"Deal {index}"})
    grouped = "SELECT Name, COUNT(Id) n FROM Opportunity GROUP BY Name"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(grouped)
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    answer = sf.query(f"{grouped} LIMIT 2000")
    assert (answer["totalSize"], answer["done"], answer["records"][0]["n"]) == (2000, True, 1)
