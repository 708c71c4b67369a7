"""The emulator's assignment rules, through simple-salesforce over real HTTPS: what a deploy of AssignmentRules
refuses, what a retrieve returns, and the owner a lead created through the REST API gets.

Sources (tests/emulators/salesforce/assignment.py cites them): Metadata API Developer Guide, "AssignmentRules"
(formula or criteriaItems, not both; assignedTo names a user or a queue); Help, "Assignment Rules" (one active Lead
rule; first matching entry assigns); REST API Developer Guide, "Assignment Rule Header" (Sforce-Auto-Assign,
default TRUE)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import flag
from tests.emulators.test_salesforce_emulator import component, deploy, failures, package, retrieve
from tests.emulators.test_salesforce_emulator import running  # noqa: F401 - the module's emulator and client

Client = Any


@pytest.fixture
def org(running: tuple[SalesforceEmulator, Client]) -> tuple[SalesforceEmulator, Client]:  # noqa: F811
    emulator, sf = running
    emulator.reset()
    emulator.org.add_user("ana@acme.com")
    emulator.org.add_user("old@acme.com", active=False)
    emulator.org.add_queue("Inbound_SDR", "Inbound SDR")
    return emulator, sf


def rule(name: str, *entries: str, active: bool = True) -> str:
    return (f"<assignmentRule><fullName>{name}</fullName><active>{str(active).lower()}</active>"
            + "".join(entries) + "</assignmentRule>")


def entry(assigned_to: str, kind: str, criteria: str) -> str:
    return f"<ruleEntry><assignedTo>{assigned_to}</assignedTo><assignedToType>{kind}</assignedToType>{criteria}" \
           "</ruleEntry>"


def deploy_rules(sf: Client, *rules: str) -> tuple[dict[str, Any], list[dict[str, str | None]]]:
    status, raw = deploy(sf, {"package.xml": package({"AssignmentRules": ["Lead"]}),
                              "assignmentRules/Lead.assignmentRules": component("AssignmentRules", *rules)})
    return status, failures(raw)


def test_a_deployed_rule_is_retrieved_as_it_was_deployed(org: tuple[SalesforceEmulator, Client]) -> None:
    emulator, sf = org
    status, problems = deploy_rules(sf, rule("Routing", entry("ana@acme.com", "User", "<formula>TRUE</formula>")))
    assert status["state"] == "Succeeded", problems
    files = retrieve(sf, {"AssignmentRules": ["Lead"]})
    assert "<assignedTo>ana@acme.com</assignedTo>" in files["assignmentRules/Lead.assignmentRules"]
    assert "<fullName>Routing</fullName>" in files["assignmentRules/Lead.assignmentRules"]


@pytest.mark.parametrize(("criteria", "assigned_to", "kind", "problem"), [
    ("<formula>TRUE</formula><criteriaItems><field>Lead.Country</field><operation>equals</operation>"
     "<value>Peru</value></criteriaItems>", "ana@acme.com", "User",
     "You can specify either formula or criteriaItems, but not both"),
    ("<formula>Nope__c = 1</formula>", "ana@acme.com", "User",
     "Formula: Field Nope__c does not exist. Check spelling."),
    ("<criteriaItems><field>Lead.Nope__c</field><operation>equals</operation><value>1</value></criteriaItems>",
     "ana@acme.com", "User", "Unknown field: Lead.Nope__c"),
    ("<formula>TRUE</formula>", "nobody@acme.com", "User", "Invalid user specified in assignedTo: nobody@acme.com"),
    ("<formula>TRUE</formula>", "old@acme.com", "User", "Invalid user specified in assignedTo: old@acme.com"),
    ("<formula>TRUE</formula>", "Outbound", "Queue", "Invalid queue specified in assignedTo: Outbound"),
])
def test_what_salesforce_refuses_in_a_rule_entry(org: tuple[SalesforceEmulator, Client], criteria: str,
                                                 assigned_to: str, kind: str, problem: str) -> None:
    emulator, sf = org
    status, problems = deploy_rules(sf, rule("Routing", entry(assigned_to, kind, criteria)))
    assert status["state"] == "Failed"
    assert [(p["componentType"], p["fullName"], p["problem"]) for p in problems] == [
        ("AssignmentRule", "Lead.Routing", problem)]
    assert emulator.org.get("AssignmentRule", "Lead.Routing") is None


def test_a_rule_with_an_unknown_element_fails_the_schema(org: tuple[SalesforceEmulator, Client]) -> None:
    _, sf = org
    status, problems = deploy_rules(sf, rule("Routing", "<ruleEntry><owner>ana</owner></ruleEntry>"))
    assert status["state"] == "Failed" and "owner" in str(problems[0]["problem"])


def test_one_lead_rule_is_active_and_a_rest_create_runs_it_unless_the_header_says_false(
        org: tuple[SalesforceEmulator, Client]) -> None:
    emulator, sf = org
    assert deploy_rules(sf, rule("Theirs", entry("ana@acme.com", "User", "<formula>TRUE</formula>")))[0][
        "state"] == "Succeeded"
    status, problems = deploy_rules(sf, rule(
        "Ours", entry("ana@acme.com", "User", "<formula>Country = 'Peru'</formula>"),
        entry("Inbound_SDR", "Queue", "<formula>TRUE</formula>")))
    assert status["state"] == "Succeeded", problems
    theirs, ours = emulator.org.get("AssignmentRule", "Lead.Theirs"), emulator.org.get("AssignmentRule", "Lead.Ours")
    assert theirs is not None and ours is not None
    assert (flag(theirs.body, "active"), flag(ours.body, "active")) == (False, True)    # activating one: the other off
    ana = next(u["Id"] for u in emulator.org.records["User"].values() if u["Username"] == "ana@acme.com")
    queue = next(iter(emulator.org.records["Group"]))
    runner = sf.query("SELECT Id FROM User WHERE Username = 'integration@emulator.example'")["records"][0]["Id"]

    def owner(values: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        created = sf.Lead.create({"LastName": "Lead", "Company": "Acme", **values}, headers=headers)
        return str(sf.Lead.get(created["id"])["OwnerId"])

    assert owner({"Country": "Peru"}) == ana                # the first entry that matches
    assert owner({"Country": "Chile"}) == queue
    assert owner({}) == queue                                # a blank country is not 'Peru'
    assert owner({"Country": "Peru"}, {"Sforce-Auto-Assign": "FALSE"}) == runner
    assert owner({"Country": "Peru"}, {"Sforce-Auto-Assign": theirs.id}) == ana   # the inactive rule, by its id
