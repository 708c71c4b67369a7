"""ASSIGNMENT (routes) → the Lead assignment rule sos owns (read/assignment.py says how it is read back).

One rule, Sos_Lead_Routing, with an entry per route in blueprint order (Salesforce tries entries in order, and the
first that matches assigns the lead): its formula is the route's `when` in the formula dialect (TRUE for a route
without one), after a comment that keeps the route's blueprint text. Users are named by username, queues by
DeveloperName, both found in the org at plan time (Routing.directory); offline (`sos build`) the blueprint's
addresses and queue keys are written as they are.

A round robin is Salesforce's documented pattern (Help, "Create a Round Robin Lead Assignment Rule"): an auto-number
field counts leads, a formula field MOD(VALUE(number), N) + 1 says whose turn a lead is, and one entry per member
matches its turn. Both fields are derived (marked, not resources), deployed with the rule.

The rule is written whole whenever a route changes; with no route left it is deployed inactive and empty, never
deleted. Only one Lead rule is active in an org: when the org's own rule is active, sos refuses to take its place
unless the target sets `take_over_lead_assignment: true`; then Salesforce deactivates the other when sos's
rule is deployed active (sos never edits it).
"""

from __future__ import annotations

import json

from sos.backends.salesforce.lower import people
from sos.backends.salesforce.lower.context import Build, Part, same_formula
from sos.backends.salesforce.marks import ROUND_ROBIN_MARK, formula_comment
from sos.backends.salesforce.package import Component, FieldSpec, render
from sos.backends.salesforce.read.assignment import NUMBER_FIELD, RULE_FILE, RULE_NAME, Entry, turn_field
from sos.backends.salesforce.standard_fields import expression_naming
from sos.errors import Diagnostic, SosError
from sos.model.automation import Queue, RoundRobin, User, assignment_of
from sos.model.exprs import exprs_of
from sos.model.resources import Address, Kind, Resource

TAKE_OVER = "take_over_lead_assignment"     # the target option that lets sos's rule become the active one


def write(b: Build) -> list[Part]:
    """The round-robin fields, when the rule is deployed and a route takes turns."""
    if not _touched(b):
        return []
    return [("Lead", "fields", spec, Component("CustomField", f"Lead.{spec.name}", None))
            for spec in round_robin_fields(_routes(b))]


def delete(b: Build, address: Address) -> list[Component]:
    """Nothing to destroy: the rule is deployed again without the route (rule_file)."""
    return []


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """Sos's rule edited or switched off, or its round-robin fields edited, in Salesforce: on the first route (a rule
    deleted in Salesforce takes its routes with it: the plan creates them again)."""
    assert b.live is not None
    routes = _routes(b)
    if not routes:
        return
    routing = b.live.routing
    wanted = entries(b, routes)
    reasons = []
    if not _same(wanted, routing.entries):
        reasons.append(f"assignment rule {RULE_NAME} edited in Salesforce")
    elif not routing.active:
        reasons.append(f"assignment rule {RULE_NAME} switched off in Salesforce")
    if any(routing.fields.get(s.name) != (s.formula or s.display_format) for s in round_robin_fields(routes)):
        reasons.append("round-robin fields edited in Salesforce")
    if reasons:
        found.setdefault(routes[0].address, []).extend(reasons)


def rule_file(b: Build) -> tuple[str, bytes, Component] | None:
    """The AssignmentRules file holding sos's rule, when a route changes (None otherwise)."""
    if not _touched(b):
        return None
    routes = _routes(b)
    if routes and b.live is not None and b.live.routing.others_active \
            and not b.live.routing.take_over:
        b.problems.append(Diagnostic(
            routes[0].spans.get("assign_to", routes[0].origin),
            f"the org's own lead assignment rule {b.live.routing.others_active[0]} is active, and Salesforce keeps "
            f"one active: sos will not replace it", "sf-assignment-rule-active",
            why="sos never edits a rule it did not make, and activating its own would switch that one off",
            fix=f"set `{TAKE_OVER}: true` on the target to make sos's rule ({RULE_NAME}) the active one, or remove "
                "`routing:` and keep routing in Salesforce"))
    body = render("assignment_rules.xml.j2", name=RULE_NAME, active=bool(routes), entries=entries(b, routes))
    return RULE_FILE, body, Component("AssignmentRule", f"Lead.{RULE_NAME}", None)


def entries(b: Build, routes: list[Resource]) -> list[Entry]:
    """The rule's entries: one per route, one per member of a round robin."""
    made = []
    for route in routes:
        assignment = assignment_of(route)
        comment = formula_comment(route.address, {
            "assign": json.dumps(route.attrs["assign_to"], sort_keys=True),
            "when": route.attrs.get("when") or "", "description": route.attrs.get("description") or ""})
        condition = _condition(b, route)
        match assignment.assignee:
            case User(email=email):
                made.append(Entry(_user(b, route, email), "User", comment + (condition or "TRUE")))
            case Queue(key=key):
                made.append(Entry(_queue(b, route, key), "Queue", comment + (condition or "TRUE")))
            case RoundRobin(users=users):
                for turn, email in enumerate(users, start=1):
                    matches = f"{turn_field(len(users))} = {turn}"
                    formula = f"AND({condition}, {matches})" if condition else matches
                    made.append(Entry(_user(b, route, email), "User", comment + formula))
    return made


def round_robin_fields(routes: list[Resource]) -> list[FieldSpec]:
    """The auto-number and one turn field per round-robin size the routes use."""
    sizes = sorted({len(a.assignee.users) for a in map(assignment_of, routes) if isinstance(a.assignee, RoundRobin)})
    if not sizes:
        return []
    number = FieldSpec(NUMBER_FIELD, "AutoNumber", "Lead Number (round robin)", _described(
        "Counts leads, so routes that take turns know whose turn a new lead is."), display_format="{0}")
    return [number] + [FieldSpec(
        turn_field(size), "Number", f"Round Robin Turn of {size}", _described(
            f"Whose turn a new lead is in a round robin of {size}: 1 to {size}, in the order of the lead numbers."),
        precision=18, scale=0, formula=f"MOD(VALUE({NUMBER_FIELD}), {size}) + 1") for size in sizes]


def _described(text: str) -> str:
    return f"{text}\n\n{ROUND_ROBIN_MARK}"


def _touched(b: Build) -> bool:
    return any(a.kind is Kind.ASSIGNMENT for a in (*b.writes, *b.deletes))


def _routes(b: Build) -> list[Resource]:
    """The routes sos manages after this deploy, in blueprint order (lead routes: Salesforce routes leads); a route
    whose deletion is held back keeps its place, ahead of the one that now has its position."""
    return sorted((r for r in b.managed_after(Kind.ASSIGNMENT) if r.address.scope == "lead"),
                  key=lambda r: (int(r.attrs.get("position", 0)), r.address in b.writes))


def _same(wanted: list[Entry], found: list[Entry]) -> bool:
    """The same entries in the same order; names compared as Salesforce does (case-insensitively)."""
    return len(wanted) == len(found) and all(
        (w.assigned_to.lower(), w.assigned_to_type) == (f.assigned_to.lower(), f.assigned_to_type)
        and same_formula(f.formula, w.formula) for w, f in zip(wanted, found, strict=True))


def _condition(b: Build, route: Resource) -> str | None:
    """The route's `when` as a formula (None: every lead)."""
    from sos.expr.dialects.sf_formula import SalesforceFormula

    if not route.attrs.get("when"):
        return None
    try:
        exprs = route.exprs or exprs_of(route, b.desired, b.scopes)
        generator = SalesforceFormula(exprs["when"].scope, expression_naming(
            "lead", b.field_names("lead"), b.stage_names_by_key(), b.status_names_by_key()))
        return generator.generate(exprs["when"])
    except SosError as error:
        b.problems.extend(error.diagnostics)
        return "FALSE"


def _user(b: Build, route: Resource, reference: str) -> str:
    """The username of the user `reference` (a username or an email) names (the reference offline)."""
    found = people.user(b, route, reference, route.spans.get("assign_to", route.origin), "assigns to")
    return found.username if found is not None else reference


def _queue(b: Build, route: Resource, key: str) -> str:
    """The DeveloperName of the lead queue `key` names (the key offline)."""
    found = people.queue(b, route, key, route.spans.get("assign_to", route.origin), "assigns to",
                         " with Lead among its supported objects")
    return found.developer_name if found is not None else key
