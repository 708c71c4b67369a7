"""The emulator's flows: a deploy refuses what Salesforce refuses in one, an active flow is never deleted, and an
active record-triggered flow creates its Task on a REST write (sources: tests/emulators/salesforce/flows.py)."""

from __future__ import annotations

from typing import Any
from collections.abc import Iterator

import pytest

from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.test_salesforce_emulator import component, deploy, failures, package

Client = Any


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SalesforceEmulator, Client]]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        sf = emulator.client()
        sf.mdapi  # noqa: B018 - the attribute loads the WSDL, once for the module
        yield emulator, sf


def flow(condition: str = "AND(ISPICKVAL({!$Record.StageName}, 'Prospecting'), ISCHANGED({!$Record.StageName}))",
         field: str = "Subject", status: str = "Active", reference: str = "$Record.OwnerId") -> str:
    return component(
        "Flow", "<apiVersion>63.0</apiVersion>", "<label>Follow up</label>",
        "<processType>AutoLaunchedFlow</processType>",
        "<recordCreates><name>Create_Task</name><label>Create Task</label><locationX>1</locationX>"
        "<locationY>1</locationY>"
        f"<inputAssignments><field>OwnerId</field><value><elementReference>{reference}</elementReference></value>"
        "</inputAssignments>"
        "<inputAssignments><field>WhatId</field><value><elementReference>$Record.Id</elementReference></value>"
        "</inputAssignments>"
        f"<inputAssignments><field>{field}</field><value><stringValue>Call</stringValue></value></inputAssignments>"
        "<object>Task</object></recordCreates>",
        "<start><locationX>0</locationX><locationY>0</locationY><connector><targetReference>Create_Task"
        f"</targetReference></connector><filterFormula>{condition}</filterFormula><object>Opportunity</object>"
        "<recordTriggerType>CreateAndUpdate</recordTriggerType><triggerType>RecordAfterSave</triggerType></start>",
        f"<status>{status}</status>")


def deploy_flow(sf: Client, body: str, **files: str) -> tuple[str, list[str | None]]:
    status, raw = deploy(sf, {"package.xml": package({"Flow": ["Follow_Up"]}), "flows/Follow_Up.flow": body,
                              **files})
    return status["state"], [f["problem"] for f in failures(raw)]


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param(flow("ISPICKVAL({!$Record.Stage__c}, 'Prospecting')"),
                 "The formula expression is invalid: Field Stage__c does not exist. Check spelling.",
                 id="unknown-field-in-the-entry-formula"),
    pytest.param(flow("{!$Flow.CurrentDate} > TODAY()"),
                 "The formula expression is invalid: The merge field {!$Flow.CurrentDate} doesn't exist.",
                 id="not-the-records-merge-field"),
    pytest.param(flow(field="Urgency__c"), 'The field "Urgency__c" for the object "Task" doesn\'t exist.',
                 id="unknown-task-field"),
    pytest.param(flow(reference="$Record.Manager__c"),
                 'The element reference "$Record.Manager__c" is invalid: no element or field has that name.',
                 id="unknown-record-field-assigned"),
])
def test_a_flow_naming_what_does_not_exist_is_refused(emulator: SalesforceEmulator, sf: Client, body: str,
                                                      problem: str) -> None:
    assert deploy_flow(sf, body) == ("Failed", [problem])
    assert emulator.org.get("Flow", "Follow_Up") is None


def test_an_element_outside_the_schema_is_refused(emulator: SalesforceEmulator, sf: Client) -> None:
    state, problems = deploy_flow(sf, flow().replace("<status>", "<trigger>Now</trigger><status>"))
    assert state == "Failed" and problems and "trigger" in str(problems[0])


def test_an_active_flow_is_not_deleted_until_switched_off(emulator: SalesforceEmulator, sf: Client) -> None:
    assert deploy_flow(sf, flow()) == ("Succeeded", [])
    gone = {"package.xml": package({}), "destructiveChanges.xml": package({"Flow": ["Follow_Up"]})}
    status, raw = deploy(sf, gone)
    assert (status["state"], [f["problem"] for f in failures(raw)]) == (
        "Failed", ["Unable to delete flow Follow_Up: it is active. Deactivate it before you delete it."])
    switched_off = deploy_flow(sf, flow(status="Obsolete"),
                               **{"destructiveChangesPost.xml": package({"Flow": ["Follow_Up"]})})
    assert switched_off == ("Succeeded", []) and emulator.org.get("Flow", "Follow_Up") is None


def test_an_active_flow_creates_its_task_when_its_formula_holds(emulator: SalesforceEmulator, sf: Client) -> None:
    assert deploy_flow(sf, flow()) == ("Succeeded", [])
    deal = sf.Opportunity.create({"Name": "A", "StageName": "Qualification", "CloseDate": "2027-01-31"})["id"]
    sf.Opportunity.update(deal, {"StageName": "Prospecting"})
    sf.Opportunity.update(deal, {"Name": "B"})          # the stage did not change: the formula is FALSE
    rows = sf.query(f"SELECT Subject, WhatId FROM Task WHERE WhatId = '{deal}'")["records"]
    assert [(row["Subject"], row["WhatId"]) for row in rows] == [("Call", deal)]
    assert deploy_flow(sf, flow(status="Draft")) == ("Succeeded", [])
    other = sf.Opportunity.create({"Name": "C", "StageName": "Qualification", "CloseDate": "2027-01-31"})["id"]
    sf.Opportunity.update(other, {"StageName": "Prospecting"})          # an inactive flow runs for nobody
    assert sf.query(f"SELECT Id FROM Task WHERE WhatId = '{other}'")["totalSize"] == 0
