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

Scheduled paths (Help, "Scheduled Paths", https://help.salesforce.com/s/articleView?id=platform.flow_concepts_trigger_scheduled_path.htm;
Metadata API, FlowScheduledPath: offsetNumber, offsetUnit, timeSource RecordTriggerEvent | RecordField,
recordField, pathType AsyncAfterCommit): a flow whose save runs it puts each of its paths in the org's waiting
list (`Org.scheduled`), due the offset after the save (or after the record's date or date-time field);
`run_due` runs them when the emulator's clock passes their time (SalesforceEmulator.advance, the test API).
With "only when a record is updated to meet the condition requirements" (doesRequireRecordChangedToMeetCriteria)
an update runs the flow only when the record did not meet its entry formula before; Flow Builder offers
scheduled paths on an update trigger only with that option (reference §13; enforced here, UNVERIFIED as an API
rule). A record updated so that it no longer meets the flow's entry formula loses its waiting paths (evidenced:
salesforce.stackexchange.com, "Do scheduled paths get evaluated/canceled when Record-triggered flow version
changes", an experiment where updating the record out of the conditions left 0 pending entries). A path runs
on the record as it is when the path runs, and not at all once the flow is no longer active or the record is
gone (both UNVERIFIED).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from datetime import datetime, timedelta

from lxml import etree

from . import formula
from .naming import Candidate, Problem, developer_name_problem
from .org import Component, Org, ScheduledRun, canonical_object
from .xmlutil import child, flag, kids, number, text

MERGE_FIELD = re.compile(r"\{!([^}]*)\}")
RECORD = "$Record."
TRIGGERS = {"Create": (True, False), "Update": (False, True), "CreateAndUpdate": (True, True)}  # (insert, update)
OFFSET_UNITS = {"Minutes": timedelta(minutes=1), "Hours": timedelta(hours=1), "Days": timedelta(days=1),
                "Weeks": timedelta(weeks=1)}     # Months: calendar months (_months)


def check_flow(org: Org, candidate: Candidate) -> list[Problem]:
    message = developer_name_problem(candidate.full_name, "Flow API Name", 80)
    if message:
        return [Problem(message)]
    body = candidate.body
    start = child(body, "start")
    paths = kids(start, "scheduledPaths") if start is not None else []
    if start is None or text(start, "triggerType") != "RecordAfterSave":
        return [Problem("Scheduled paths are supported only in record-triggered flows that run after the record is "
                        "saved.", "FIELD_INTEGRITY_EXCEPTION", paths[0].sourceline)] if paths else []
    obj = canonical_object(text(start, "object") or "")
    if obj is None:
        return [Problem(f"The object {text(start, 'object')} doesn't exist or isn't supported for record-triggered "
                        "flows", "FIELD_INTEGRITY_EXCEPTION", start.sourceline)]
    names = {text(element, "name") for element in body if text(element, "name")}
    problems = _path_problems(start, paths, obj, org, names)
    problems += [Problem(f"The formula expression is invalid: {problem}", "FIELD_INTEGRITY_EXCEPTION", line)
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


def _path_problems(start: etree._Element, paths: list[etree._Element], obj: str, org: Org,
                   names: set[str | None]) -> list[Problem]:
    """What a deploy refuses in a flow's scheduled paths: on an update trigger without "only when a record is
    updated to meet the condition requirements", a path going nowhere or without its offset, a record field that
    is no date."""
    problems = []
    if paths and text(start, "recordTriggerType") in ("Update", "CreateAndUpdate") \
            and not flag(start, "doesRequireRecordChangedToMeetCriteria"):
        problems.append(Problem("A flow with scheduled paths that runs when a record is updated must run only when "
                                "the record is updated to meet the condition requirements.",
                                "FIELD_INTEGRITY_EXCEPTION", start.sourceline))
    for path in paths:
        connector = child(path, "connector")
        if connector is None or text(connector, "targetReference") not in names:
            problems.append(Problem(f"The scheduled path {text(path, 'name')} doesn't connect to an element.",
                                    "FIELD_INTEGRITY_EXCEPTION", path.sourceline))
        if text(path, "pathType") == "AsyncAfterCommit":
            continue
        if number(path, "offsetNumber") is None or text(path, "offsetUnit") is None:
            problems.append(Problem(f"The scheduled path {text(path, 'name')} needs an offset number and unit.",
                                    "FIELD_INTEGRITY_EXCEPTION", path.sourceline))
        if text(path, "timeSource") == "RecordField":
            field = org.object_fields(obj).get((text(path, "recordField") or "").lower())
            if field is None or field.type not in ("Date", "DateTime"):
                problems.append(Problem(f"The scheduled path {text(path, 'name')} needs a date or date/time field "
                                        "of the record as its time source.", "FIELD_INTEGRITY_EXCEPTION",
                                        path.sourceline))
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
    """Run each active after-save flow on `obj` that `record`'s save triggers (`prior` None: an insert): its
    immediate path now, its scheduled paths put in the waiting list; and drop the waiting paths of each flow whose
    entry formula the record no longer meets."""
    for flow in org.of_type("Flow"):
        body, start = flow.body, child(flow.body, "start")
        if text(body, "status") != "Active" or start is None or text(start, "triggerType") != "RecordAfterSave":
            continue
        if canonical_object(text(start, "object") or "") != obj:
            continue
        entry = text(start, "filterFormula")
        meets = not entry or formula.fires(record_formula(entry)[0], context())
        if not meets:
            org.scheduled[:] = [r for r in org.scheduled if (r.flow, r.record_id) != (flow.full_name, record["Id"])]
        on_insert, on_update = TRIGGERS.get(text(start, "recordTriggerType") or "", (False, False))
        if not meets or not (on_insert if prior is None else on_update):
            continue
        if prior is not None and flag(start, "doesRequireRecordChangedToMeetCriteria") and (
                not entry or formula.fires(record_formula(entry)[0], replace(context(), record=prior, prior=None))):
            continue    # it met the conditions before this update already
        saved = context().now
        for path in kids(start, "scheduledPaths"):
            org.scheduled.append(ScheduledRun(flow.full_name, text(path, "name") or "", obj, str(record["Id"]),
                                              _due(path, record, saved)))
        _follow(org, body, text(child(start, "connector"), "targetReference") if child(start, "connector")
                is not None else None, record, context)


def run_due(org: Org, until: datetime, move_clock: Callable[[datetime], None],
            context: Callable[[str, Mapping[str, object]], formula.Context]) -> None:
    """Run, in time order, every waiting scheduled path due by `until`, the clock moved to its time first (so the
    path's TODAY() is the day it runs), on its record as it is then."""
    while due := sorted((r for r in org.scheduled if r.due <= until), key=lambda r: (r.due, r.flow, r.record_id)):
        waiting = due[0]
        org.scheduled.remove(waiting)
        move_clock(waiting.due)
        flow, record = org.get("Flow", waiting.flow), org.records[waiting.obj].get(waiting.record_id)
        start = child(flow.body, "start") if flow is not None else None
        if flow is None or start is None or text(flow.body, "status") != "Active" or record is None:
            continue
        path = next((p for p in kids(start, "scheduledPaths") if text(p, "name") == waiting.path), None)
        connector = child(path, "connector") if path is not None else None
        if connector is not None:
            _follow(org, flow.body, text(connector, "targetReference"), record, partial(context, waiting.obj, record))
    move_clock(until)


def _due(path: etree._Element, record: Mapping[str, object], saved: datetime) -> datetime:
    """When a scheduled path runs: its offset after the save, or after the record's date or date-time field (a
    date at midnight GMT, UNVERIFIED); a run-asynchronously path at once."""
    if text(path, "pathType") == "AsyncAfterCommit":
        return saved
    base = saved
    if text(path, "timeSource") == "RecordField":
        value = str(record.get(text(path, "recordField") or "") or "")
        base = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else \
            datetime.fromisoformat(f"{value}T00:00:00+00:00") if value else saved
    offset, unit = number(path, "offsetNumber") or 0, text(path, "offsetUnit") or "Days"
    return _months(base, offset) if unit == "Months" else base + offset * OFFSET_UNITS[unit]


def _months(moment: datetime, count: int) -> datetime:
    """`count` calendar months on, the day of the month kept where the month has it (else its last day)."""
    month = moment.month - 1 + count
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


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

