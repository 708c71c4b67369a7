"""Record-triggered flows: what a deploy refuses in one, and what an active one does when a record is saved.

Sources: Metadata API Developer Guide, "Flow" (FlowStart: object, recordTriggerType Create | Update |
CreateAndUpdate, triggerType RecordAfterSave, filterFormula; FlowRecordCreate: object, inputAssignments;
FlowRecordLookup: object, filters, getFirstRecordOnly, storeOutputAutomatically (the element's name then holds
the record: `Get_X.Id`); FlowAssignment: assignmentItems with operator Add on a collection variable;
FlowActionCall: actionName, actionType, inputParameters; FlowFormula: dataType, expression; "You can delete a
flow version as long as it isn't active"), and "CustomNotificationType" (customNotifTypeName, masterLabel,
desktop, mobile; notificationtypes/*.notiftype); Actions Developer Guide, "Custom Notification Actions"
(customNotificationAction: customNotifTypeId, recipientIds, title and body required, targetId or targetPageRef
required; recipients are user, group, queue, account or opportunity ids, at most 500, an inactive user gets
nothing; title at most 250 characters, body 750); Help, "Formula Operators and Functions in Flows" (a record's
field is the merge field `{!$Record.Field}`; ISNEW, ISCHANGED and PRIORVALUE only in a record-triggered flow's
entry formula); reference/salesforce.md §13.

The emulator runs only what sos's flows need: an active after-save flow on the saved object whose trigger
type matches (Create on insert, Update on update, CreateAndUpdate on both) and whose entry formula is TRUE
(the formula evaluator's own reading, formula.py), follows the start's connector through record creates
(Tasks), Get Records of a CustomNotificationType, assignments that add to a text collection, and Send Custom
Notification actions (logged in `Org.notifications`). An action that cannot run (no notification type, a
recipient that is no user, group or queue, a title or body too long) fails the flow, and a failing after-save
flow fails the save that started it: nothing of it is kept (Help, "Flow Fault Handling"; the REST error is
CANNOT_EXECUTE_FLOW_TRIGGER). The wording of the deploy and run errors below is UNVERIFIED (no live org was used);
their codes are the Metadata API's and the REST API's usual ones.

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
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

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
# The one action the emulator runs: its inputs, and which are required (Actions Developer Guide, "Custom Notification
# Actions"); targetId or targetPageRef is required too.
NOTIFICATION_ACTION = "customNotificationAction"
NOTIFICATION_INPUTS = {"customNotifTypeId": True, "recipientIds": True, "title": True, "body": True,
                       "targetId": False, "targetPageRef": False, "senderId": False, "actionGroup": False}
NOTIFICATION_LIMITS = {"title": 250, "body": 750}
# What Get Records can read here: a notification type, by the fields its Tooling and SOAP object has.
LOOKUP_FIELDS = {"CustomNotificationType": {"id", "developername", "customnotiftypename", "masterlabel", "desktop",
                                            "mobile"}}
RECIPIENT_PREFIXES = ("005", "00G", "001", "006")   # user, group or queue, account (team), opportunity (team)


class FlowFailure(Exception):
    """A flow that failed while it ran: the save that started it fails with it."""


def check_notification_type(org: Org, candidate: Candidate) -> list[Problem]:
    """A notification type needs an API name and at least one channel (Setup refuses a type with none; UNVERIFIED
    for a deploy)."""
    message = developer_name_problem(candidate.full_name, "API Name", 80)
    if message:
        return [Problem(message)]
    if not any(text(candidate.body, channel) == "true" for channel in ("desktop", "mobile", "slack")):
        return [Problem("Select at least one notification channel (desktop, mobile or slack).",
                        "FIELD_INTEGRITY_EXCEPTION")]
    return []


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
    lookups = {text(lookup, "name"): text(lookup, "object") or "" for lookup in kids(body, "recordLookups")}
    problems = _path_problems(start, paths, obj, org, names)
    problems += [Problem(f"The formula expression is invalid: {problem}", "FIELD_INTEGRITY_EXCEPTION", line)
                 for expression, line in _formulas(body, start)
                 for problem in _formula_problems(expression, obj, org)]
    problems += _create_problems(body, org) + _lookup_problems(body) + _action_problems(body)
    variables = {text(v, "name") for v in kids(body, "variables") if text(v, "isCollection") == "true"}
    for item in (i for a in kids(body, "assignments") for i in kids(a, "assignmentItems")):
        if text(item, "assignToReference") not in variables:
            problems.append(Problem(f"The element reference \"{text(item, 'assignToReference')}\" is invalid: no "
                                    "collection variable has that name.", "FIELD_INTEGRITY_EXCEPTION", item.sourceline))
    values = [*(i for c in kids(body, "recordCreates") for i in kids(c, "inputAssignments")),
              *(i for a in kids(body, "assignments") for i in kids(a, "assignmentItems")),
              *(p for a in kids(body, "actionCalls") for p in kids(a, "inputParameters"))]
    for holder in values:
        value = child(holder, "value")
        reference = text(value, "elementReference") if value is not None else None
        if reference and not _resolves(reference, obj, org, names, lookups):
            problems.append(Problem(f"The element reference \"{reference}\" is invalid: no element or field "
                                    "has that name.", "FIELD_INTEGRITY_EXCEPTION", holder.sourceline))
    return problems


def _create_problems(body: etree._Element, org: Org) -> list[Problem]:
    problems = []
    for create in kids(body, "recordCreates"):
        target = canonical_object(text(create, "object") or "")
        fields = org.object_fields(target) if target else {}
        for assignment in kids(create, "inputAssignments"):
            field = text(assignment, "field") or ""
            if field.lower() not in fields:
                problems.append(Problem(f"The field \"{field}\" for the object \"{text(create, 'object')}\" doesn't "
                                        "exist.", "FIELD_INTEGRITY_EXCEPTION", assignment.sourceline))
    return problems


def _lookup_problems(body: etree._Element) -> list[Problem]:
    problems = []
    for lookup in kids(body, "recordLookups"):
        target = text(lookup, "object") or ""
        fields = LOOKUP_FIELDS.get(target)
        if fields is None:
            problems.append(Problem(f"Not supported by the emulator: Get Records of {target}", "INVALID_TYPE",
                                    lookup.sourceline))
            continue
        for filtered in kids(lookup, "filters"):
            if (text(filtered, "field") or "").lower() not in fields:
                problems.append(Problem(f"The field \"{text(filtered, 'field')}\" for the object \"{target}\" "
                                        "doesn't exist.", "FIELD_INTEGRITY_EXCEPTION", filtered.sourceline))
    return problems


def _action_problems(body: etree._Element) -> list[Problem]:
    """An action the emulator does not know, and a notification action without a required input or with an unknown
    one."""
    problems = []
    for action in kids(body, "actionCalls"):
        name, line = text(action, "name"), action.sourceline
        if text(action, "actionName") != NOTIFICATION_ACTION or text(action, "actionType") != NOTIFICATION_ACTION:
            problems.append(Problem(f"Not supported by the emulator: the action {text(action, 'actionName')} of type "
                                    f"{text(action, 'actionType')} ({name})", "INVALID_TYPE", line))
            continue
        given = {text(p, "name") or "" for p in kids(action, "inputParameters")}
        unknown = sorted(given - set(NOTIFICATION_INPUTS))
        missing = [n for n, required in NOTIFICATION_INPUTS.items() if required and n not in given]
        if not given & {"targetId", "targetPageRef"}:
            missing.append("targetId or targetPageRef")
        problems += [Problem(f"The action {name} has no input parameter {n} ({NOTIFICATION_ACTION}).",
                             "FIELD_INTEGRITY_EXCEPTION", line) for n in unknown]
        problems += [Problem(f"The action {name} is missing the required input parameter {n}.",
                             "REQUIRED_FIELD_MISSING", line) for n in missing]
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


def _resolves(reference: str, obj: str, org: Org, names: set[str | None], lookups: Mapping[str | None, str]) -> bool:
    if reference.startswith(RECORD):
        return formula.resolve(reference.removeprefix(RECORD), obj, org.object_fields) is not None
    element, _, field = reference.partition(".")
    if field:       # a field of the record a Get Records element stored
        return element in lookups and field.lower() in LOOKUP_FIELDS.get(lookups[element], set())
    return reference in names


# -- running --------------------------------------------------------------------------------------------


def run(org: Org, obj: str, record: Mapping[str, object], prior: Mapping[str, object] | None,
        context: Callable[[], formula.Context]) -> list[Callable[[], None]]:
    """What each active after-save flow on `obj` that `record`'s save triggers (`prior` None: an insert) does, to
    be done once the save is kept: its immediate path, its scheduled paths put in the waiting list, and the waiting
    paths of each flow whose entry formula the record no longer meets dropped. FlowFailure when one fails (nothing
    of the save may then be kept)."""
    effects: list[Callable[[], None]] = []
    for flow in org.of_type("Flow"):
        body, start = flow.body, child(flow.body, "start")
        if text(body, "status") != "Active" or start is None or text(start, "triggerType") != "RecordAfterSave":
            continue
        if canonical_object(text(start, "object") or "") != obj:
            continue
        entry = text(start, "filterFormula")
        meets = not entry or formula.fires(record_formula(entry)[0], context())
        if not meets:
            effects.append(partial(_drop_waiting, org, flow.full_name, str(record["Id"])))
        on_insert, on_update = TRIGGERS.get(text(start, "recordTriggerType") or "", (False, False))
        if not meets or not (on_insert if prior is None else on_update):
            continue
        if prior is not None and flag(start, "doesRequireRecordChangedToMeetCriteria") and (
                not entry or formula.fires(record_formula(entry)[0], replace(context(), record=prior, prior=None))):
            continue    # it met the conditions before this update already
        saved = context().now
        effects += [partial(org.scheduled.append, ScheduledRun(flow.full_name, text(path, "name") or "", obj,
                                                              str(record["Id"]), _due(path, record, saved)))
                    for path in kids(start, "scheduledPaths")]
        connector = child(start, "connector")
        try:
            effects += _follow(org, body, text(connector, "targetReference") if connector is not None else None,
                               record, context)
        except FlowFailure as failure:
            raise FlowFailure(f"We can't save this record because the “{text(body, 'label')}” process failed. "
                              f"Give your Salesforce admin these details. {failure}") from None
    return effects


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
            try:
                effects = _follow(org, flow.body, text(connector, "targetReference"), record,
                                  partial(context, waiting.obj, record))
            except FlowFailure:
                continue    # a path runs apart from any save: its failure fails only itself (UNVERIFIED)
            for effect in effects:
                effect()
    move_clock(until)


def _drop_waiting(org: Org, flow: str, record_id: str) -> None:
    org.scheduled[:] = [r for r in org.scheduled if (r.flow, r.record_id) != (flow, record_id)]


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
            context: Callable[[], formula.Context]) -> list[Callable[[], None]]:
    effects: list[Callable[[], None]] = []
    variables: dict[str, Any] = {}
    seen = set()
    while target and target not in seen:
        seen.add(target)
        element = next((e for e in body if text(e, "name") == target and etree.QName(e).localname in STEPS), None)
        if element is None:
            break
        effects += STEPS[etree.QName(element).localname](org, body, element, record, context, variables)
        connector = child(element, "connector")
        target = text(connector, "targetReference") if connector is not None else None
    return effects


Step = Callable[[Org, etree._Element, etree._Element, Mapping[str, object], Callable[[], formula.Context],
                 dict[str, Any]], list[Callable[[], None]]]


def _create(org: Org, body: etree._Element, create: etree._Element, record: Mapping[str, object],
            context: Callable[[], formula.Context], variables: dict[str, Any]) -> list[Callable[[], None]]:
    if canonical_object(text(create, "object") or "") != "Task":
        return []       # the emulator creates Tasks only
    values = {text(a, "field") or "": _value(body, child(a, "value"), record, context, variables)
              for a in kids(create, "inputAssignments")}

    def add() -> None:
        task_id = org.add_task(str(values.get("Subject") or ""), what_id=_text(values.get("WhatId")),
                               who_id=_text(values.get("WhoId")), activity_date=_text(values.get("ActivityDate")),
                               closed=False, owner_id=str(values.get("OwnerId")))
        org.records["Task"][task_id]["Priority"] = values.get("Priority") or "Normal"
    return [add]


def _lookup(org: Org, body: etree._Element, lookup: etree._Element, record: Mapping[str, object],
            context: Callable[[], formula.Context], variables: dict[str, Any]) -> list[Callable[[], None]]:
    """Get Records of a notification type (check_flow refuses other objects): the first that every EqualTo filter
    matches, or None."""
    wanted = {(text(f, "field") or "").lower(): _value(body, child(f, "value"), record, context, variables)
              for f in kids(lookup, "filters")}
    found = None
    for component in org.of_type("CustomNotificationType"):
        row = {"id": component.id, "developername": component.full_name,
               **{name: text(component.body, tag) for name, tag in (
                   ("customnotiftypename", "customNotifTypeName"), ("masterlabel", "masterLabel"),
                   ("desktop", "desktop"), ("mobile", "mobile"))}}
        if all(str(row.get(field) or "").lower() == str(value or "").lower() for field, value in wanted.items()):
            found = {"Id": component.id, "DeveloperName": component.full_name}
            break
    variables[text(lookup, "name") or ""] = found
    return []


def _assign(org: Org, body: etree._Element, assignment: etree._Element, record: Mapping[str, object],
            context: Callable[[], formula.Context], variables: dict[str, Any]) -> list[Callable[[], None]]:
    for item in kids(assignment, "assignmentItems"):
        value = _value(body, child(item, "value"), record, context, variables)
        name = text(item, "assignToReference") or ""
        variables[name] = [*(variables.get(name) or []), value] if text(item, "operator") == "Add" else value
    return []


def _notify(org: Org, body: etree._Element, action: etree._Element, record: Mapping[str, object],
            context: Callable[[], formula.Context], variables: dict[str, Any]) -> list[Callable[[], None]]:
    """Send Custom Notification: refused (the flow fails) without a notification type, recipients, title or body,
    with more than 500 recipients, one that is no user, group, queue, account or opportunity, or text too long."""
    inputs = {text(p, "name") or "": _value(body, child(p, "value"), record, context, variables)
              for p in kids(action, "inputParameters")}
    type_id = inputs.get("customNotifTypeId")
    if not type_id or not any(c.id == type_id for c in org.of_type("CustomNotificationType")):
        raise FlowFailure(f"Error Occurred: The {text(action, 'name')} action failed: the custom notification type "
                          f"id {type_id or 'is blank'}{'' if not type_id else ' is not valid'}.")
    recipients = [str(r) for r in cast(list[object], inputs.get("recipientIds") or []) if r]
    for name, limit in NOTIFICATION_LIMITS.items():
        if not inputs.get(name) or len(str(inputs[name])) > limit:
            raise FlowFailure(f"Error Occurred: The {text(action, 'name')} action failed: {name} must be 1 to "
                              f"{limit} characters.")
    unknown = [r for r in recipients if not r.startswith(RECIPIENT_PREFIXES) or
               (r.startswith(("005", "00G")) and r not in org.records["User" if r.startswith("005") else "Group"])]
    if not recipients or len(recipients) > 500 or unknown:
        raise FlowFailure(f"Error Occurred: The {text(action, 'name')} action failed: invalid recipient ids: "
                          f"{', '.join(unknown) or len(recipients)}.")
    sent: dict[str, object] = {
            "type": next(c.full_name for c in org.of_type("CustomNotificationType") if c.id == type_id),
            "recipients": [r for r in recipients if org.records["User"].get(r, {}).get("IsActive", True)],
            "title": str(inputs["title"]), "body": str(inputs["body"]),
            "target": _text(inputs.get("targetId")), "flow": text(body, "label")}
    return [lambda: org.notifications.append(sent)]


STEPS: dict[str, Step] = {"recordCreates": _create, "recordLookups": _lookup, "assignments": _assign,
                          "actionCalls": _notify}


def _value(body: etree._Element, value: etree._Element | None, record: Mapping[str, object],
           context: Callable[[], formula.Context], variables: Mapping[str, Any]) -> object:
    if value is None:
        return None
    reference = text(value, "elementReference")
    if reference is None:
        return text(value, "stringValue")
    if reference.startswith(RECORD):
        field = reference.removeprefix(RECORD)
        if field == "Name" and "Name" not in record:      # a person's Name is compound: first and last name
            return " ".join(str(record[n]) for n in ("FirstName", "LastName") if record.get(n))
        return record.get(field)
    element, _, field = reference.partition(".")
    if element in variables:
        found = variables[element]
        return (found or {}).get(field) if field else found
    resource = next((f for f in kids(body, "formulas") if text(f, "name") == reference), None)
    if resource is None:
        return None
    return formula.evaluate(record_formula(text(resource, "expression") or "")[0], context())


def _text(value: object) -> str | None:
    return None if value is None else str(value)

