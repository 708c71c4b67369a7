"""The emulator's flows: a deploy refuses what Salesforce refuses in one, an active flow is never deleted, and an
active record-triggered flow creates its Task on a REST write (sources: tests/emulators/salesforce/flows.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
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


# -- notifications (Actions Developer Guide, "Custom Notification Actions"; Metadata API, CustomNotificationType) --

NOTIFICATION_TYPE = component("CustomNotificationType", "<customNotifTypeName>Deal alerts</customNotifTypeName>",
                              "<desktop>true</desktop>", "<masterLabel>Deal alerts</masterLabel>",
                              "<mobile>false</mobile>")
INPUTS = {"customNotifTypeId": "<elementReference>Get_Type.Id</elementReference>",
          "recipientIds": "<elementReference>Recipients</elementReference>",
          "title": "<elementReference>$Record.Name</elementReference>",
          "body": "<stringValue>Check the paper process</stringValue>",
          "targetId": "<elementReference>$Record.Id</elementReference>"}


def notify_flow(inputs: dict[str, str] = INPUTS, recipient: str = "<elementReference>$Record.OwnerId"
                "</elementReference>", lookup_field: str = "DeveloperName", type_name: str = "Deal_Alerts") -> str:
    parameters = "".join(f"<inputParameters><name>{name}</name><value>{value}</value></inputParameters>"
                         for name, value in inputs.items())
    return component(
        "Flow", "<actionCalls><name>Send</name><label>Send</label><locationX>1</locationX><locationY>3</locationY>"
        "<actionName>customNotificationAction</actionName><actionType>customNotificationAction</actionType>"
        f"{parameters}</actionCalls>", "<apiVersion>63.0</apiVersion>",
        "<assignments><name>Add</name><label>Add</label><locationX>1</locationX><locationY>2</locationY>"
        f"<assignmentItems><assignToReference>Recipients</assignToReference><operator>Add</operator><value>{recipient}"
        "</value></assignmentItems><connector><targetReference>Send</targetReference></connector></assignments>",
        "<label>Alert</label>", "<processType>AutoLaunchedFlow</processType>",
        "<recordLookups><name>Get_Type</name><label>Get Type</label><locationX>1</locationX><locationY>1</locationY>"
        "<connector><targetReference>Add</targetReference></connector>"
        f"<filters><field>{lookup_field}</field><operator>EqualTo</operator><value><stringValue>{type_name}"
        "</stringValue></value></filters><getFirstRecordOnly>true</getFirstRecordOnly>"
        "<object>CustomNotificationType</object><storeOutputAutomatically>true</storeOutputAutomatically>"
        "</recordLookups>",
        "<start><locationX>0</locationX><locationY>0</locationY><connector><targetReference>Get_Type"
        "</targetReference></connector><filterFormula>ISPICKVAL({!$Record.StageName}, 'Prospecting')</filterFormula>"
        "<object>Opportunity</object><recordTriggerType>CreateAndUpdate</recordTriggerType>"
        "<triggerType>RecordAfterSave</triggerType></start>", "<status>Active</status>",
        "<variables><name>Recipients</name><dataType>String</dataType><isCollection>true</isCollection>"
        "<isInput>false</isInput><isOutput>false</isOutput></variables>")


def deploy_notify(sf: Client, body: str, notification_type: str = NOTIFICATION_TYPE) -> tuple[str, list[str | None]]:
    manifest = package({"Flow": ["Follow_Up"], "CustomNotificationType": ["Deal_Alerts"]})
    return deploy_flow(sf, body, **{"notificationtypes/Deal_Alerts.notiftype": notification_type,
                                    "package.xml": manifest})


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param(notify_flow({k: v for k, v in INPUTS.items() if k != "title"}),
                 "The action Send is missing the required input parameter title.", id="no-title"),
    pytest.param(notify_flow({k: v for k, v in INPUTS.items() if k != "targetId"}),
                 "The action Send is missing the required input parameter targetId or targetPageRef.", id="no-target"),
    pytest.param(notify_flow(INPUTS | {"subject": "<stringValue>Hi</stringValue>"}),
                 "The action Send has no input parameter subject (customNotificationAction).", id="unknown-input"),
    pytest.param(notify_flow(lookup_field="ApiName"),
                 'The field "ApiName" for the object "CustomNotificationType" doesn\'t exist.', id="unknown-filter"),
    pytest.param(notify_flow(INPUTS | {"customNotifTypeId": "<elementReference>Get_Type.Label</elementReference>"}),
                 'The element reference "Get_Type.Label" is invalid: no element or field has that name.',
                 id="unknown-lookup-field"),
])
def test_a_notification_flow_missing_what_the_action_requires_is_refused(
        emulator: SalesforceEmulator, sf: Client, body: str, problem: str) -> None:
    assert deploy_notify(sf, body) == ("Failed", [problem])
    assert emulator.org.get("Flow", "Follow_Up") is None


def test_a_notification_type_without_a_channel_is_refused(emulator: SalesforceEmulator, sf: Client) -> None:
    silent = NOTIFICATION_TYPE.replace("<desktop>true</desktop>", "<desktop>false</desktop>")
    state, problems = deploy_notify(sf, notify_flow(), silent)
    assert state == "Failed" and "Select at least one notification channel (desktop, mobile or slack)." in problems
    state, problems = deploy_notify(sf, notify_flow(), NOTIFICATION_TYPE.replace("<mobile>false</mobile>", ""))
    assert state == "Failed" and problems and "mobile" in str(problems[0])     # required by the XSD


def test_a_notification_is_sent_to_its_recipients_and_a_bad_one_fails_the_save(
        emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.reset()
    assert deploy_notify(sf, notify_flow()) == ("Succeeded", [])
    type_id = emulator.org.get("CustomNotificationType", "Deal_Alerts").id    # type: ignore[union-attr]
    deal = sf.Opportunity.create({"Name": "Acme", "StageName": "Prospecting", "CloseDate": "2027-01-31"})["id"]
    owner = emulator.org.records["Opportunity"][deal]["OwnerId"]
    assert emulator.org.notifications == [{"type": "Deal_Alerts", "recipients": [owner], "title": "Acme",
                                           "body": "Check the paper process", "target": deal, "flow": "Alert"}]
    assert type_id.startswith("0ML")
    nobody = notify_flow(recipient="<stringValue>005Em0000009999AAA</stringValue>")
    assert deploy_notify(sf, nobody) == ("Succeeded", [])            # an id is only text until the flow runs
    before = dict(emulator.org.records["Opportunity"])
    with pytest.raises(Exception) as refused:
        sf.Opportunity.create({"Name": "Beta", "StageName": "Prospecting", "CloseDate": "2027-01-31"})
    assert refused.value.content[0]["errorCode"] == "CANNOT_EXECUTE_FLOW_TRIGGER"     # type: ignore[attr-defined]
    assert "005Em0000009999AAA" in refused.value.content[0]["message"]                # type: ignore[attr-defined]
    assert emulator.org.records["Opportunity"] == before and len(emulator.org.notifications) == 1
    unknown_type = notify_flow(type_name="Nobody_Made_This")
    assert deploy_notify(sf, unknown_type) == ("Succeeded", [])
    with pytest.raises(Exception) as no_type:
        sf.Opportunity.create({"Name": "Gamma", "StageName": "Prospecting", "CloseDate": "2027-01-31"})
    assert no_type.value.content[0]["errorCode"] == "CANNOT_EXECUTE_FLOW_TRIGGER"     # type: ignore[attr-defined]


# -- scheduled paths (Help, "Scheduled Paths"; Metadata API, FlowScheduledPath; flows.py says what is UNVERIFIED) --


def scheduled_flow(path: str, requires: bool = True, condition: str = "ISPICKVAL({!$Record.StageName}, 'Prospecting')",
                   target: str = "Create_Task") -> str:
    """A flow whose only path is the scheduled `path` (offset, unit, time source) to the task's create."""
    immediate = flow()
    start = immediate[immediate.index("<start>"):immediate.index("</start>") + len("</start>")]
    return immediate.replace(start, (
        "<start><locationX>0</locationX><locationY>0</locationY>"
        f"{'<doesRequireRecordChangedToMeetCriteria>true</doesRequireRecordChangedToMeetCriteria>' * requires}"
        f"<filterFormula>{condition}</filterFormula><object>Opportunity</object>"
        "<recordTriggerType>CreateAndUpdate</recordTriggerType>"
        f"<scheduledPaths><name>Later</name><connector><targetReference>{target}</targetReference></connector>"
        f"<label>Later</label>{path}</scheduledPaths><triggerType>RecordAfterSave</triggerType></start>"))


DAYS_AFTER = "<offsetNumber>3</offsetNumber><offsetUnit>Days</offsetUnit><timeSource>RecordTriggerEvent</timeSource>"


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param(scheduled_flow(DAYS_AFTER, requires=False),
                 "A flow with scheduled paths that runs when a record is updated must run only when the record is "
                 "updated to meet the condition requirements.", id="on-every-update"),
    pytest.param(scheduled_flow(DAYS_AFTER, target="Nowhere"),
                 "The scheduled path Later doesn't connect to an element.", id="going-nowhere"),
    pytest.param(scheduled_flow("<offsetNumber>3</offsetNumber><timeSource>RecordTriggerEvent</timeSource>"),
                 "The scheduled path Later needs an offset number and unit.", id="no-unit"),
    pytest.param(scheduled_flow("<offsetNumber>1</offsetNumber><offsetUnit>Days</offsetUnit>"
                                "<recordField>Name</recordField><timeSource>RecordField</timeSource>"),
                 "The scheduled path Later needs a date or date/time field of the record as its time source.",
                 id="not-a-date-field"),
])
def test_a_scheduled_path_salesforce_cannot_run_is_refused(emulator: SalesforceEmulator, sf: Client, body: str,
                                                           problem: str) -> None:
    assert deploy_flow(sf, body) == ("Failed", [problem])


def test_a_scheduled_path_runs_at_its_time_and_not_for_a_record_that_left_the_conditions(
        emulator: SalesforceEmulator, sf: Client) -> None:
    assert deploy_flow(sf, scheduled_flow(DAYS_AFTER)) == ("Succeeded", [])
    stays = sf.Opportunity.create({"Name": "Stays", "StageName": "Prospecting", "CloseDate": "2027-01-31"})["id"]
    leaves = sf.Opportunity.create({"Name": "Leaves", "StageName": "Prospecting", "CloseDate": "2027-01-31"})["id"]
    emulator.advance(timedelta(days=1))
    sf.Opportunity.update(stays, {"Name": "Stays on"})      # still meets the conditions: nothing new is scheduled
    sf.Opportunity.update(leaves, {"StageName": "Qualification"})       # out of the conditions: its path is dropped
    emulator.advance(timedelta(days=2) - timedelta(minutes=1))
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0          # three days less a minute: not yet
    emulator.advance(timedelta(days=5))
    rows = sf.query("SELECT WhatId, CreatedDate FROM Task")["records"]
    assert [row["WhatId"] for row in rows] == [stays]
    saved, ran = (datetime.fromisoformat(str(moment).replace("Z", "+00:00").replace("+0000", "+00:00"))
                  for moment in (emulator.org.records["Opportunity"][stays]["CreatedDate"], rows[0]["CreatedDate"]))
    assert saved + timedelta(days=3) <= ran < saved + timedelta(days=3, minutes=1)     # at its time, not at the end


def test_a_path_on_a_record_date_runs_relative_to_it(emulator: SalesforceEmulator, sf: Client) -> None:
    before_close = ("<offsetNumber>-2</offsetNumber><offsetUnit>Days</offsetUnit><recordField>CloseDate</recordField>"
                    "<timeSource>RecordField</timeSource>")
    assert deploy_flow(sf, scheduled_flow(before_close)) == ("Succeeded", [])
    now = emulator.org.clock()
    close = (now + timedelta(days=10)).date()
    deal = sf.Opportunity.create({"Name": "D", "StageName": "Prospecting", "CloseDate": close.isoformat()})["id"]
    emulator.advance(timedelta(days=6))       # the path is due at midnight GMT two days before the close date
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0
    emulator.advance(timedelta(days=3))
    assert [row["WhatId"] for row in sf.query("SELECT WhatId FROM Task")["records"]] == [deal]
