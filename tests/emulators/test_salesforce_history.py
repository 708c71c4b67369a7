"""The emulated org's history objects through simple-salesforce over real HTTPS: what Salesforce writes by itself on
an Opportunity or Lead create and update (Object Reference: OpportunityHistory, OpportunityFieldHistory,
LeadHistory; tests/emulators/salesforce/history.py quotes them), and that the API cannot write them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.org import USER_ID


@pytest.fixture(scope="module")
def running() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        yield emulator


@pytest.fixture
def sf(running: SalesforceEmulator) -> Any:
    running.reset()
    return running.client()


def test_every_change_of_a_major_field_writes_an_opportunity_history_snapshot(sf: Any) -> None:
    made = sf.Opportunity.create({"Name": "Acme", "StageName": "Prospecting", "CloseDate": "2026-12-31",
                                  "Amount": 1000})["id"]
    sf.Opportunity.update(made, {"Amount": 2500})
    sf.Opportunity.update(made, {"NextStep": "call"})          # not a major field: no snapshot
    sf.Opportunity.update(made, {"StageName": "Closed Won"})
    rows = sf.query(f"SELECT StageName, Amount, CloseDate, Probability, ForecastCategory, CreatedBy.Username "
                    f"FROM OpportunityHistory WHERE OpportunityId = '{made}' ORDER BY CreatedDate")["records"]
    assert [(r["StageName"], r["Amount"], r["ForecastCategory"]) for r in rows] == [
        ("Prospecting", 1000, "Pipeline"), ("Prospecting", 2500, "Pipeline"), ("Closed Won", 2500, "Closed")]
    assert {r["CreatedBy"]["Username"] for r in rows} == {"integration@emulator.example"}


def test_field_history_is_written_only_for_tracked_fields_of_an_object_with_history_on(
        running: SalesforceEmulator, sf: Any) -> None:
    made = sf.Lead.create({"LastName": "Ng", "Company": "Acme"})["id"]
    sf.Lead.update(made, {"Status": "Working - Contacted"})
    assert sf.query("SELECT Id FROM LeadHistory")["totalSize"] == 0        # history off: nothing kept

    running.org.history_enabled.add("Lead")
    running.org.tracked_standard["Lead"] = {"Status", "OwnerId"}
    other = running.org.add_user("bo@acme.example", "Bo")
    tracked = sf.Lead.create({"LastName": "Ma", "Company": "Acme"})["id"]
    sf.Lead.update(tracked, {"Status": "Working - Contacted", "Title": "CFO"})    # Title is not tracked
    sf.Lead.update(tracked, {"OwnerId": other})
    rows = sf.query(f"SELECT Field, DataType, OldValue, NewValue FROM LeadHistory WHERE LeadId = '{tracked}' "
                    "ORDER BY CreatedDate")["records"]
    assert [(r["Field"], r["DataType"], r["OldValue"], r["NewValue"]) for r in rows] == [
        ("created", None, None, None),
        ("Status", "Picklist", "Open - Not Contacted", "Working - Contacted"),
        ("Owner", "EntityId", USER_ID, other),
        ("Owner", "Text", "Integration User", "Bo Rep")]
    fields = sf.restful("tooling/query", params={"q": "SELECT QualifiedApiName, IsFieldHistoryTracked FROM "
                                                      "FieldDefinition WHERE EntityDefinitionId = 'Lead'"})
    assert {r["QualifiedApiName"] for r in fields["records"] if r["IsFieldHistoryTracked"]} == {"Status", "OwnerId"}


@pytest.mark.parametrize("table", ["OpportunityHistory", "OpportunityFieldHistory", "LeadHistory"])
def test_the_history_objects_are_read_only(sf: Any, table: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        getattr(sf, table).create({"Field": "StageName"})
    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert "entity type cannot be inserted" in refused.value.content[0]["message"]


def test_a_deployed_object_file_turns_history_on_for_the_custom_fields_it_tracks(
        running: SalesforceEmulator, sf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.emulators.salesforce.deploy import DeployOptions, run
    from tests.emulators.salesforce.schema import load_schema
    from tests.emulators.test_salesforce_emulator import component, package, zipped

    tracked = ("<fields><fullName>Competitor__c</fullName><label>Competitor</label><length>120</length>"
               "<trackHistory>true</trackHistory><type>Text</type></fields>")
    untracked = ("<fields><fullName>Region__c</fullName><label>Region</label><length>40</length><type>Text</type>"
                 "</fields>")
    files = {"package.xml": package({"CustomObject": ["Opportunity"]}),
             "objects/Opportunity.object": component("CustomObject", "<enableHistory>true</enableHistory>", tracked,
                                                     untracked)}
    outcome = run(running.org, zipped(files).getvalue(), DeployOptions(), load_schema(), inject=lambda *_: None)
    assert outcome.success, outcome.failures
    monkeypatch.setattr(running, "field_security", False)     # field access is not what this test is about
    made = sf.Opportunity.create({"Name": "Acme", "StageName": "Prospecting", "CloseDate": "2026-12-31"})["id"]
    sf.Opportunity.update(made, {"Competitor__c": "Globex", "Region__c": "EMEA"})
    rows = sf.query(f"SELECT Field, OldValue, NewValue FROM OpportunityFieldHistory WHERE OpportunityId = '{made}'")
    assert sorted((r["Field"], r["OldValue"], r["NewValue"]) for r in rows["records"]) == [
        ("Competitor__c", None, "Globex"), ("created", None, None)]
