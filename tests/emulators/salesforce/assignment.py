"""Assignment rules: what a deploy of AssignmentRules accepts, the file a retrieve returns, and the rule a lead
created through the REST API is assigned by.

Sources: Metadata API Developer Guide, "AssignmentRules" (the file assignmentRules/<Object>.assignmentRules; the
package names all rules of an object as AssignmentRules <Object> or one as AssignmentRule <Object>.<Name>; rules are
processed in the order they appear; RuleEntry: assignedTo is the user's or queue's name, assignedToType User or Queue,
"Specify either formula or criteriaItems, but not both"); Help, "Assignment Rules" (one Lead rule is active at a
time: activating one deactivates the other; entries are evaluated in order and the first match assigns; a lead no
entry matches goes to the default lead owner, here the running user); REST API Developer Guide, "Assignment Rule
Header" (Sforce-Auto-Assign: TRUE, FALSE or an AssignmentRule id; "If the header is not provided in the request, the
default value is TRUE": a REST create runs the active rule). The problem texts are UNVERIFIED wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lxml import etree

from . import formula
from .formula_types import check_condition
from .naming import Candidate, Problem
from .org import Org
from .schema import MD_NS
from .xmlutil import child, document, flag, kids, md, rebuild, text

ASSIGNED_TYPES = ("User", "Queue")


def check_rule(org: Org, candidate: Candidate) -> list[Problem]:
    """One AssignmentRule (`Lead.Name`): its entries' criteria and assignees. When it saves active, the object's
    other rules are switched off, as activating a rule in Setup does."""
    obj = candidate.full_name.split(".", 1)[0]
    problems: list[Problem] = []
    for entry in kids(candidate.body, "ruleEntry"):
        line = entry.sourceline
        condition = text(entry, "formula")
        if condition is not None and kids(entry, "criteriaItems"):
            problems.append(Problem("You can specify either formula or criteriaItems, but not both", line=line))
        if condition is not None:
            found = formula.check(condition, obj, org.object_fields) or check_condition(condition, obj,
                                                                                        org.object_fields)
            problems += [Problem(f"Formula: {p}", "FORMULA_EXPRESSION_INVALID", line) for p in found]
        for item in kids(entry, "criteriaItems"):
            field_name = text(item, "field") or ""
            head, _, name = field_name.partition(".")
            if head.lower() != obj.lower() or name.lower() not in org.object_fields(obj):
                problems.append(Problem(f"Unknown field: {field_name}", "INVALID_FIELD", item.sourceline))
        problems += _assignee_problems(org, entry)
    if not problems and flag(candidate.body, "active"):
        for other in org.of_type("AssignmentRule", obj):
            if other.full_name.lower() != candidate.full_name.lower() and flag(other.body, "active"):
                _set_active(other.body, False)
    return problems


def _assignee_problems(org: Org, entry: etree._Element) -> list[Problem]:
    assigned_to, kind = text(entry, "assignedTo"), text(entry, "assignedToType")
    if assigned_to is None and kind is None:
        return []       # an entry that assigns nobody (escalation only, for cases): not checked further
    if kind not in ASSIGNED_TYPES or assigned_to is None:
        return [Problem("An assignment rule entry needs assignedTo and assignedToType (User or Queue)",
                        "REQUIRED_FIELD_MISSING", entry.sourceline)]
    if assignee_id(org, kind, assigned_to) is None:
        what = "user" if kind == "User" else "queue"
        return [Problem(f"Invalid {what} specified in assignedTo: {assigned_to}", "INVALID_CROSS_REFERENCE_KEY",
                        entry.sourceline)]
    return []


def assignee_id(org: Org, kind: str, name: str) -> str | None:
    """The id of the active user with Username `name`, or of the queue with DeveloperName `name`."""
    if kind == "User":
        return next((str(u["Id"]) for u in org.records["User"].values()
                     if str(u["Username"]).lower() == name.lower() and u["IsActive"]), None)
    return next((str(g["Id"]) for g in org.records["Group"].values()
                 if g["Type"] == "Queue" and str(g["DeveloperName"]).lower() == name.lower()), None)


def _set_active(body: etree._Element, active: bool) -> None:
    found = child(body, "active")
    if found is None:
        found = etree.Element(md("active"))
        body.insert(0, found)
    found.text = "true" if active else "false"


def retrieve_file(org: Org, obj: str) -> bytes:
    """assignmentRules/<obj>.assignmentRules: every rule of the object, each with its fullName."""
    root = etree.Element(md("AssignmentRules"), nsmap={None: MD_NS})
    for component in org.of_type("AssignmentRule", obj):
        rule = rebuild(component.body, "assignmentRule")
        name = etree.Element(md("fullName"))
        name.text = component.name
        rule.insert(0, name)
        root.append(rule)
    return document(root)


def assign(org: Org, obj: str, record: dict[str, object], header: str | None,
           context: Callable[[Mapping[str, object]], formula.Context]) -> None:
    """Give a new record the owner its assignment rule names (the active one, or the one the header's id names;
    none with `Sforce-Auto-Assign: FALSE`): the first entry whose criteria hold."""
    wanted = (header or "TRUE").strip()
    if wanted.upper() == "FALSE":
        return
    rules = org.of_type("AssignmentRule", obj)
    rule = next((r for r in rules if r.id == wanted) if wanted.upper() != "TRUE" else
                (r for r in rules if flag(r.body, "active")), None)
    if rule is None:
        return
    for entry in kids(rule.body, "ruleEntry"):
        if kids(entry, "criteriaItems"):
            raise NotImplementedError("Not supported by the emulator: running criteriaItems (sos writes formulas)")
        condition = text(entry, "formula")
        if condition is None or formula.fires(condition, context(record)):
            owner = assignee_id(org, text(entry, "assignedToType") or "", text(entry, "assignedTo") or "")
            if owner is not None:
                record["OwnerId"] = owner
            return
