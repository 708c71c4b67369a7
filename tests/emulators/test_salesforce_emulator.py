"""The Salesforce emulator, exercised through simple-salesforce (and zeep) over real HTTPS.

One emulator and one client serve the whole module (building a client loads the 1.5 MB
WSDL); `emulator.reset()` gives every test a fresh org, fault schedule and call count.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
import requests
from lxml import etree
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (SalesforceAuthenticationFailed, SalesforceError, SalesforceExpiredSession,
                                          SalesforceGeneralError, SalesforceMalformedRequest,
                                          SalesforceRefusedRequest, SalesforceResourceNotFound)
from simple_salesforce.login import SalesforceLogin
from zeep.exceptions import Fault

from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.schema import load_schema

MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"mt": MD, "soapenv": "http://schemas.xmlsoap.org/soap/envelope/"}
ROOT = Path(__file__).resolve().parents[2]
# simple_salesforce.Salesforce; its __getattr__ typing does not model `sf.Opportunity.create` or raw SOAP text.
Client = Any


# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SalesforceEmulator, Client]]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        sf = emulator.client()
        sf.mdapi  # noqa: B018 - the attribute loads the WSDL, once for the module
        yield emulator, sf


def package(types: dict[str, list[str]], version: str = "63.0") -> str:
    body = "".join("<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name></types>"
                   for name, members in types.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{MD}">{body}<version>{version}</version></Package>'


def component(root: str, *children: str) -> str:
    inner = "\n".join(children)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MD}">\n{inner}\n</{root}>\n'


def zipped(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    return buffer


def deploy(sf: Client, files: dict[str, str], **options: object) -> tuple[dict[str, Any], etree._Element]:
    """Deploy, poll until done; returns simple-salesforce's summary and the raw DeployResult."""
    started = sf.deploy(zipped(files), sandbox=False, **options)
    assert started["state"] == "Queued"
    for _ in range(20):
        status = sf.checkDeployStatus(started["asyncId"])
        if status["state"] not in ("Pending", "InProgress", "Queued"):
            break
    raw = sf.mdapi._retrieve_deploy_result(started["asyncId"])   # the full DeployResult element
    return status, raw


def content(error: pytest.ExceptionInfo[SalesforceError]) -> Any:
    """The parsed body of an error response (JSON list, or XML text for SOAP faults)."""
    return error.value.content


def failures(raw: etree._Element) -> list[dict[str, str | None]]:
    return [{name: f.findtext(f"mt:{name}", None, NS) for name in
             ("componentType", "fileName", "fullName", "lineNumber", "problem", "problemType")}
            for f in raw.findall("mt:details/mt:componentFailures", NS)]


def retrieve(sf: Client, types: dict[str, list[str]]) -> dict[str, str]:
    async_id, state = sf.mdapi.retrieve("unused", unpackaged=types)
    assert state == "Queued"
    for _ in range(20):
        status, _, _ = sf.mdapi.check_retrieve_status(async_id)
        if status == "Succeeded":
            break
    _, _, _, data = sf.mdapi.retrieve_zip(async_id)
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name).decode() for name in archive.namelist()}


TEXT_FIELD = ("<fields><fullName>Competitor__c</fullName><label>Competitor</label><length>120</length>"
              "<type>Text</type></fields>")
CHECKBOX = ("<fields><fullName>Budget_Confirmed__c</fullName><defaultValue>false</defaultValue>"
            "<label>Budget Confirmed</label><type>Checkbox</type></fields>")
RULE = ("<validationRules><fullName>Sos_Budget</fullName><active>true</active>"
        "<errorConditionFormula>AND(CASE(StageName, \"Closed Won\", 1, 0) = 1, NOT(Budget_Confirmed__c))"
        "</errorConditionFormula><errorMessage>Confirm the budget.</errorMessage></validationRules>")
PROCESS = ("<businessProcesses><fullName>New_Business</fullName><isActive>true</isActive>"
           "<values><fullName>Prospecting</fullName><default>true</default></values>"
           "<values><fullName>Closed Won</fullName><default>false</default></values>"
           "<values><fullName>Closed Lost</fullName><default>false</default></values></businessProcesses>")
RECORD_TYPE = ("<recordTypes><fullName>New_Business</fullName><active>true</active>"
               "<businessProcess>New_Business</businessProcess><label>New Business</label></recordTypes>")


def stage(name: str, probability: int, forecast: str, closed: bool = False, won: bool = False) -> str:
    return (f"<standardValue><fullName>{name}</fullName><default>false</default><label>{name}</label>"
            f"<closed>{str(closed).lower()}</closed><forecastCategory>{forecast}</forecastCategory>"
            f"<probability>{probability}</probability><won>{str(won).lower()}</won></standardValue>")


NEW_STAGES = component("StandardValueSet", "<sorted>false</sorted>", stage("Discovery", 10, "Pipeline"),
                       stage("Proposal", 60, "BestCase"), stage("Closed Won", 100, "Closed", True, True),
                       stage("Closed Lost", 0, "Omitted", True, False))


def stage_rows(sf: Client) -> dict[str, bool]:
    rows = sf.query("SELECT ApiName, IsActive FROM OpportunityStage ORDER BY SortOrder")["records"]
    return {row["ApiName"]: row["IsActive"] for row in rows}


# -- deploy and retrieve ----------------------------------------------------------------


def test_deploy_then_retrieve_round_trip(emulator: SalesforceEmulator, sf: Client) -> None:
    files = {
        "package.xml": package({"CustomField": ["Opportunity.Budget_Confirmed__c", "Opportunity.Competitor__c"],
                                "ValidationRule": ["Opportunity.Sos_Budget"],
                                "BusinessProcess": ["Opportunity.New_Business"],
                                "RecordType": ["Opportunity.New_Business"],
                                "PermissionSet": ["Sales_Blueprint"]}),
        "objects/Opportunity.object": component("CustomObject", RULE, CHECKBOX, RECORD_TYPE, TEXT_FIELD, PROCESS),
        "permissionsets/Sales_Blueprint.permissionset": component(
            "PermissionSet", "<fieldPermissions><editable>true</editable><field>Opportunity.Competitor__c</field>"
            "<readable>true</readable></fieldPermissions>", "<label>Sales Blueprint</label>"),
    }
    status, _ = deploy(sf, files)
    assert status["state"] == "Succeeded"
    assert status["deployment_detail"]["deployed_count"] == "6"

    got = retrieve(sf, {"CustomObject": ["Opportunity"], "PermissionSet": ["Sales_Blueprint"],
                        "StandardValueSet": ["OpportunityStage"]})
    assert sorted(got) == ["objects/Opportunity.object", "package.xml",
                           "permissionsets/Sales_Blueprint.permissionset",
                           "standardValueSets/OpportunityStage.standardValueSet"]
    obj = etree.fromstring(got["objects/Opportunity.object"].encode())
    custom = [f.findtext("mt:fullName", None, NS) for f in obj.findall("mt:fields", NS)
              if f.findtext("mt:fullName", "", NS).endswith("__c")]
    assert custom == ["Budget_Confirmed__c", "Competitor__c"]
    assert obj.findtext("mt:validationRules/mt:errorMessage", None, NS) == "Confirm the budget."
    assert obj.findtext("mt:recordTypes/mt:businessProcess", None, NS) == "New_Business"
    competitor = obj.xpath("mt:fields[mt:fullName='Competitor__c']", namespaces=NS)[0]
    assert competitor.findtext("mt:required", None, NS) == "false"     # defaults Salesforce adds on read
    # Every retrieved file is schema-valid, in WSDL order, as Salesforce writes it.
    schema = load_schema()
    for name, root_type in (("objects/Opportunity.object", "CustomObject"),
                            ("permissionsets/Sales_Blueprint.permissionset", "PermissionSet"),
                            ("standardValueSets/OpportunityStage.standardValueSet", "StandardValueSet")):
        assert got[name].startswith('<?xml version="1.0" encoding="UTF-8"?>')
        assert schema.validate(etree.fromstring(got[name].encode()), root_type, strict_order=True) == []
    assert "<members>Opportunity.Competitor__c</members>" in got["package.xml"]


def test_retrieve_named_children_and_missing_member(emulator: SalesforceEmulator, sf: Client) -> None:
    deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
                "objects/Opportunity.object": component("CustomObject", TEXT_FIELD)})
    async_id, _ = sf.mdapi.retrieve("unused", unpackaged={"CustomField": ["Opportunity.Competitor__c",
                                                                          "Opportunity.Nope__c"]})
    raw = sf.mdapi.retrieve_retrieve_result(async_id, "true")
    assert raw.findtext("mt:messages/mt:problem", None, NS) == \
        "Entity of type 'CustomField' named 'Opportunity.Nope__c' cannot be found"
    data = zipfile.ZipFile(io.BytesIO(base64.b64decode(raw.findtext("mt:zipFile", "", NS))))
    obj = data.read("objects/Opportunity.object").decode()
    assert "Competitor__c" in obj and "StageName" not in obj    # only what was named
    with pytest.raises(SalesforceGeneralError) as served_twice:   # the zip is served once
        sf.mdapi.retrieve_zip(async_id)
    assert "INVALID_LOCATOR" in content(served_twice)


def test_check_only_validates_without_changing_anything(emulator: SalesforceEmulator, sf: Client) -> None:
    files = {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
             "objects/Opportunity.object": component("CustomObject", TEXT_FIELD)}
    status, raw = deploy(sf, files, checkOnly=True)
    assert status["state"] == "Succeeded"
    assert raw.findtext("mt:checkOnly", None, NS) == "true"
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is None
    assert sf.mdapi.CustomField.read(["Opportunity.Competitor__c"]).fullName is None


def test_rollback_on_error_keeps_the_good_component_out(emulator: SalesforceEmulator, sf: Client) -> None:
    bad = ("<fields><fullName>Pain__c</fullName><label>Pain</label><length>32768</length>"
           "<type>LongTextArea</type></fields>")
    status, raw = deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Competitor__c",
                                                                      "Opportunity.Pain__c"]}),
                              "objects/Opportunity.object": component("CustomObject", TEXT_FIELD, bad)})
    assert status["state"] == "Failed"
    assert status["deployment_detail"]["errors"] == [{
        "type": "CustomField", "file": "objects/Opportunity.object", "status": "Error",
        "message": "Must specify 'visibleLines' for a CustomField of type LongTextArea"}]
    assert failures(raw)[0]["fullName"] == "Opportunity.Pain__c"
    assert failures(raw)[0]["lineNumber"] == "4"
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is None


def test_without_rollback_the_good_component_stays(emulator: SalesforceEmulator, sf: Client) -> None:
    bad = ("<fields><fullName>Score__c</fullName><label>Score</label><precision>19</precision><scale>0</scale>"
           "<type>Number</type></fields>")
    started = sf.deploy(zipped({"package.xml": package({"CustomField": ["Opportunity.Competitor__c",
                                                                        "Opportunity.Score__c"]}),
                                "objects/Opportunity.object": component("CustomObject", TEXT_FIELD, bad)}),
                        sandbox=True, rollbackOnError=False)
    assert sf.checkDeployStatus(started["asyncId"])["state"] == "SucceededPartial"
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is not None
    assert emulator.org.get("CustomField", "Opportunity.Score__c") is None


def test_schema_rejects_an_unknown_element_with_its_line(emulator: SalesforceEmulator, sf: Client) -> None:
    broken = component("CustomObject", "<fields>", "<fullName>Competitor__c</fullName>", "<label>Competitor</label>",
                       "<lenght>120</lenght>", "<type>Text</type>", "</fields>")
    status, raw = deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
                              "objects/Opportunity.object": broken})
    assert status["state"] == "Failed"
    assert failures(raw) == [{
        "componentType": "CustomObject", "fileName": "objects/Opportunity.object", "fullName": "Opportunity",
        "lineNumber": "6", "problemType": "Error",
        "problem": f"Error parsing file: Element {{{MD}}}lenght invalid at this location in type CustomField"}]


@pytest.mark.parametrize(("xml", "problem"), [
    pytest.param("<type>Texty</type>", "Error parsing file: 'Texty' is not a valid value for the enum 'FieldType'",
                 id="bad-enum"),
    pytest.param("<length>long</length><type>Text</type>", "Error parsing file: 'long' is not valid for the type "
                 "xsd:int", id="not-an-int"),
])
def test_schema_rejects_bad_values(emulator: SalesforceEmulator, sf: Client, xml: str, problem: str) -> None:
    field = f"<fields><fullName>X__c</fullName><label>X</label>{xml}</fields>"
    _, raw = deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.X__c"]}),
                         "objects/Opportunity.object": component("CustomObject", field)})
    assert [f["problem"] for f in failures(raw)] == [problem]


def test_element_order_is_tolerated_unless_strict(emulator: SalesforceEmulator, sf: Client) -> None:
    shuffled = ("<fields><type>Text</type><length>120</length><fullName>Competitor__c</fullName>"
                "<label>C</label></fields>")
    files = {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
             "objects/Opportunity.object": component("CustomObject", shuffled)}
    assert deploy(sf, files)[0]["state"] == "Succeeded"
    emulator.strict_order = True
    try:
        assert deploy(sf, files)[0]["state"] == "Failed"
    finally:
        emulator.strict_order = False


NAME_RULE = ("The Field Name can only contain underscores and alphanumeric characters. It must be unique, begin with "
             "a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.")


@pytest.mark.parametrize(("name", "problem"), [
    pytest.param("Budget", "Invalid custom field name 'Budget': custom field API names end in __c (a name without "
                 "__c must be a standard field of the object)", id="no-suffix"),
    pytest.param("Budget__Amount__c", f"{NAME_RULE} ('Budget__Amount')", id="double-underscore"),
    pytest.param("1Budget__c", f"{NAME_RULE} ('1Budget')", id="starts-with-digit"),
    pytest.param("Budget___c", f"{NAME_RULE} ('Budget_')", id="trailing-underscore"),
    pytest.param("B" * 41 + "__c", f"The Field Name '{'B' * 41}' is too long: at most 40 characters.", id="too-long"),
])
def test_bad_custom_field_names(emulator: SalesforceEmulator, sf: Client, name: str, problem: str) -> None:
    field = f"<fields><fullName>{name}</fullName><label>Budget</label><length>10</length><type>Text</type></fields>"
    status, raw = deploy(sf, {"package.xml": package({"CustomField": [f"Opportunity.{name}"]}),
                              "objects/Opportunity.object": component("CustomObject", field)})
    assert status["state"] == "Failed"
    assert failures(raw) == [{"componentType": "CustomField", "fileName": "objects/Opportunity.object",
                              "fullName": f"Opportunity.{name}", "lineNumber": "3", "problem": problem,
                              "problemType": "Error"}]


@pytest.mark.parametrize(("field", "problem"), [
    pytest.param("<label>A</label><type>Text</type>", "Must specify 'length' for a CustomField of type Text",
                 id="text-without-length"),
    pytest.param("<label>A</label><length>256</length><type>Text</type>",
                 "'length' must be between 1 and 255 for a CustomField of type Text (got 256)", id="text-too-long"),
    pytest.param("<label>A</label><type>Picklist</type>", "Must specify 'valueSet' for a CustomField of type Picklist",
                 id="picklist-without-values"),
    pytest.param("<label>A</label><type>Picklist</type><valueSet><valueSetDefinition><sorted>false</sorted>"
                 "</valueSetDefinition></valueSet>",
                 "Must specify at least one picklist value for a CustomField of type Picklist", id="picklist-empty"),
    pytest.param("<label>A</label><precision>19</precision><scale>2</scale><type>Number</type>",
                 "'precision' must be between 1 and 18 (got 19)", id="number-precision"),
    pytest.param("<label>A</label><precision>4</precision><scale>5</scale><type>Currency</type>",
                 "The sum of the length and decimal places must be an integer less than or equal to 18 ('scale' 5 "
                 "must be between 0 and 'precision')", id="scale-over-precision"),
    pytest.param("<label>A</label><length>1000</length><type>LongTextArea</type>",
                 "Must specify 'visibleLines' for a CustomField of type LongTextArea", id="long-text-lines"),
    pytest.param("<label>A</label><type>Checkbox</type>", "Must specify 'defaultValue' for a CustomField of type "
                 "Checkbox", id="checkbox-default"),
    pytest.param("<label>A</label><length>10</length><type>Checkbox</type><defaultValue>false</defaultValue>",
                 "Can not specify 'length' for a CustomField of type Checkbox", id="checkbox-length"),
    pytest.param("<type>Date</type>", "Must specify a non-empty label for the CustomField", id="no-label"),
    pytest.param("<label>A</label><referenceTo>Contact</referenceTo><relationshipName>Buyer_Opps</relationshipName>"
                 "<required>true</required><type>Lookup</type>",
                 "A required lookup field cannot use deleteConstraint SetNull: use Restrict or Cascade",
                 id="required-lookup-setnull"),
])
def test_field_options_rejected(emulator: SalesforceEmulator, sf: Client, field: str, problem: str) -> None:
    xml = f"<fields><fullName>A__c</fullName>{field}</fields>"
    _, raw = deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.A__c"]}),
                         "objects/Opportunity.object": component("CustomObject", xml)})
    assert [f["problem"] for f in failures(raw)] == [problem]


@pytest.mark.parametrize(("formula", "problem"), [
    pytest.param("ISBLANK(Budget__c)", "Field Budget__c does not exist. Check spelling.", id="unknown-field"),
    pytest.param('StageName = "Closed Won"', "Field StageName is a picklist field. Picklist fields are only "
                 "supported in certain functions.", id="picklist-compare"),
    pytest.param("ISBLANK(Amount", "Syntax error. Missing ')'", id="unbalanced"),
    pytest.param("ISBLANKK(Amount)", "Unknown function ISBLANKK. Check spelling.", id="unknown-function"),
    pytest.param("Account.Nope__c > 1", "Field Account.Nope__c does not exist. Check spelling.", id="relationship"),
])
def test_validation_rule_formulas_rejected(emulator: SalesforceEmulator, sf: Client, formula: str,
                                           problem: str) -> None:
    rule = (f"<validationRules><fullName>R</fullName><active>true</active><errorConditionFormula>{formula}"
            "</errorConditionFormula><errorMessage>m</errorMessage></validationRules>")
    _, raw = deploy(sf, {"package.xml": package({"ValidationRule": ["Opportunity.R"]}),
                         "objects/Opportunity.object": component("CustomObject", rule)})
    assert [(f["componentType"], f["fullName"], f["problem"]) for f in failures(raw)] == \
        [("ValidationRule", "Opportunity.R", problem)]


def test_rules_may_name_fields_deployed_with_them(emulator: SalesforceEmulator, sf: Client) -> None:
    rule = RULE.replace("NOT(Budget_Confirmed__c)",
                        "NOT(Budget_Confirmed__c), ISPICKVAL(LeadSource, \"Web\"), RecordType.DeveloperName = \"X\", "
                        "NOT($Permission.Bypass_Sos_Rules), Owner.Email != \"\", TODAY() - CloseDate > 21")
    status, _ = deploy(sf, {"package.xml": package({"CustomObject": ["Opportunity"]}),
                            "objects/Opportunity.object": component("CustomObject", CHECKBOX, rule)})
    assert status["state"] == "Succeeded"


def test_package_member_missing_from_zip(emulator: SalesforceEmulator, sf: Client) -> None:
    _, raw = deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Ghost__c"]}),
                         "objects/Opportunity.object": component("CustomObject", TEXT_FIELD)})
    assert failures(raw)[0]["problem"] == ("An object 'Opportunity.Ghost__c' of type CustomField was named in "
                                           "package.xml, but was not found in zipped directory")
    _, raw = deploy(sf, {"objects/Opportunity.object": component("CustomObject", TEXT_FIELD)})
    assert failures(raw)[0]["problem"] == "No package.xml found"


def test_destructive_changes(emulator: SalesforceEmulator, sf: Client) -> None:
    deploy(sf, {"package.xml": package({"CustomObject": ["Opportunity"]}),
                "objects/Opportunity.object": component("CustomObject", CHECKBOX, TEXT_FIELD, RULE)})
    referenced = {"package.xml": package({}),
                  "destructiveChanges.xml": package({"CustomField": ["Opportunity.Budget_Confirmed__c"]})}
    status, raw = deploy(sf, referenced)
    assert status["state"] == "Failed"
    assert failures(raw)[0]["problem"] == ("This custom field is referenced elsewhere in salesforce.com. : "
                                           "Validation Rule - Opportunity.Sos_Budget")
    both = {"package.xml": package({}), "destructiveChanges.xml": package(      # no <version>: allowed here
        {"CustomField": ["Opportunity.Budget_Confirmed__c", "Opportunity.Competitor__c"],
         "ValidationRule": ["Opportunity.Sos_Budget"]}).replace("<version>63.0</version>", "")}
    assert deploy(sf, both)[0]["state"] == "Succeeded"
    assert emulator.org.of_type("CustomField") == [] and emulator.org.of_type("ValidationRule") == []


# -- standard value sets ----------------------------------------------------------------


def test_new_org_has_the_standard_values(emulator: SalesforceEmulator, sf: Client) -> None:
    assert list(stage_rows(sf)) == ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                                    "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                                    "Negotiation/Review", "Closed Won", "Closed Lost"]
    statuses = sf.query("SELECT ApiName, IsConverted, IsDefault FROM LeadStatus")["records"]
    assert [(s["ApiName"], s["IsConverted"], s["IsDefault"]) for s in statuses] == [
        ("Open - Not Contacted", False, True), ("Working - Contacted", False, False),
        ("Closed - Converted", True, False), ("Closed - Not Converted", False, False)]


def test_opportunity_stage_deploy_deactivates_unlisted_values(emulator: SalesforceEmulator, sf: Client) -> None:
    files = {"package.xml": package({"StandardValueSet": ["OpportunityStage"]}),
             "standardValueSets/OpportunityStage.standardValueSet": NEW_STAGES}
    assert deploy(sf, files)[0]["state"] == "Succeeded"
    rows = stage_rows(sf)
    assert [name for name, active in rows.items() if active] == ["Discovery", "Proposal", "Closed Won",
                                                                  "Closed Lost"]
    assert rows["Prospecting"] is False and rows["Negotiation/Review"] is False   # the trap: silently inactive
    picklist = next(f for f in sf.Opportunity.describe()["fields"] if f["name"] == "StageName")
    assert [v["value"] for v in picklist["picklistValues"]] == ["Discovery", "Proposal", "Closed Won", "Closed Lost"]
    retrieved = retrieve(sf, {"StandardValueSet": ["OpportunityStage"]})
    assert "<isActive>false</isActive>" in retrieved["standardValueSets/OpportunityStage.standardValueSet"]


def test_omitting_a_stage_that_records_use_is_rejected(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.org.seed_opportunities({"Prospecting": 2, "Closed Won": 1})
    files = {"package.xml": package({"StandardValueSet": ["OpportunityStage"]}),
             "standardValueSets/OpportunityStage.standardValueSet": NEW_STAGES}
    status, raw = deploy(sf, files)
    assert status["state"] == "Failed"
    assert str(failures(raw)[0]["problem"]).startswith(
        "Cannot delete picklist value 'Prospecting' of OpportunityStage: 2 Opportunity record(s) use it in StageName.")
    assert stage_rows(sf)["Prospecting"] is True
    # Listing it as inactive is a deactivation, which is allowed: records keep the value.
    kept = NEW_STAGES.replace("<sorted>false</sorted>", "<sorted>false</sorted>" + stage(
        "Prospecting", 10, "Pipeline").replace("<label>", "<isActive>false</isActive><label>"))
    assert deploy(sf, {**files, "standardValueSets/OpportunityStage.standardValueSet": kept})[0]["state"] == \
        "Succeeded"
    assert stage_rows(sf)["Prospecting"] is False


@pytest.mark.parametrize(("value", "problem"), [
    pytest.param(stage("Won It", 100, "Pipeline", True, True),
                 "Stage Won It: a won stage must have forecastCategory Closed (got Pipeline)", id="won-not-closed"),
    pytest.param(stage("Lost It", 0, "Closed", True, False),
                 "Stage Lost It: a lost stage must have forecastCategory Omitted (got Closed)", id="lost-closed"),
    pytest.param(stage("Big", 101, "Pipeline"), "Stage Big: probability must be between 0 and 100 (got 101)",
                 id="probability"),
])
def test_stage_values_checked(emulator: SalesforceEmulator, sf: Client, value: str, problem: str) -> None:
    files = {"package.xml": package({"StandardValueSet": ["OpportunityStage"]}),
             "standardValueSets/OpportunityStage.standardValueSet": NEW_STAGES.replace("</StandardValueSet>",
                                                                                       value + "</StandardValueSet>")}
    _, raw = deploy(sf, files)
    assert [f["problem"] for f in failures(raw)] == [problem]


def test_business_process_values_must_be_active_stages(emulator: SalesforceEmulator, sf: Client) -> None:
    process = PROCESS.replace("Prospecting", "Discovery")
    files = {"package.xml": package({"BusinessProcess": ["Opportunity.New_Business"]}),
             "objects/Opportunity.object": component("CustomObject", process)}
    _, raw = deploy(sf, files)
    assert failures(raw)[0]["problem"] == "Picklist value: Discovery in picklist: StageName not found"
    # In the same deploy as the stage set that adds Discovery, it works.
    files["package.xml"] = package({"BusinessProcess": ["Opportunity.New_Business"],
                                    "StandardValueSet": ["OpportunityStage"]})
    files["standardValueSets/OpportunityStage.standardValueSet"] = NEW_STAGES
    assert deploy(sf, files)[0]["state"] == "Succeeded"


# -- CRUD calls (zeep) ------------------------------------------------------------------


def test_crud_upsert_and_read_in_batches_of_ten(emulator: SalesforceEmulator, sf: Client) -> None:
    md = sf.mdapi
    names = [f"Opportunity.F{i}__c" for i in range(11)]
    fields = [md.CustomField(fullName=n, label=n[12:-3], type="Text", length=20) for n in names]
    md.CustomField.upsert(fields[:10])
    md.CustomField.upsert(fields[10:])
    read = md.CustomField.read(names[:9] + ["Opportunity.Nope__c"])
    assert [r.fullName for r in read] == names[:9] + [None]     # xsi:nil placeholder for the missing one
    with pytest.raises(Fault) as too_many:
        md.CustomField.read(names)
    assert too_many.value.code == "sf:LIMIT_EXCEEDED"
    with pytest.raises(Exception, match=r"Opportunity\.T__c: \(FIELD_INTEGRITY_EXCEPTION, 'length' must be"):
        md.CustomField.upsert([md.CustomField(fullName="Opportunity.T__c", label="T", type="Text", length=300)])
    listed = md.list_metadata([md.ListMetadataQuery(type="CustomField")])
    assert sorted(p.fullName for p in listed) == sorted(names)
    assert emulator.calls == {"upsertMetadata": 3, "readMetadata": 2, "listMetadata": 1}


def test_crud_responses_and_deploy_results_are_schema_valid(emulator: SalesforceEmulator) -> None:
    """Post raw SOAP with requests and validate every response body against the WSDL."""
    schema = load_schema()
    session = emulator.requests_session()

    def call(body: str) -> etree._Element:
        envelope = (f'<soapenv:Envelope xmlns:soapenv="{NS["soapenv"]}" xmlns:met="{MD}"><soapenv:Header>'
                    f"<met:SessionHeader><met:sessionId>{emulator.access_token}</met:sessionId></met:SessionHeader>"
                    f"</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")
        response = session.post(f"{emulator.instance_url}/services/Soap/m/63.0", data=envelope,
                                headers={"Content-Type": "text/xml", "SOAPAction": '""'})
        assert response.status_code == 200, response.text
        result = etree.fromstring(response.content).find("soapenv:Body", NS)[0]
        assert schema.validate_element(result) == []
        return result

    archive = zipped({"package.xml": package({"CustomField": ["Opportunity.Bad__c", "Opportunity.Competitor__c"]}),
                      "objects/Opportunity.object": component("CustomObject", TEXT_FIELD,
                                                              "<fields><fullName>Bad__c</fullName><label>B</label>"
                                                              "<type>Text</type></fields>")}).getvalue()
    started = call(f"<met:deploy><met:ZipFile>{base64.b64encode(archive).decode()}</met:ZipFile>"
                   "<met:DeployOptions><met:rollbackOnError>True</met:rollbackOnError></met:DeployOptions>"
                   "</met:deploy>")
    deploy_id = started.findtext("mt:result/mt:id", None, NS)
    call(f"<met:checkDeployStatus><met:asyncProcessId>{deploy_id}</met:asyncProcessId>"
         "<met:includeDetails>true</met:includeDetails></met:checkDeployStatus>")
    retrieve_id = call("<met:retrieve><met:retrieveRequest><met:apiVersion>63.0</met:apiVersion><met:singlePackage>"
                       "true</met:singlePackage><met:unpackaged><types><members>Opportunity</members><name>"
                       "CustomObject</name></types></met:unpackaged></met:retrieveRequest></met:retrieve>"
                       ).findtext("mt:result/mt:id", None, NS)
    call(f"<met:checkRetrieveStatus><met:asyncProcessId>{retrieve_id}</met:asyncProcessId><met:includeZip>true"
         "</met:includeZip></met:checkRetrieveStatus>")
    # (A missing name comes back as <records xsi:nil="true"/>, as Salesforce sends it, although the
    # WSDL does not declare `records` nillable; so only existing names here.)
    call("<met:readMetadata><met:type>StandardValueSet</met:type><met:fullNames>OpportunityStage</met:fullNames>"
         "<met:fullNames>LeadStatus</met:fullNames></met:readMetadata>")
    call("<met:readMetadata><met:type>CustomObject</met:type><met:fullNames>Opportunity</met:fullNames>"
         "</met:readMetadata>")
    call("<met:listMetadata><met:queries><met:type>CustomObject</met:type></met:queries></met:listMetadata>")


# -- faults -----------------------------------------------------------------------------


def test_expired_session_rest_and_soap(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.faults.expire_session(times=2)
    with pytest.raises(SalesforceExpiredSession) as rest_error:
        sf.query("SELECT Id FROM Opportunity")
    assert content(rest_error) == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceGeneralError) as soap_error:
        sf.deploy(zipped({"package.xml": package({})}), sandbox=False)
    assert soap_error.value.status == 500
    assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in content(soap_error)
    assert emulator.access_token not in content(soap_error)
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0      # the schedule is used up


def test_oauth_client_logs_in_again_after_expiry(emulator: SalesforceEmulator) -> None:
    creds = emulator.credentials
    sf = Salesforce(username=creds.username, password=creds.password, consumer_key=creds.consumer_key,
                    consumer_secret=creds.consumer_secret, session=emulator.login_session(), version="63.0")
    assert sf.sf_instance == f"127.0.0.1:{emulator.port}"
    emulator.invalidate_sessions()
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    assert emulator.calls == {"oauth_token": 2, "query": 2}      # 401, login again, retry


def test_rate_limits(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.faults.rate_limit(times=1, status=403)
    emulator.faults.rate_limit(times=1, status=429, operations={"limits"})
    emulator.faults.rate_limit(times=1, status=503, operations={"checkDeployStatus"})
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Opportunity")
    assert content(refused) == [{"message": "TotalRequests Limit exceeded.",
                                      "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with pytest.raises(SalesforceGeneralError) as too_many:
        sf.limits()
    assert too_many.value.status == 429
    started = sf.deploy(zipped({"package.xml": package({})}), sandbox=False)
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.checkDeployStatus(started["asyncId"])
    assert unavailable.value.status == 503
    assert sf.checkDeployStatus(started["asyncId"])["state"] == "Succeeded"


def test_daily_api_limit(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.daily_api_max = 2
    try:
        sf.query("SELECT COUNT() FROM Opportunity")
        assert sf.limits()["DailyApiRequests"] == {"Max": 2, "Remaining": 0}
        assert sf.api_usage["api-usage"].used == 2
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT COUNT() FROM Opportunity")
    finally:
        emulator.daily_api_max = 15000


def test_injected_component_failure_rolls_back(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.faults.fail_component("Opportunity.Competitor__c", "UNKNOWN_EXCEPTION: gack")
    files = {"package.xml": package({"CustomField": ["Opportunity.Budget_Confirmed__c", "Opportunity.Competitor__c"]}),
             "objects/Opportunity.object": component("CustomObject", CHECKBOX, TEXT_FIELD)}
    status, raw = deploy(sf, files)
    assert status["state"] == "Failed"
    assert [(f["fullName"], f["problem"]) for f in failures(raw)] == [("Opportunity.Competitor__c",
                                                                       "UNKNOWN_EXCEPTION: gack")]
    assert emulator.org.of_type("CustomField") == []
    assert deploy(sf, files)[0]["state"] == "Succeeded"      # times=1: the next deploy is clean


def test_polls_until_done_and_a_deploy_that_never_finishes(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.deploy_polls = 3
    files = {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
             "objects/Opportunity.object": component("CustomObject", TEXT_FIELD)}
    started = sf.deploy(zipped(files), sandbox=False)
    states = [sf.checkDeployStatus(started["asyncId"])["state"] for _ in range(3)]
    assert states == ["Pending", "InProgress", "Succeeded"]
    emulator.faults.stall_deploys()
    stalled = sf.deploy(zipped(files), sandbox=False)
    assert {sf.checkDeployStatus(stalled["asyncId"])["state"] for _ in range(10)} == {"InProgress"}
    assert emulator.calls["checkDeployStatus"] == 13


# -- REST -------------------------------------------------------------------------------


def test_queries(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.org.seed_opportunities({"Prospecting": 3, "Closed Won": 2, "Negotiation/Review": 1})
    count = sf.query("SELECT COUNT() FROM Opportunity WHERE StageName = 'Prospecting'")
    assert (count["totalSize"], count["records"]) == (3, [])
    grouped = sf.query("SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName")["records"]
    assert {(r["StageName"], r["expr0"]) for r in grouped} == {("Prospecting", 3), ("Closed Won", 2),
                                                               ("Negotiation/Review", 1)}
    won = sf.query("SELECT Id, Name, StageName FROM Opportunity WHERE IsWon = true AND StageName IN ('Closed Won')")
    assert won["totalSize"] == 2 and won["records"][0]["attributes"]["type"] == "Opportunity"
    with pytest.raises(SalesforceMalformedRequest) as bad_column:
        sf.query("SELECT Budget__c FROM Opportunity")
    assert content(bad_column)[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Budget__c' on entity 'Opportunity'" in content(bad_column)[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as bad_object:
        sf.query("SELECT Id FROM Deal")
    assert content(bad_object)[0]["errorCode"] == "INVALID_TYPE"


def test_query_paging(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.org.seed_opportunities({"Prospecting": 2100})
    first = sf.query("SELECT Id FROM Opportunity")
    assert (first["done"], len(first["records"])) == (False, 2000)
    assert len(sf.query_all("SELECT Id FROM Opportunity")["records"]) == 2100
    assert emulator.calls["queryMore"] == 1


def test_describe_and_field_security(emulator: SalesforceEmulator, sf: Client) -> None:
    deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"],
                                        "PermissionSet": ["Sales_Blueprint"]}),
                "objects/Opportunity.object": component("CustomObject", TEXT_FIELD),
                "permissionsets/Sales_Blueprint.permissionset": component(
                    "PermissionSet", "<fieldPermissions><editable>false</editable><field>Opportunity.Competitor__c"
                    "</field><readable>true</readable></fieldPermissions>", "<label>Sales Blueprint</label>")})
    # Field-level security is on, as in a real org: the field is invisible until the set is assigned.
    assert "Competitor__c" not in [f["name"] for f in sf.Opportunity.describe()["fields"]]
    permission_set = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Sales_Blueprint'")["records"][0]["Id"]
    sf.PermissionSetAssignment.create({"AssigneeId": sf.query("SELECT Id FROM User")["records"][0]["Id"],
                                       "PermissionSetId": permission_set})
    competitor = next(f for f in sf.Opportunity.describe()["fields"] if f["name"] == "Competitor__c")
    assert (competitor["type"], competitor["length"], competitor["custom"]) == ("string", 120, True)
    assert competitor["updateable"] is False
    emulator.field_security = False            # the knob for tests that need no permission set
    assert next(f for f in sf.Opportunity.describe()["fields"] if f["name"] == "Competitor__c")["updateable"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Deal/describe")


def test_tooling_query_and_its_one_row_rule(emulator: SalesforceEmulator, sf: Client) -> None:
    deploy(sf, {"package.xml": package({"CustomObject": ["Opportunity"]}),
                "objects/Opportunity.object": component("CustomObject", CHECKBOX, RULE, RULE.replace(
                    "Sos_Budget", "Sos_Budget_Two"))})
    rules = sf.toolingexecute("query/", params={"q": "SELECT Id, ValidationName, Active, "
                                                     "EntityDefinition.QualifiedApiName FROM ValidationRule WHERE "
                                                     "EntityDefinition.QualifiedApiName = 'Opportunity'"})
    assert [r["ValidationName"] for r in rules["records"]] == ["Sos_Budget", "Sos_Budget_Two"]
    assert rules["records"][0]["EntityDefinition"]["QualifiedApiName"] == "Opportunity"
    one = sf.toolingexecute("query/", params={"q": f"SELECT Id, FullName, Metadata FROM ValidationRule WHERE "
                                                   f"Id = '{rules['records'][0]['Id']}'"})
    assert one["records"][0]["Metadata"]["errorMessage"] == "Confirm the budget."
    with pytest.raises(SalesforceMalformedRequest) as too_many:
        sf.toolingexecute("query/", params={"q": "SELECT Id, Metadata FROM ValidationRule"})
    assert content(too_many)[0]["message"].endswith("Result size: 2")


def test_record_create_checks_the_stage(emulator: SalesforceEmulator, sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad_stage:
        sf.Opportunity.create({"Name": "A", "StageName": "Dreaming", "CloseDate": "2025-03-01"})
    assert content(bad_stage)[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    created = sf.Opportunity.create({"Name": "A", "StageName": "Prospecting", "CloseDate": "2025-03-01"})
    assert created["success"] and created["id"].startswith("006")


# -- counting, latency, auth, command line ----------------------------------------------


def test_calls_are_counted_per_operation(emulator: SalesforceEmulator, sf: Client) -> None:
    deploy(sf, {"package.xml": package({"CustomField": ["Opportunity.Competitor__c"]}),
                "objects/Opportunity.object": component("CustomObject", TEXT_FIELD)})
    sf.query("SELECT COUNT() FROM Opportunity")
    sf.query("SELECT COUNT() FROM Lead")
    sf.Opportunity.describe()
    sf.limits()
    # deploy() polls once and then reads the raw result once more.
    assert emulator.calls == {"deploy": 1, "checkDeployStatus": 2, "query": 2, "describe": 1, "limits": 1}
    assert emulator.call_log[:2] == ["deploy", "checkDeployStatus"]


def test_latency_is_added_to_every_call(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.latency_ms = 60
    started = time.perf_counter()
    sf.query("SELECT COUNT() FROM Opportunity")
    assert time.perf_counter() - started >= 0.06


def test_soap_login_through_simple_salesforce(emulator: SalesforceEmulator) -> None:
    creds = emulator.credentials
    session_id, instance = SalesforceLogin(username=creds.username, password=creds.password,
                                           security_token=creds.security_token, sf_version="63.0",
                                           scratch_url=emulator.instance_url, session=emulator.requests_session())
    assert instance == f"127.0.0.1:{emulator.port}"
    sf = Salesforce(instance=instance, session_id=session_id, version="63.0", session=emulator.requests_session())
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        SalesforceLogin(username=creds.username, password="wrong", security_token=creds.security_token,
                        sf_version="63.0", scratch_url=emulator.instance_url, session=emulator.requests_session())
    assert refused.value.code == "INVALID_LOGIN"


def test_client_credentials_and_jwt_bearer(emulator: SalesforceEmulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    creds = emulator.credentials
    sf = Salesforce(consumer_key=creds.consumer_key, consumer_secret=creds.consumer_secret, domain="acme.my",
                    session=emulator.login_session(), version="63.0")
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    creds.jwt_public_key = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        sf = Salesforce(username=creds.username, consumer_key=creds.consumer_key, privatekey=pem,
                        session=emulator.login_session(), version="63.0")
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
        with pytest.raises(SalesforceAuthenticationFailed), pytest.warns(UserWarning, match="authorize"):
            Salesforce(username="someone@else.example", consumer_key=creds.consumer_key, privatekey=pem,
                       session=emulator.login_session(), version="63.0")
    finally:
        creds.jwt_public_key = None
    response = requests.post(f"{emulator.instance_url}/services/oauth2/token", verify=emulator.ca_file,
                             data={"grant_type": "password", "client_id": creds.consumer_key,
                                   "client_secret": "wrong", "username": creds.username,
                                   "password": creds.password})
    assert (response.status_code, response.json()) == (400, {"error": "invalid_client",
                                                             "error_description": "invalid client credentials"})
    assert creds.password not in response.text and "wrong" not in response.text
    assert emulator.calls["oauth_token"] == 4


def test_unsupported_api_version_and_unknown_token(emulator: SalesforceEmulator) -> None:
    session = emulator.requests_session()
    response = session.get(f"{emulator.instance_url}/services/data/v64.0/limits/",
                           headers={"Authorization": f"Bearer {emulator.access_token}"})
    assert (response.status_code, response.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    response = session.get(f"{emulator.instance_url}/services/data/v63.0/limits/",
                           headers={"Authorization": "Bearer 00Dforged!token"})
    assert response.status_code == 401 and "00Dforged" not in response.text


def test_started_from_the_command_line() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.salesforce", "--port", "0",
                                "--seed", "Prospecting=2"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None
        lines = dict(line.split(":", 1) for line in (process.stdout.readline() for _ in range(3)))
        url, token, ca_file = (lines[k].strip() for k in ("instance_url", "access_token", "ca_file"))
        response = requests.get(f"{url}/services/data/v63.0/query/", verify=ca_file,
                                params={"q": "SELECT COUNT() FROM Opportunity"},
                                headers={"Authorization": f"Bearer {token}"})
        assert response.json()["totalSize"] == 2
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0   # shutting down may be slow on a loaded machine
