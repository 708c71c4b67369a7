"""Routes become the Lead assignment rule, and leads created through the REST API get the owners the routes say.

For every starter: plan → apply → the rule's leads, created through simple-salesforce's REST create (no
Sforce-Auto-Assign header: REST API Developer Guide, "Assignment Rule Header", the default is TRUE), get the owner
of the route this file expects; the sandbox (sos/backends/local/automation.py) gives the same leads the same
owners. The expected route of each lead is read from the starter's `routing:` by docs/language.md ("routing":
routes are tried in order, the first whose `when` holds assigns; a blank field satisfies no comparison) and
Salesforce's Help, "Assignment Rules" (entries are evaluated in order, the first match assigns).

A round robin differs in one documented way: Salesforce's turn is the lead's number (an auto-number every new lead
takes, Help "Create a Round Robin Lead Assignment Rule"), the sandbox's the route's own count. The expected owners
are computed for each from its rule: member (number mod N) in Salesforce, member (count mod N) in the sandbox.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree
from sos.backends.local import LocalBackend
from sos.backends.salesforce.backend import STALE
from sos.backends.salesforce.export import UNCHECKED_ASSIGNEES
from sos.cli import cli
from sos.engine import apply_plan, make_plan
from sos.errors import SosError
from sos.model.automation import Queue, RoundRobin, User, assignment_of
from sos.model.exprs import model_scope
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Action
from sos.project import Project
from tests.backends.salesforce.conftest import STARTERS, blueprint_text
from tests.backends.salesforce.test_metadata import schema_errors
from tests.backends.salesforce.test_records import naming, salesforce_row
from tests.backends.test_local import apply_blueprint
from tests.backends.test_local import make_project as make_sandbox_project
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.schema import MD_NS as MD
from tests.emulators.salesforce.xmlutil import flag, kids, text

MakeProject = Callable[..., Project]
TODAY = datetime.date(2026, 12, 5)

# Each starter's leads and the route each must go to. The org's LeadSource picklist holds Salesforce's default
# values only (the emulator restricts it), so routes on other lead sources are exercised by leads that must not
# match them (LeadSource Web).
PQL = {"is_pql": True, "pql_reason": "Seat growth", "pql_date": datetime.date(2026, 12, 1)}    # a rule needs both
LEADS: dict[str, list[tuple[dict[str, Any], str]]] = {
    "b2b-saas-meddicc": [
        ({"target_account": True, "country": "Germany", "employees": 5000}, "named_accounts"),
        ({"country": "Germany", "employees": 50}, "emea_territory"),
        ({"country": "United States", "employees": 1500, "lead_source": "Web"}, "enterprise_segment"),
        ({"country": "United States", "employees": 999}, "mid_market_segment"),
        ({"country": "United States", "employees": 199}, "catch_all"),
        ({"lead_source": "Web"}, "catch_all"),                      # blank employees: no segment matches
        ({"country": "France", "employees": 300}, "emea_territory"),  # EMEA comes before the mid-market
        ({"country": "Spain"}, "emea_territory"),
        ({"country": "Canada", "employees": 1000}, "enterprise_segment"),
    ],
    "smb-bant": [
        ({"country": "Mexico"}, "international"),
        ({"country": "Canada", "employees": 201}, "too_large_for_smb"),
        ({"country": "United States", "employees": 200, "request_type": "Demo request"}, "demo_requests"),
        ({"employees": 10}, "catch_all"),                            # blank country: not international
        ({"country": "United States", "request_type": "Demo request"}, "demo_requests"),
        ({"country": "Canada", "lead_source": "Web", "request_type": "Webinar"}, "catch_all"),
        ({"country": "United States"}, "catch_all"),
        ({"country": "Canada", "request_type": "Demo request"}, "demo_requests"),
    ],
    "plg-inbound": [
        ({**PQL, "employees": 1000}, "enterprise_pql"),
        ({**PQL, "employees": 999, "usage_limit_hits_30d": 3}, "pql_limit_hits"),
        ({**PQL, "active_seats": 10}, "pql_seat_growth"),
        ({**PQL, "active_seats": 9, "usage_limit_hits_30d": 2}, "other_pqls"),
        ({"is_pql": False, "employees": 5000, "active_seats": 50, "usage_limit_hits_30d": 9}, "self_serve"),
        ({"lead_source": "Web"}, "self_serve"),
        ({**PQL, "usage_limit_hits_30d": 4, "active_seats": 20}, "pql_limit_hits"),
    ],
    "services-agency": [
        ({"referred_by": "Jane Doe", "budget_indicated": "Over $250k"}, "referrals"),
        ({"budget_indicated": "$100k-$250k"}, "large_budgets"),
        ({"budget_indicated": "$25k-$100k", "service_interest": ["Engineering", "Design"]}, "engineering_practice"),
        ({"service_interest": ["Design"], "lead_source": "Web"}, "catch_all"),
        ({"budget_indicated": "Under $25k"}, "catch_all"),
        ({"budget_indicated": "Over $250k", "service_interest": ["Engineering"]}, "large_budgets"),
        ({}, "catch_all"),
    ],
}


def expected_owners(model: Model, routed: list[str], turn_of: Callable[[str, int], int]) -> list[str]:
    """The owner each lead gets from the route it goes to; a round robin's member by `turn_of(route, lead index)`."""
    owners = []
    for index, key in enumerate(routed):
        match assignment_of(model.resources[Address(Kind.ASSIGNMENT, "lead", key)]).assignee:
            case User(email=email):
                owners.append(email)
            case Queue(key=queue):
                owners.append(queue)
            case RoundRobin(users=users):
                owners.append(users[turn_of(key, index) % len(users)])
    return owners


def owner_names(emulator: SalesforceEmulator) -> dict[str, str]:
    """Each user's id → email and each queue's id → DeveloperName, as the org holds them."""
    return {**{str(u["Id"]): str(u["Email"]) for u in emulator.org.records["User"].values()},
            **{str(g["Id"]): str(g["DeveloperName"]) for g in emulator.org.records["Group"].values()}}


def lead_values(number: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"last_name": f"Lead {number}", "company": "Acme", **values}


@pytest.mark.parametrize("case", STARTERS)
def test_leads_created_through_rest_get_the_owners_the_routes_say(
        emulator: SalesforceEmulator, make_project: MakeProject, tmp_path: Path, case: str) -> None:
    project = make_project(blueprint_text(case))
    run = make_plan(project, project.target(None), impact=False)
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    model = run.desired
    routes = {r.address.key for r in model.of_kind(Kind.ASSIGNMENT)}
    only_on_lead_source = {r.address.key for r in model.of_kind(Kind.ASSIGNMENT)
                           if str(r.attrs.get("when", "")).startswith("lead_source ")}
    assert routes - only_on_lead_source <= {key for _, key in LEADS[case]} <= routes, \
        "every route but those on lead sources alone has a lead that must match it"
    sf, scope, names, who = emulator.client(), model_scope(model, "lead"), naming(model, "lead"), owner_names(emulator)
    in_org = []
    for number, (values, _) in enumerate(LEADS[case], start=1):
        created = sf.Lead.create(salesforce_row(lead_values(number, values), scope, names, {}))
        in_org.append(who[sf.Lead.get(created["id"])["OwnerId"]])
    routed = [key for _, key in LEADS[case]]
    # Salesforce: the n-th lead created (Sos_Lead_Number__c = n) is member MOD(n, N) + 1, counting from 1.
    assert in_org == expected_owners(model, routed, lambda key, index: index + 1)

    sandbox_root = tmp_path / "sandbox"
    sandbox_root.mkdir()
    sandbox_project = make_sandbox_project(sandbox_root, blueprint_text(case))
    apply_blueprint(sandbox_project)
    sandbox = LocalBackend(sandbox_project.target(None), sandbox_project.root)
    in_sandbox = []
    for number, (values, _) in enumerate(LEADS[case], start=1):
        lead = sandbox.create_record("lead", lead_values(number, values))
        in_sandbox.append(next(r["owner"] for r in sandbox.records("lead", today=TODAY) if r["_id"] == lead))
    # The sandbox: a round robin's k-th lead (from 0) goes to member k.
    assert in_sandbox == expected_owners(model, routed, lambda key, index: routed[:index].count(key))
    fixed = [i for i, key in enumerate(routed) if not isinstance(
        assignment_of(model.resources[Address(Kind.ASSIGNMENT, "lead", key)]).assignee, RoundRobin)]
    assert [in_org[i] for i in fixed] == [in_sandbox[i] for i in fixed]      # same owners where no turn is taken


ROUTED = """\
sos: 1
name: client
fields:
  lead:
    partner: {type: checkbox, label: Partner}
routing:
  - {key: partners, when: partner, assign_to: {user: pat@northwind-traders.com}}
  - key: emea
    when: "country in ['Germany', 'France']"
    assign_to: {round_robin: [eva@northwind-traders.com, emil@northwind-traders.com]}
  - {key: everyone, assign_to: {queue: inbound}}
"""
RULE = "Lead.Sos_Lead_Routing"


def sos(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def at(text: str, line: int, start: str) -> str:
    """`blueprint.yaml:<line>:<col>` of the first `start` on that line (1-based), read from the text itself."""
    return f"blueprint.yaml:{line}:{text.splitlines()[line - 1].index(start) + 1}"


def test_a_user_or_queue_the_org_lacks_is_an_error_at_the_route_line(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    users = emulator.org.records["User"]
    del users[next(i for i, u in users.items() if u["Username"] == "pat@northwind-traders.com")]
    next(u for u in users.values() if u["Username"] == "emil@northwind-traders.com")["IsActive"] = False
    emulator.org.records["Group"].clear()
    code, _, stderr = sos(project, monkeypatch, "plan")
    assert code == 1
    lines = stderr.splitlines()
    assert f"{at(ROUTED, 7, '{user')}: error: route partners assigns to pat@northwind-traders.com, who is not a " \
           "user of the Salesforce org [sf-assignee-missing]" in lines
    assert f"{at(ROUTED, 10, '{round_robin')}: error: route emea assigns to emil@northwind-traders.com, whose " \
           "Salesforce user emil@northwind-traders.com is inactive [sf-assignee-inactive]" in lines
    assert f"{at(ROUTED, 11, '{queue')}: error: route everyone assigns to queue inbound, which the Salesforce org " \
           "does not have [sf-assignee-missing]" in lines
    assert "  fix: create a queue named inbound with Lead among its supported objects in Setup → Queues" in lines
    assert emulator.org.get("AssignmentRule", RULE) is None


def test_users_are_found_by_email_and_queues_by_name(emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(ROUTED.replace("queue: inbound", "queue: inbound_leads"))
    for user in emulator.org.records["User"].values():     # usernames that are not the addresses the blueprint has
        user["Username"] = str(user["Email"]).replace("@", ".sf@")
    emulator.org.add_queue("Q_0042", "Inbound Leads")
    run = make_plan(project, project.target(None), impact=False)
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    stored = emulator.org.get("AssignmentRule", RULE)
    assert stored is not None
    assert [(text(e, "assignedTo"), text(e, "assignedToType")) for e in kids(stored.body, "ruleEntry")] == [
        ("pat.sf@northwind-traders.com", "User"), ("eva.sf@northwind-traders.com", "User"),
        ("emil.sf@northwind-traders.com", "User"), ("Q_0042", "Queue")]


def their_rule(emulator: SalesforceEmulator) -> None:
    """The org's own Lead rule, active, as an admin made it in Setup."""
    body = etree.fromstring(f'<assignmentRule xmlns="{MD}"><active>true</active><ruleEntry><assignedTo>'
                            "integration@emulator.example</assignedTo><assignedToType>User</assignedToType>"
                            "</ruleEntry></assignmentRule>")
    emulator.org.put("AssignmentRule", "Lead.Standard", body)


def test_an_active_rule_sos_did_not_make_is_left_alone_unless_the_target_lets_sos_take_over(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    their_rule(emulator)
    code, _, stderr = sos(project, monkeypatch, "plan")
    assert code == 1
    assert f"{at(ROUTED, 7, '{user')}: error: the org's own lead assignment rule Standard is active, and Salesforce " \
           "keeps one active: sos will not replace it [sf-assignment-rule-active]" in stderr.splitlines()
    assert "  fix: set `take_over_lead_assignment: true` on the target to make sos's rule (Sos_Lead_Routing) the " \
           "active one, or remove `routing:` and keep routing in Salesforce" in stderr.splitlines()

    project = make_project(ROUTED, options=", take_over_lead_assignment: true")
    code, _, stderr = sos(project, monkeypatch, "apply", "--auto-approve")
    assert code == 0, stderr
    theirs, ours = emulator.org.get("AssignmentRule", "Lead.Standard"), emulator.org.get("AssignmentRule", RULE)
    assert theirs is not None and ours is not None
    assert (flag(theirs.body, "active"), flag(ours.body, "active")) == (False, True)
    assert [text(e, "assignedTo") for e in kids(theirs.body, "ruleEntry")] == ["integration@emulator.example"]
    assert sos(project, monkeypatch, "plan", "--detailed-exitcode")[0] == 0


def test_a_rule_edited_in_setup_is_planned_and_put_back(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    stored = emulator.org.get("AssignmentRule", RULE)
    assert stored is not None
    body = copy.deepcopy(stored.body)
    kids(body, "ruleEntry")[0][0].text = "eva@northwind-traders.com"        # the partners go to Eva instead
    emulator.org.put("AssignmentRule", RULE, body)
    plan = make_plan(project, project.target(None)).plan
    assert [(c.action, str(c.address), c.reason) for c in plan.changes] == [
        (Action.UPDATE, "route.lead.partners", "assignment rule Sos_Lead_Routing edited in Salesforce")]
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    stored = emulator.org.get("AssignmentRule", RULE)
    assert stored is not None and text(kids(stored.body, "ruleEntry")[0], "assignedTo") == "pat@northwind-traders.com"
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_removed_routes_stay_in_the_rule_until_deletion_is_allowed(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    (project.root / "blueprint.yaml").write_text(ROUTED.replace(
        "  - {key: partners, when: partner, assign_to: {user: pat@northwind-traders.com}}\n", ""), encoding="utf-8")

    def assignees() -> list[str | None]:
        stored = emulator.org.get("AssignmentRule", RULE)
        assert stored is not None
        return [text(e, "assignedTo") for e in kids(stored.body, "ruleEntry")]

    code, out, stderr = sos(project, monkeypatch, "apply", "--auto-approve")
    assert code == 0, stderr
    assert assignees()[0] == "pat@northwind-traders.com"                    # held back: the route still routes
    code, out, stderr = sos(project, monkeypatch, "apply", "--auto-approve", "--allow-delete")
    assert code == 0, stderr
    assert assignees() == ["eva@northwind-traders.com", "emil@northwind-traders.com", "inbound"]
    assert sos(project, monkeypatch, "plan", "--detailed-exitcode")[0] == 0

    (project.root / "blueprint.yaml").write_text(ROUTED.split("routing:")[0], encoding="utf-8")
    assert sos(project, monkeypatch, "apply", "--auto-approve", "--allow-delete")[0] == 0
    stored = emulator.org.get("AssignmentRule", RULE)
    assert stored is not None and not flag(stored.body, "active") and assignees() == []   # kept, switched off
    assert sos(project, monkeypatch, "plan", "--detailed-exitcode")[0] == 0


def test_a_plan_made_before_the_org_s_own_rule_was_switched_on_is_stale(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(ROUTED)
    run = make_plan(project, project.target(None), impact=False)
    their_rule(emulator)                                  # switched on in Setup after the plan was made
    with pytest.raises(SosError) as caught:
        run.backend.apply(run.plan, run.desired)
    assert caught.value.diagnostics[0].message == STALE
    assert emulator.org.get("AssignmentRule", RULE) is None


def test_sos_build_writes_the_rule_and_its_round_robin_fields_valid_against_the_xsd(
        make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    code, out, stderr = sos(project, monkeypatch, "build", "--out", "build")
    assert code == 0, stderr
    built = project.root / "build"
    rule = built / "assignmentRules" / "Lead.assignmentRules"
    assert schema_errors(rule.read_bytes(), "AssignmentRules") == []      # the WSDL's XSD, in WSDL order
    lead = etree.fromstring((built / "objects" / "Lead.object").read_bytes())
    assert {text(f, "fullName"): (text(f, "type"), text(f, "formula")) for f in kids(lead, "fields")} == {
        "Partner__c": ("Checkbox", None), "Sos_Lead_Number__c": ("AutoNumber", None),
        "Sos_Round_Robin_2__c": ("Number", "MOD(VALUE(Sos_Lead_Number__c), 2) + 1")}
    assert schema_errors((built / "objects" / "Lead.object").read_bytes(), "CustomObject") == []
    assert "<members>Lead.Sos_Lead_Routing</members><name>AssignmentRule</name>" in \
        "".join(line.strip() for line in (built / "package.xml").read_text().splitlines())
    assert UNCHECKED_ASSIGNEES in " ".join(stderr.split()) + " ".join(out.split())


def test_a_refused_rule_is_blamed_on_the_routes_and_nothing_is_applied(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(ROUTED)
    run = make_plan(project, project.target(None), impact=False)
    emulator.faults.fail_component(RULE, "Unable to save the rule", type_name="AssignmentRule")
    result = run.backend.apply(run.plan, run.desired)
    routes = {a for a in result.failed if a.kind is Kind.ASSIGNMENT}
    assert {str(a) for a in routes} == {"route.lead.partners", "route.lead.emea", "route.lead.everyone"}
    assert all("Unable to save the rule" in result.failed[a] for a in routes)
    assert {why for a, why in result.failed.items() if a not in routes} == {
        "not applied: rolled back because another component failed"}
    assert emulator.org.get("AssignmentRule", RULE) is None and emulator.org.of_type("CustomField") == []


def test_the_rule_switched_off_and_a_turn_field_edited_in_setup_are_planned_and_put_back(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    for type_name, name, element, value in (("AssignmentRule", RULE, "active", "false"),
                                            ("CustomField", "Lead.Sos_Round_Robin_2__c", "formula",
                                             "MOD(VALUE(Sos_Lead_Number__c), 3) + 1")):
        stored = emulator.org.get(type_name, name)
        assert stored is not None
        body = copy.deepcopy(stored.body)
        found = next(e for e in kids(body) if etree.QName(e).localname == element)
        found.text = value
        emulator.org.put(type_name, name, body)
    plan = make_plan(project, project.target(None)).plan
    assert [(str(c.address), c.reason) for c in plan.changes] == [
        ("route.lead.partners", "assignment rule Sos_Lead_Routing switched off in Salesforce; round-robin fields "
                                "edited in Salesforce")]
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    stored = emulator.org.get("AssignmentRule", RULE)
    assert stored is not None and flag(stored.body, "active")
    assert make_plan(project, project.target(None)).plan.changes == ()


def test_a_rule_deleted_in_setup_takes_its_routes_with_it_and_the_plan_makes_it_again(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(ROUTED)
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    emulator.org.remove("AssignmentRule", RULE)
    plan = make_plan(project, project.target(None)).plan
    assert [(c.action, str(c.address)) for c in plan.changes] == [
        (Action.CREATE, "route.lead.emea"), (Action.CREATE, "route.lead.everyone"),
        (Action.CREATE, "route.lead.partners")]
    assert sos(project, monkeypatch, "apply", "--auto-approve")[0] == 0
    assert emulator.org.get("AssignmentRule", RULE) is not None
    assert make_plan(project, project.target(None)).plan.changes == ()
