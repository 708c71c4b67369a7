"""AUTOMATION (cadences) → one record-triggered, after-save Flow per cadence, in flows/<Name>.flow.

A cadence fired by `record_created`, `stage_entered` or `status_entered` that creates a task (for the record's
owner or a named user) or sends a notification becomes a Flow whose start element is the trigger (Create for a new
record, CreateAndUpdate for a stage or status entered) with an entry formula in the Flow formula dialect
(sos.expr.dialects.flow_formula): entering a stage is `stage == 'x' and (is_new() or is_changed(stage))`, and the
cadence's `when`, if any, is ANDed to it.

A task is one Create Records element (reference §13): owner `$Record.OwnerId` or the named user's id, the subject,
the priority, the due date from a formula resource (`TODAY() + N` days; `DATEVALUE(NOW() + H / 24)` for hours: a
Task is due on a date, the GMT one), related to the record (WhatId for a deal, WhoId for a lead).
A notification is the core action Send Custom Notification (customNotificationAction; Actions Developer Guide,
"Custom Notification Actions": customNotifTypeId, recipientIds, title and body required, targetId the record),
through one CustomNotificationType sos deploys in the same package (Sos_Cadence). The type's id is the org's, known
only after the deploy, so the flow gets it by a Get Records on CustomNotificationType by DeveloperName; recipients
are a text collection (the owner's id, or the user's or queue's id found at plan time, lower/people.py).
Offline (`sos build`) no id is known: the flows of cadences that name a user or queue are left out.

The cadence's attributes travel in the flow as JSON (processMetadataValues `sos_cadence`), the mark in its
description, so a retrieve reads the cadence back exactly. Drift is any value sos writes that the org's flow
holds otherwise (a flow edited in Setup, or deactivated), a named user the org no longer has active, and the
notification type edited or deleted. A deleted cadence's flow is deployed deactivated (status Obsolete) and deleted
after the saves (destructiveChangesPost.xml): Salesforce deletes no active flow.
Cadences Salesforce does not run from a Flow (see `held`) are stated in the plan, never deployed.

A `stage_age_over` cadence becomes one flow per stage it watches (docs/salesforce.md, "Stale deals: scheduled
paths"): created or updated into the stage (doesRequireRecordChangedToMeetCriteria, entry formula `stage == 'x'`),
its one scheduled path creates the Task the limit plus one day after that save, as the sandbox's tick fires on the
first day the deal has been in its stage longer than the limit; a deal that leaves the stage no longer meets the
flow's condition, and Salesforce drops its pending path.
"""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

from sos.backends.salesforce.lower import people
from sos.backends.salesforce.lower.context import Build, Part
from sos.backends.salesforce.marks import NOTIFICATION_MARK, ownership_mark, with_mark
from sos.backends.salesforce.names import NOTIFICATION_FILE, NOTIFICATION_TYPE, OBJECTS, cadence_flow_names, flow_name
from sos.backends.salesforce.read.flows import cadence_address
from sos.backends.salesforce.package import API_VERSION, Component, render
from sos.backends.salesforce.standard_fields import expression_naming
from sos.errors import Diagnostic, SosError, Span
from sos.expr.annotate import annotate
from sos.expr.dialects.flow_formula import FlowFormula, merge_field
from sos.expr.parse import parse_expression
from sos.expr.types import STAGE_FIELDS
from sos.model.automation import (Assignee, Automation, CreateTask, Notify, Owner, Queue, RecordCreated, Schedule,
                                  StageAgeOver, StageEntered, StatusEntered, User, automation_of, stage_limits)
from sos.model.exprs import model_scope
from sos.model.resources import Address, Kind, Model, Resource

PRIORITIES = {"high": "High", "normal": "Normal", "low": "Low"}   # Task.Priority's standard values
RELATED = {"opportunity": "WhatId", "lead": "WhoId"}    # a task is about a deal (What) or a person (Who)
HELD_NOTE = ("cadences on a lead or deal created, a stage or a lead status entered that create a task for the "
             "record's owner or a named user, or notify the owner, a user or a queue, become record-triggered Flows "
             "(notifications: Salesforce's bell and mobile app), and stage_age_over ones that create a task a Flow "
             "per watched stage whose scheduled path creates the task the day the deal has sat there past the limit "
             "(counted from its next move into the stage: a deal already there when the flow is deployed gets none "
             "until it moves); schedule and report cadences run from CI (`sos ci github`), not in Salesforce; tasks "
             "for a queue, stage_age_over cadences that notify or have a `when`, and cadences on other objects are "
             "not applied")


def held(resource: Resource) -> bool:
    """Whether Salesforce runs this cadence as a Flow sos deploys (not one whose flow was edited past reading)."""
    return bool(resource.attrs) and not_run(resource) is None


def not_run(resource: Resource) -> str | None:
    """Why Salesforce runs no Flow for this cadence, in a user's words; None when it does."""
    automation = automation_of(resource)
    if resource.address.scope not in RELATED:
        return "Salesforce runs cadences on leads and deals only"
    # A Task's owner is a user (Object Reference, Task). A stale cadence's `when` is read when it fires; a flow could
    # only read it when the deal enters the stage.
    match automation.trigger, automation.action:
        case Schedule(), _:
            return "a schedule runs from CI (`sos ci github`), not in Salesforce"
        case StageAgeOver(), CreateTask(assign_to=Owner() | User()):
            return ("its `when` would be read as the deal enters the stage, not on the day the task is due"
                    if automation.when else None)
        case StageAgeOver(), Notify():
            return "a stale deal's flow creates a task; it sends no notification"
        case _, CreateTask(assign_to=Owner() | User()) | Notify():
            return None
    return "a Salesforce task is owned by a user, never by a queue"


def watches_nothing(desired: Model, live: Model, resource: Resource) -> bool:
    """Whether a stale-deal cadence Salesforce would run watches no stage once the stages sos leaves alone (the org's
    own values a pipeline lists as they are, with no max_days sos deploys) are taken as the org holds them: it has no
    flow to deploy."""
    trigger = automation_of(resource).trigger if held(resource) else None
    if not isinstance(trigger, StageAgeOver):
        return False
    as_left = Model()
    for wanted in desired:
        found = live.get(wanted.address)
        as_left.add(found if wanted.address.kind is Kind.STAGE and found is not None and not found.managed
                    else wanted)
    return not stage_limits(as_left, trigger)


def unwatched_note(unwatched: list[Resource]) -> str:
    """The plan's note on cadences, with the stale-deal ones that watch no stage sos can give a flow."""
    one = len(unwatched) == 1
    return (f"{HELD_NOTE}; {'cadence' if one else 'cadences'} {', '.join(r.address.key for r in unwatched)} "
            f"{'watches' if one else 'watch'} only stages sos leaves alone (the org's own values, listed as they are, "
            f"with no max_days sos deploys), so no flow runs {'it' if one else 'them'}: give the pipeline stages of "
            "its own, or take the org's over with `--adopt` and plan again")


def names_people(resource: Resource) -> bool:
    """Whether the flow of this cadence names a user or queue of the org (by its id, found at plan time)."""
    return held(resource) and _assignee(automation_of(resource)) != Owner()


def _assignee(automation: Automation) -> Assignee:
    action = automation.action
    return action.to if isinstance(action, Notify) else action.assign_to if isinstance(action, CreateTask) \
        else Owner()


def write(b: Build) -> list[Part]:
    """Each changed cadence's flows, and each managed one's whose flows in the org drifted."""
    return [(f"flows/{name}.flow", "file", body, Component("Flow", name, resource.address))
            for resource in to_write(b) for name, body in flows_of(b, resource).items()]


def delete(b: Build, address: Address) -> list[Component]:
    return [Component("Flow", name, address, deleted=True) for name in _deployed(b, address)]


def retired(b: Build) -> list[Component]:
    """The flows no cadence runs any more: those of cadences changed into ones no flow runs (a task for a queue, a
    schedule), and a stage_age_over cadence's flows for stages it no longer watches; deleted, as they would otherwise
    go on doing what the blueprint no longer says."""
    gone = [c for address in sorted(b.writes) if address.kind is Kind.AUTOMATION and b.managed_live(address)
            and not held(b.resource(address)) for c in delete(b, address)]
    for resource in to_write(b):
        wanted = {name.lower() for name in flows_of(b, resource)}
        gone += [c for c in delete(b, resource.address) if c.full_name.lower() not in wanted]
    return gone


def deactivated(b: Build, deleted: list[Component]) -> dict[str, bytes]:
    """The `deleted` flows switched off (status Obsolete), in the same deploy that deletes them after its saves:
    Salesforce deletes no active flow (Metadata API, Flow: "You can delete a flow version as long as it isn't
    active"). The org's own flow where it was read; offline, the flow the cadence the plan deletes made."""
    files = {}
    for component in (c for c in deleted if c.type == "Flow"):
        body = b.live.flows.get(component.full_name) if b.live is not None else None
        change = b.deletes.get(component.address) if component.address is not None else None
        if body is None and change is not None and held(before := Resource(change.address, dict(change.before or {}))):
            body = flows_of(b, before).get(component.full_name)
        if body is not None:
            files[f"flows/{component.full_name}.flow"] = re.sub(rb"<status>[^<]*</status>",
                                                                b"<status>Obsolete</status>", body)
    return files


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    assert b.live is not None
    type_drifted = not same_values(b.live.notification_type, notification_type_file())
    for resource in _managed(b):
        reasons = found.setdefault(resource.address, [])
        missing = _missing_person(b, automation_of(resource))
        if missing:
            reasons.append(f"{missing} is not an active user or a queue of the Salesforce org")
        elif _drifted(b, resource):
            reasons.append("flow edited or deactivated in Salesforce")
        if type_drifted and isinstance(automation_of(resource).action, Notify):
            reasons.append(f"notification type {NOTIFICATION_TYPE} edited or deleted in Salesforce")
        if not reasons:
            del found[resource.address]


def _missing_person(b: Build, automation: Automation) -> str | None:
    """The user or queue the cadence names that the org has no more (a user: no more active), if any."""
    directory = b.live.routing.directory if b.live is not None else None
    match _assignee(automation):
        case User(email=email) if directory is not None:
            found = directory.users.get(email.lower())
            return email if found is None or not found.active else None
        case Queue(key=key) if directory is not None:
            return key if key.lower() not in directory.queues else None
    return None


def _managed(b: Build) -> list[Resource]:
    """Desired cadences Salesforce runs as flows that sos already manages in the org and this build does not write."""
    return [r for r in b.desired.of_kind(Kind.AUTOMATION)
            if r.address not in b.writes and b.managed_live(r.address) and held(r)]


def to_write(b: Build) -> list[Resource]:
    """Changed cadences Salesforce runs as flows, and managed ones whose flows in the org are not sos's (edited,
    missing, or one for a stage the cadence no longer watches); offline, not those that name a user or queue (the
    flow needs its id in the org)."""
    chosen = [r for r in (b.resource(a) for a in sorted(b.writes) if a.kind is Kind.AUTOMATION)
              if held(r) and (b.live is not None or not names_people(r))]
    if b.live is not None:
        chosen += [r for r in _managed(b) if _drifted(b, r)]
    return chosen


def _drifted(b: Build, resource: Resource) -> bool:
    """Whether the org's flows of a managed cadence are not the ones sos would deploy."""
    assert b.live is not None
    generated = flows_of(b, resource)
    live = {name.lower(): b.live.flows[name] for name in _deployed(b, resource.address)}
    return sorted(live) != sorted(name.lower() for name in generated) or not all(
        same_values(live[name.lower()], body) for name, body in generated.items())


def _deployed(b: Build, address: Address) -> list[str]:
    """The names of the flows the cadence at `address` has in the org (those carrying its mark). Offline: for a
    cadence the plan deletes, the flows it made; for any other, none."""
    if b.live is not None:
        return sorted(name for name, body in b.live.flows.items() if cadence_address(ET.fromstring(body)) == address)
    change = b.deletes.get(address)
    if change is None:
        return []
    before = Resource(address, dict(change.before or {}))
    return list(flows_of(b, before)) if held(before) else [flow_name(address)]


def notification_type(b: Build) -> tuple[str, bytes, Component] | None:
    """The notification type, when this deploy writes a notify flow and the org lacks it or holds it otherwise."""
    body = notification_type_file()
    if not any(isinstance(automation_of(r).action, Notify) for r in to_write(b)) \
            or (b.live is not None and same_values(b.live.notification_type, body)):
        return None
    return NOTIFICATION_FILE, body, Component("CustomNotificationType", NOTIFICATION_TYPE, None)


def notification_type_file() -> bytes:
    return render("notification_type.xml.j2", label="sos cadence", description=(
        "What the notify cadences of the blueprint send: Salesforce's bell and the mobile app.\n\n"
        f"{NOTIFICATION_MARK}"))


def same_values(live: bytes | None, generated: bytes) -> bool:
    """Whether the org's component holds every value sos writes (whitespace aside); what Salesforce adds is left
    out. None (the org has none) holds nothing."""
    if live is None:
        return False
    wanted = _leaves(ET.fromstring(generated))
    have = [leaf for leaf in _leaves(ET.fromstring(live)) if leaf[0] in {path for path, _ in wanted}]
    return sorted(have) == sorted(wanted)


def _leaves(root: ET.Element) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(element: ET.Element, path: str) -> None:
        children = list(element)
        if not children:
            found.append((path, " ".join((element.text or "").split())))
        for child in children:
            walk(child, f"{path}/{child.tag.rsplit('}', 1)[-1]}")

    walk(root, "")
    return found


def flows_of(b: Build, resource: Resource) -> dict[str, bytes]:
    """The flows of one cadence, by name, as flows/<Name>.flow holds each."""
    names = cadence_flow_names(b.desired, resource)
    trigger = automation_of(resource).trigger
    if not isinstance(trigger, StageAgeOver):
        return {b.live_name(resource.address) or next(iter(names)): flow_file(b, resource)}
    limits = stage_limits(b.desired, trigger)
    return {name: flow_file(b, resource, stage, limits[stage]) for name, stage in names.items() if stage is not None}


def flow_file(b: Build, resource: Resource, stage: str | None = None, limit: int = 0) -> bytes:
    """One flow of a cadence: for a stage_age_over cadence, the one watching `stage` for `limit` days."""
    automation = automation_of(resource)
    action = automation.action
    address, obj = resource.address, resource.address.scope
    due, assignments, notify = "", [], None
    if isinstance(action, Notify):
        notify = {"type": NOTIFICATION_TYPE, "recipient": _person(b, resource, action.to, "notifies"),
                  "inputs": [("customNotifTypeId", "elementReference", "Get_Notification_Type.Id"),
                             ("recipientIds", "elementReference", "Recipients"),
                             ("title", "elementReference", "$Record.Name"),
                             ("body", "stringValue", action.message),
                             ("targetId", "elementReference", "$Record.Id")]}
    else:
        assert isinstance(action, CreateTask)
        due = (f"TODAY() + {action.due_in_days}" if action.due_in_days is not None else
               f"DATEVALUE(NOW() + {action.due_in_hours} / 24)" if action.due_in_hours is not None else "")
        assignments = [*([("ActivityDate", "elementReference", "Due_Date")] if due else []),
                       ("OwnerId", *_person(b, resource, action.assign_to, "assigns a task to")),
                       ("Priority", "stringValue", PRIORITIES[action.priority]),
                       (RELATED[obj], "elementReference", "$Record.Id"),
                       ("Subject", "stringValue", action.subject)]
    label = f"sos: {address.key.replace('_', ' ')}" + (f" in {stage.replace('_', ' ')}" if stage else "")
    flow = {"api_version": API_VERSION, "description": with_mark(automation.description,
                                                                 ownership_mark([(address, {})])),
            "label": label[:80], "due": due, "assignments": assignments,
            "notify": notify, "first": "Get_Notification_Type" if notify else "Create_Task",
            "cadence": json.dumps(dict(resource.attrs), sort_keys=True, ensure_ascii=False),
            "condition": entry_condition(b, resource, stage), "object": OBJECTS[obj],
            "trigger_type": "Create" if isinstance(automation.trigger, RecordCreated) else "CreateAndUpdate",
            # fires on the first day the deal has sat in the stage more than `limit` whole days, as the sandbox
            "after_days": limit + 1 if stage else 0,
            "status": "Active"}
    return render("flow.xml.j2", flow=flow)


def _person(b: Build, resource: Resource, assignee: Assignee, verb: str) -> tuple[str, str]:
    """How the flow names who gets the task or notification: the record's owner, or the org's id of the user or
    queue (a problem at the cadence's line when the org lacks it)."""
    span = resource.spans.get("assignee", resource.origin)
    match assignee:
        case User(email=email):
            user = people.user(b, resource, email, span, verb)
            return "stringValue", user.id if user is not None else email
        case Queue(key=key):
            queue = people.queue(b, resource, key, span, verb, "")
            return "stringValue", queue.id if queue is not None else key
    return "elementReference", "$Record.OwnerId"


def entry_condition(b: Build, resource: Resource, stage: str | None = None) -> str:
    """The flow's entry formula: the trigger (a stage or status entered; for a stage_age_over cadence, being in
    `stage`), the cadence's `when`, and for a lead that its owner is a user; '' for none."""
    automation = automation_of(resource)
    obj = resource.address.scope
    parts = []
    match automation.trigger:
        case StageEntered(stage=value) | StatusEntered(status=value):
            field = STAGE_FIELDS[obj]
            parts.append(f"{field} == '{value}' and (is_new() or is_changed({field}))")
        case StageAgeOver() if stage is not None:
            parts.append(f"{STAGE_FIELDS[obj]} == '{stage}'")
    if automation.when:
        parts.append(f"({automation.when})")
    # A lead may be owned by a queue, and a Task cannot be: its create would fail, and a failing after-save flow
    # rolls back the save that started it. Users' ids begin 005 (Object Reference, "Object IDs"). A queue can be
    # notified (QueueId is a valid recipient), and a named user's task does not read the owner.
    owner_task = isinstance(automation.action, CreateTask) and automation.action.assign_to == Owner()
    guard = f"BEGINS({merge_field('OwnerId')}, '005')" if obj == "lead" and owner_task else ""
    if not parts:
        return guard
    where = resource.origin or Span(str(resource.address), 1, 1)
    try:
        expr = parse_expression(" and ".join(parts), lambda start, end: where)
        scope = b.scopes.setdefault(obj, model_scope(b.desired, obj))
        typed, problems = annotate(expr, scope)
        if problems:
            raise SosError(problems)
        naming = expression_naming(obj, b.field_names(obj), b.stage_names_by_key(), b.status_names_by_key())
        condition = FlowFormula(scope, naming).generate(typed)
        return f"AND({guard}, {condition})" if guard else condition
    except SosError as error:
        b.problems.extend(d if resource.origin is not None else Diagnostic(
            None, f"cadence {resource.address.key}, which sos made in the org and the blueprint no longer has, "
                  f"cannot be deployed again: {d.message}", d.code) for d in error.diagnostics)
        return "FALSE"

