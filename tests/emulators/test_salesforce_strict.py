"""The emulator is strict where sos's bugs hide: SOQL date literals, deploy-time limits, record type values."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import datetime, UTC
from typing import Any
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.emulators.salesforce import SalesforceEmulator, SteppingClock
from tests.emulators.test_salesforce_emulator import (
    CHECKBOX,
    NEW_STAGES,
    NS,
    PROCESS,
    RECORD_TYPE,
    component,
    deploy,
    failures,
    package,
)

Client = Any
TODAY = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)     # a Friday; the week began on Sunday 29 November
CLOSE_DATES = ["2026-08-01", "2026-09-05", "2026-11-01", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01",
               "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06", "2026-12-31", "2027-01-01"]


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SalesforceEmulator, Client]]:
    with SalesforceEmulator(clock=SteppingClock(TODAY)) as emulator, emulator.ca_env():
        sf = emulator.client()
        sf.mdapi  # noqa: B018 - the attribute loads the WSDL, once for the module
        yield emulator, sf


# -- SOQL date literals -----------------------------------------------------------------


@pytest.mark.parametrize(("where", "expected"), [
    pytest.param("CloseDate = TODAY", ["2026-12-04"], id="today"),
    pytest.param("CloseDate = YESTERDAY", ["2026-12-03"], id="yesterday"),
    pytest.param("CloseDate = TOMORROW", ["2026-12-05"], id="tomorrow"),
    pytest.param("CloseDate = THIS_WEEK", CLOSE_DATES[4:10], id="this-week-sunday-to-saturday"),
    pytest.param("CloseDate = LAST_WEEK", ["2026-11-28"], id="last-week"),
    pytest.param("CloseDate = NEXT_WEEK", ["2026-12-06"], id="next-week"),
    pytest.param("CloseDate = THIS_MONTH", CLOSE_DATES[6:12], id="this-month"),
    pytest.param("CloseDate = LAST_MONTH", CLOSE_DATES[2:6], id="last-month"),
    pytest.param("CloseDate = NEXT_MONTH", ["2027-01-01"], id="next-month"),
    pytest.param("CloseDate = LAST_N_DAYS:3", ["2026-12-01", "2026-12-03", "2026-12-04"], id="last-n-days-has-today"),
    pytest.param("CloseDate = NEXT_N_DAYS:2", ["2026-12-05", "2026-12-06"], id="next-n-days-not-today"),
    pytest.param("CloseDate = N_DAYS_AGO:1", ["2026-12-03"], id="n-days-ago"),
    pytest.param("CloseDate = LAST_90_DAYS", CLOSE_DATES[1:9], id="last-90-days"),
    pytest.param("CloseDate = THIS_QUARTER", CLOSE_DATES[2:12], id="this-quarter"),
    pytest.param("CloseDate = THIS_YEAR", CLOSE_DATES[:12], id="this-year"),
    pytest.param("CloseDate < THIS_MONTH", CLOSE_DATES[:6], id="before-the-range"),
    pytest.param("CloseDate > THIS_WEEK", CLOSE_DATES[10:], id="after-the-range"),
    pytest.param("CloseDate >= TODAY", CLOSE_DATES[8:], id="from-the-start"),
    pytest.param("CloseDate <= last_n_days:3", CLOSE_DATES[:9], id="to-the-end-any-case"),
    pytest.param("CloseDate != THIS_MONTH AND CloseDate > LAST_MONTH", ["2027-01-01"], id="combined"),
])
def test_soql_date_literals(emulator: SalesforceEmulator, sf: Client, where: str, expected: list[str]) -> None:
    for close_date in CLOSE_DATES:
        emulator.org.add_record("Opportunity", {"Name": close_date, "StageName": "Prospecting",
                                                "CloseDate": close_date})
    rows = sf.query_all(f"SELECT CloseDate FROM Opportunity WHERE {where} ORDER BY CloseDate")["records"]
    assert [row["CloseDate"] for row in rows] == expected


def test_date_literals_count_from_the_running_users_day(emulator: SalesforceEmulator, sf: Client,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """At 03:00 GMT on 5 December it is still 4 December for the running user, eight hours west of GMT: TODAY
    is their day, as TODAY() is in a formula (SOQL and SOSL Reference, "Date Formats and Date Literals in
    WHERE": a literal's range depends on the user submitting the query)."""
    monkeypatch.setattr(emulator.org, "clock", SteppingClock(datetime(2026, 12, 5, 3, 0, tzinfo=UTC)))
    for close_date in CLOSE_DATES:
        emulator.org.add_record("Opportunity", {"Name": close_date, "StageName": "Prospecting",
                                                "CloseDate": close_date})
    rows = sf.query_all("SELECT CloseDate FROM Opportunity WHERE CloseDate = TODAY")["records"]
    assert [row["CloseDate"] for row in rows] == ["2026-12-04"]
    # and a deal created at that moment was created on their 4 December, not on 5 December (GMT)
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE CreatedDate = TODAY")["totalSize"] == len(CLOSE_DATES)
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE CreatedDate > TODAY")["totalSize"] == 0


def test_created_date_is_compared_by_its_day(emulator: SalesforceEmulator, sf: Client) -> None:
    emulator.org.add_record("Opportunity", {"Name": "Now", "StageName": "Prospecting", "CloseDate": "2027-01-01"})
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE CreatedDate = TODAY")["totalSize"] == 1
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE CreatedDate < TODAY")["totalSize"] == 0


# -- limits at deploy ------------------------------------------------------------------


@pytest.mark.parametrize(("files", "problem"), [
    pytest.param({"objects/Opportunity.object": component(
        "CustomObject", PROCESS.replace("<isActive>", f"<description>{'d' * 256}</description><isActive>"))},
        "'description' is too long: at most 255 characters (got 256)", id="business-process"),
    pytest.param({"objects/Opportunity.object": component(
        "CustomObject", PROCESS, RECORD_TYPE.replace("<label>", f"<description>{'d' * 256}</description><label>"))},
        "'description' is too long: at most 255 characters (got 256)", id="record-type"),
    pytest.param({"standardValueSets/OpportunityStage.standardValueSet": NEW_STAGES.replace(
        "<default>false</default><label>Proposal</label>",
        f"<default>false</default><description>{'d' * 256}</description><label>Proposal</label>")},
        "'description' is too long: at most 255 characters (got 256)", id="stage-value"),
    pytest.param({"objects/Opportunity.object": component("CustomObject", (
        "<fields><fullName>Channels__c</fullName><label>Channels</label><type>MultiselectPicklist</type>"
        "<visibleLines>4</visibleLines><valueSet><valueSetDefinition><sorted>false</sorted>"
        "<value><fullName>Web;Email</fullName><default>false</default><label>Web;Email</label></value>"
        "</valueSetDefinition></valueSet></fields>"))},
        "Picklist value 'Web;Email' of a multi-select picklist cannot contain ';'", id="multi-select-semicolon"),
])
def test_limits_refused_at_deploy(emulator: SalesforceEmulator, sf: Client, files: dict[str, str],
                                  problem: str) -> None:
    members = {"objects/Opportunity.object": ("CustomObject", "Opportunity"),
               "standardValueSets/OpportunityStage.standardValueSet": ("StandardValueSet", "OpportunityStage")}
    types: dict[str, list[str]] = {}
    for name in files:
        type_name, member = members[name]
        types.setdefault(type_name, []).append(member)
    status, raw = deploy(sf, {"package.xml": package(types), **files})
    assert status["state"] == "Failed"
    assert problem in [f["problem"] for f in failures(raw)]


def test_a_record_type_offers_only_values_its_picklist_has(emulator: SalesforceEmulator, sf: Client) -> None:
    picklist = ("<fields><fullName>Loss_Reason__c</fullName><label>Loss Reason</label><type>Picklist</type>"
                "<valueSet><valueSetDefinition><sorted>false</sorted>"
                "<value><fullName>Price</fullName><default>false</default><label>Price</label></value>"
                "</valueSetDefinition></valueSet></fields>")
    offered = RECORD_TYPE.replace("</recordTypes>", "<picklistValues><picklist>Loss_Reason__c</picklist>"
                                  "<values><fullName>Price</fullName><default>false</default></values>"
                                  "<values><fullName>Timing</fullName><default>false</default></values>"
                                  "</picklistValues></recordTypes>")
    files = {"package.xml": package({"CustomObject": ["Opportunity"]}),
             "objects/Opportunity.object": component("CustomObject", CHECKBOX, picklist, PROCESS, offered)}
    _, raw = deploy(sf, files)
    assert [f["problem"] for f in failures(raw)] == ["Picklist value: Timing in picklist: Loss_Reason__c not found"]
    files["objects/Opportunity.object"] = files["objects/Opportunity.object"].replace(
        "</valueSetDefinition>", "<value><fullName>Timing</fullName><default>false</default><label>Timing</label>"
                                 "</value></valueSetDefinition>")
    assert deploy(sf, files)[0]["state"] == "Succeeded"


# -- the retrieve envelope of jsforce and the Salesforce CLI ------------------------------

JSFORCE_ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>{token}</sessionId>
</SessionHeader></soapenv:Header>
<soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata">{body}</soapenv:Body></soapenv:Envelope>"""


def jsforce_call(emulator: SalesforceEmulator, body: str) -> etree._Element:
    """One Metadata API call as jsforce (and so the Salesforce CLI) sends it: its envelope, its parameter names."""
    response = requests.post(f"{emulator.instance_url}/services/Soap/m/63.0", timeout=10, verify=emulator.ca_file,
                             headers={"Content-Type": "text/xml", "SOAPAction": '""'},
                             data=JSFORCE_ENVELOPE.format(token=emulator.access_token, body=body).encode())
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


@pytest.mark.parametrize(("single_package", "prefix"), [
    pytest.param("<singlePackage>true</singlePackage>", "", id="jsforce-single-package"),
    pytest.param("", "unpackaged/", id="salesforce-cli-manifest"),
])
def test_retrieve_as_jsforce_and_the_salesforce_cli_send_it(emulator: SalesforceEmulator, sf: Client,
                                                            single_package: str, prefix: str) -> None:
    started = jsforce_call(emulator, (
        "<retrieve><request><apiVersion>63.0</apiVersion>" + single_package +
        "<unpackaged><types><members>OpportunityStage</members><name>StandardValueSet</name></types>"
        "<version>63.0</version></unpackaged></request></retrieve>"))
    async_id = started.findtext(".//mt:result/mt:id", None, NS)
    assert started.findtext(".//mt:result/mt:state", None, NS) == "Queued"
    done = jsforce_call(emulator, f"<checkRetrieveStatus><asyncProcessId>{async_id}</asyncProcessId>"
                                  "<includeZip>true</includeZip></checkRetrieveStatus>")
    assert done.findtext(".//mt:result/mt:status", None, NS) == "Succeeded"
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(done.findtext(".//mt:result/mt:zipFile", "", NS))))
    stages = archive.read(f"{prefix}standardValueSets/OpportunityStage.standardValueSet").decode()
    assert "<fullName>Prospecting</fullName>" in stages


# -- formulas type-checked at deploy ------------------------------------------------------


WELL_TYPED = ["AND(CASE(StageName, &quot;Closed Won&quot;, 1, 0) = 1, NOT(Budget_Confirmed__c))",
              "CloseDate - TODAY() &gt; 30 || ISBLANK(Amount)", "IF(ISNEW(), Amount &gt; 0, FALSE)",
              "DATEVALUE(CreatedDate) &lt; TODAY() - 21 &amp;&amp; NOT(ISPICKVAL(StageName, &quot;&quot;))",
              "LEN(Name) &gt; 80 || Name &amp; &quot;x&quot; = &quot;x&quot; || Amount * 2 &gt;= MAX(1, 2)"]


@pytest.mark.parametrize(("formula", "problem"), [
    pytest.param("Amount + 1", "Formula result is data type (Number), incompatible with expected data type (true or "
                 "false).", id="not-boolean"),
    pytest.param("TEXT(StageName)", "Formula result is data type (Text), incompatible with expected data type (true "
                 "or false).", id="text-result"),
    pytest.param("ISPICKVAL(Name, &quot;Acme&quot;)", "Incorrect parameter type for function 'ISPICKVAL()'. Expected "
                 "Picklist, received Text", id="ispickval-on-text"),
    pytest.param("ISPICKVAL(Budget_Confirmed__c, &quot;Yes&quot;)", "Incorrect parameter type for function "
                 "'ISPICKVAL()'. Expected Picklist, received Boolean", id="ispickval-on-checkbox"),
    pytest.param("IF(Amount &gt; 5, TRUE)", "Incorrect number of parameters for function 'IF()'. Expected 3, "
                 "received 2", id="if-arity"),
    pytest.param("AND(Amount, Budget_Confirmed__c)", "Incorrect parameter type for function 'AND()'. Expected "
                 "Boolean, received Number", id="and-of-a-number"),
    pytest.param("CloseDate &gt; 5", "Incorrect parameter type for operator '>'. Expected Date, received Number",
                 id="date-against-number"),
    pytest.param("Name &amp; 1 = &quot;a&quot;", "Incorrect parameter type for operator '&'. Expected Text, received "
                 "Number", id="concatenate-a-number"),
    pytest.param("Amount &gt; 5 &amp;&amp; Name", "Incorrect parameter type for operator '&&'. Expected Boolean, "
                 "received Text", id="and-operator"),
])
def test_rule_formulas_are_type_checked(emulator: SalesforceEmulator, sf: Client, formula: str, problem: str) -> None:
    """The ill-typed rule fails the deploy; the well-typed ones deployed beside it raise nothing."""
    rules = [f"<validationRules><fullName>R{n}</fullName><active>true</active><errorConditionFormula>{text}"
             "</errorConditionFormula><errorMessage>m</errorMessage></validationRules>"
             for n, text in enumerate([formula, *WELL_TYPED])]
    _, raw = deploy(sf, {"package.xml": package({"CustomObject": ["Opportunity"]}),
                         "objects/Opportunity.object": component("CustomObject", CHECKBOX, *rules)})
    assert [(f["componentType"], f["fullName"], f["problem"]) for f in failures(raw)] == \
        [("ValidationRule", "Opportunity.R0", problem)]
