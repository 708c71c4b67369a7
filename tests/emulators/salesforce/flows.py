"""Record-triggered flows: what a deploy refuses in one, and what an active one does when a record is saved.

Sources: Metadata API Developer Guide, "Flow" (FlowStart: object, recordTriggerType Create | Update |
CreateAndUpdate, triggerType RecordAfterSave, filterFormula; FlowRecordCreate: object, inputAssignments;
FlowFormula: dataType, expression; "You can delete a flow version as long as it isn't active"); Help,
"Formula Operators and Functions in Flows" (a record's field is the merge field `{!$Record.Field}`; ISNEW,
ISCHANGED and PRIORVALUE only in a record-triggered flow's entry formula); reference/salesforce.md §13.

The emulator runs only what sos's flows need: an active after-save flow on the saved object whose trigger
type matches (Create on insert, Update on update, CreateAndUpdate on both) and whose entry formula is TRUE
(the formula evaluator's own reading, formula.py), follows the start's connector through record-create
elements and inserts their records (Tasks). The wording of the deploy errors below is UNVERIFIED (no live
org was used); their codes are the Metadata API's usual ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from lxml import etree

from . import formula
from .naming import Candidate, Problem, developer_name_problem
from .org import Component, Org, canonical_object
from .xmlutil import child, kids, text

MERGE_FIELD = re.compile(r"\{!([^}]*)\}")
RECORD = "$Record."
TRIGGERS = {"Create": (True, False), "Update": (False, True), "CreateAndUpdate": (True, True)}  # (insert, update)


def check_flow(org: Org, candidate: Candidate) -> list[Problem]:
    message = developer_name_problem(candidate.full_name, "Flow API Name", 80)
    if message:
        return [Problem(message)]
    body = candidate.body
    start = child(body, "start")
    if start is None or text(start, "triggerType") != "RecordAfterSave":
        return []
    obj = canonical_object(text(start, "object") or "")
    if obj is None:
        return [Problem(f"The object {text(start, 'object')} doesn't exist or isn't supported for record-triggered "
                        "flows", "FIELD_INTEGRITY_EXCEPTION", start.sourceline)]
    names = {text(element, "name") for element in body if text(element, "name")}
    problems = [Problem(f"The formula expression is invalid: {problem}", "FIELD_INTEGRITY_EXCEPTION", line)
                for expression, line in _formulas(body, start)
                for problem in _formula_problems(expression, obj, org)]
    for create in kids(body, "recordCreates"):
        target = canonical_object(text(create, "object") or "")
        fields = org.object_fields(target) if target else {}
        for assignment in kids(create, "inputAssignments"):
            field = text(assignment, "field") or ""
            if field.lower() not in fields:
                problems.append(Problem(f"The field \"{field}\" for the object \"{text(create, 'object')}\" doesn't "
                                        "exist.", "FIELD_INTEGRITY_EXCEPTION", assignment.sourceline))
            reference = text(child(assignment, "value"), "elementReference") if child(assignment, "value") is not None \
                else None
            if reference and not _resolves(reference, obj, org, names):
                problems.append(Problem(f"The element reference \"{reference}\" is invalid: no element or field "
                                        "has that name.", "FIELD_INTEGRITY_EXCEPTION", assignment.sourceline))
    return problems


def delete_problems(org: Org, component: Component) -> list[Problem]:
    """An active flow cannot be deleted: it must be deactivated first."""
    if text(component.body, "status") == "Active":
        return [Problem(f"Unable to delete flow {component.full_name}: it is active. Deactivate it before you "
                        "delete it.", "DELETE_FAILED")]
    return []


def _formulas(body: etree._Element, start: etree._Element) -> list[tuple[str, int | None]]:
    found = [(text(start, "filterFormula") or "", start.sourceline)] if text(start, "filterFormula") else []
    return found + [(text(f, "expression") or "", f.sourceline) for f in kids(body, "formulas")]


def _formula_problems(expression: str, obj: str, org: Org) -> list[str]:
    plain, unknown = record_formula(expression)
    if unknown:
        return [f"The merge field {{!{unknown}}} doesn't exist."]
    return formula.check(plain, obj, org.object_fields)


def record_formula(expression: str) -> tuple[str, str | None]:
    """The formula with `{!$Record.Field}` read as the plain field `Field` formula.py evaluates, and the first
    merge field that is not the triggering record's (None if all are)."""
    unknown = next((m[1] for m in MERGE_FIELD.finditer(expression) if not m[1].startswith(RECORD)), None)
    return MERGE_FIELD.sub(lambda m: m[1].removeprefix(RECORD), expression), unknown


def _resolves(reference: str, obj: str, org: Org, names: set[str | None]) -> bool:
    if reference.startswith(RECORD):
        return formula.resolve(reference.removeprefix(RECORD), obj, org.object_fields) is not None
    return reference in names


# -- running --------------------------------------------------------------------------------------------


def run(org: Org, obj: str, record: Mapping[str, object], prior: Mapping[str, object] | None,
        context: Callable[[], formula.Context]) -> None:
    """Run each active after-save flow on `obj` that `record`'s save triggers (`prior` None: an insert)."""
    for flow in org.of_type("Flow"):
        body, start = flow.body, child(flow.body, "start")
        if text(body, "status") != "Active" or start is None or text(start, "triggerType") != "RecordAfterSave":
            continue
        if canonical_object(text(start, "object") or "") != obj:
            continue
        on_insert, on_update = TRIGGERS.get(text(start, "recordTriggerType") or "", (False, False))
        if not (on_insert if prior is None else on_update):
            continue
        entry = text(start, "filterFormula")
        if entry and not formula.fires(record_formula(entry)[0], context()):
            continue
        _follow(org, body, text(child(start, "connector"), "targetReference") if child(start, "connector")
                is not None else None, record, context)


def _follow(org: Org, body: etree._Element, target: str | None, record: Mapping[str, object],
            context: Callable[[], formula.Context]) -> None:
    seen = set()
    while target and target not in seen:
        seen.add(target)
        create = next((c for c in kids(body, "recordCreates") if text(c, "name") == target), None)
        if create is None or canonical_object(text(create, "object") or "") != "Task":
            return      # the emulator runs record creates of Tasks only
        values = {text(a, "field") or "": _value(body, child(a, "value"), record, context)
                  for a in kids(create, "inputAssignments")}
        task_id = org.add_task(str(values.get("Subject") or ""), what_id=_text(values.get("WhatId")),
                               who_id=_text(values.get("WhoId")), activity_date=_text(values.get("ActivityDate")),
                               closed=False, owner_id=str(values.get("OwnerId")))
        org.records["Task"][task_id]["Priority"] = values.get("Priority") or "Normal"
        connector = child(create, "connector")
        target = text(connector, "targetReference") if connector is not None else None


def _value(body: etree._Element, value: etree._Element | None, record: Mapping[str, object],
           context: Callable[[], formula.Context]) -> object:
    if value is None:
        return None
    reference = text(value, "elementReference")
    if reference is None:
        return text(value, "stringValue")
    if reference.startswith(RECORD):
        return record.get(reference.removeprefix(RECORD))
    resource = next((f for f in kids(body, "formulas") if text(f, "name") == reference), None)
    if resource is None:
        return None
    return formula.evaluate(record_formula(text(resource, "expression") or "")[0], context())


def _text(value: object) -> str | None:
    return None if value is None else str(value)

