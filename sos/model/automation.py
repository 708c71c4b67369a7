"""Cadences and routes as typed values: what fires them, what they do, who gets the work.

A backend reads these (automation_of, assignment_of), never the blueprint's YAML. In a Model
they are kept as plain JSON attributes (to_attrs), the shape the blueprint writes them in with
defaults left out, so two ways of writing the same cadence compare equal in a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from sos.model.resources import Address, Kind, Model, Resource


@dataclass(frozen=True, slots=True)
class RecordCreated:
    object: str


@dataclass(frozen=True, slots=True)
class StageEntered:
    stage: str


@dataclass(frozen=True, slots=True)
class StatusEntered:
    status: str


@dataclass(frozen=True, slots=True)
class StageAgeOver:
    days: int | None  # None: each stage's own max_days


@dataclass(frozen=True, slots=True)
class Schedule:
    every: str  # day, weekday or a day of the week
    at: str  # "HH:MM"
    timezone: str


Trigger = RecordCreated | StageEntered | StatusEntered | StageAgeOver | Schedule


@dataclass(frozen=True, slots=True)
class Owner:
    """The owner of the record the cadence fired for."""


@dataclass(frozen=True, slots=True)
class User:
    email: str


@dataclass(frozen=True, slots=True)
class Queue:
    key: str


@dataclass(frozen=True, slots=True)
class RoundRobin:
    users: tuple[str, ...]


Assignee = Owner | User | Queue | RoundRobin


@dataclass(frozen=True, slots=True)
class CreateTask:
    subject: str
    assign_to: Assignee = Owner()
    due_in_days: int | None = None
    due_in_hours: int | None = None
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class Notify:
    message: str
    to: Assignee = Owner()


@dataclass(frozen=True, slots=True)
class Report:
    name: str  # pipeline_review, forecast, data_hygiene, stale_deals


Action = CreateTask | Notify | Report


@dataclass(frozen=True, slots=True)
class Automation:
    """A cadence: `trigger` (an event or a Schedule) fires `action`, for records where `when` holds."""

    trigger: Trigger
    action: Action
    when: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    """A route: new records where `when` holds (every record when None) go to `assignee`; routes are tried
    in `position` order."""

    assignee: User | Queue | RoundRobin
    position: int
    when: str | None = None
    description: str = ""


def trigger_from(trigger: Mapping[str, Any] | None, schedule: Mapping[str, Any] | None) -> Trigger:
    if schedule:
        return Schedule(str(schedule["every"]), str(schedule["at"]), str(schedule["timezone"]))
    (name, value), = (trigger or {}).items()
    if name == "record_created":
        return RecordCreated(str(value))
    if name == "stage_entered":
        return StageEntered(str(value))
    if name == "status_entered":
        return StatusEntered(str(value))
    return StageAgeOver(None if value == "max_days" else int(value))


def assignee_from(data: Any) -> Assignee:
    if data in (None, "owner"):
        return Owner()
    (name, value), = dict(data).items()
    if name == "user":
        return User(str(value))
    if name == "queue":
        return Queue(str(value))
    return RoundRobin(tuple(str(v) for v in value))


def action_from(data: Mapping[str, Any]) -> Action:
    (name, value), = data.items()
    if name == "report":
        return Report(str(value))
    if name == "notify":
        return Notify(str(value["message"]), assignee_from(value.get("to")))
    return CreateTask(str(value["subject"]), assignee_from(value.get("assign_to")), value.get("due_in_days"),
                      value.get("due_in_hours"), str(value.get("priority") or "normal"))


def automation_of(resource: Resource) -> Automation:
    """The typed cadence a Model's AUTOMATION resource holds."""
    assert resource.address.kind is Kind.AUTOMATION
    attrs = resource.attrs
    return Automation(trigger_from(attrs.get("trigger"), attrs.get("schedule")), action_from(attrs["action"]),
                      attrs.get("when"), str(attrs.get("description") or ""))


def assignment_of(resource: Resource) -> Assignment:
    """The typed route a Model's ASSIGNMENT resource holds."""
    assert resource.address.kind is Kind.ASSIGNMENT
    attrs = resource.attrs
    assignee = assignee_from(attrs["assign_to"])
    assert not isinstance(assignee, Owner), "a route assigns to a user, a queue or a round robin"
    return Assignment(assignee, int(attrs.get("position", 0)), attrs.get("when"), str(attrs.get("description") or ""))


def _assignee_data(assignee: Assignee) -> Any:
    match assignee:
        case User(email=email):
            return {"user": email}
        case Queue(key=key):
            return {"queue": key}
        case RoundRobin(users=users):
            return {"round_robin": list(users)}
    return "owner"


def _trigger_data(trigger: Trigger) -> dict[str, Any]:
    match trigger:
        case Schedule():
            return {"schedule": {"every": trigger.every, "at": trigger.at, "timezone": trigger.timezone}}
        case RecordCreated(object=obj):
            return {"trigger": {"record_created": obj}}
        case StageEntered(stage=stage):
            return {"trigger": {"stage_entered": stage}}
        case StatusEntered(status=status):
            return {"trigger": {"status_entered": status}}
        case StageAgeOver(days=days):
            return {"trigger": {"stage_age_over": "max_days" if days is None else days}}
    raise TypeError(f"not a trigger: {trigger!r}")


def _action_data(action: Action) -> dict[str, Any]:
    match action:
        case Report(name=name):
            return {"report": name}
        case Notify(message=message, to=to):
            return {"notify": {"message": message} | ({} if to == Owner() else {"to": _assignee_data(to)})}
        case CreateTask():
            task: dict[str, Any] = {"subject": action.subject}
            if action.assign_to != Owner():
                task["assign_to"] = _assignee_data(action.assign_to)
            for name, value in (("due_in_days", action.due_in_days), ("due_in_hours", action.due_in_hours)):
                if value is not None:
                    task[name] = value
            if action.priority != "normal":
                task["priority"] = action.priority
            return {"create_task": task}
    raise TypeError(f"not an action: {action!r}")


def automation_attrs(automation: Automation) -> dict[str, Any]:
    """The plain JSON a Model keeps for `automation` (defaults left out)."""
    attrs = {**_trigger_data(automation.trigger), "action": _action_data(automation.action)}
    if automation.when:
        attrs["when"] = automation.when
    if automation.description:
        attrs["description"] = automation.description
    return attrs


def assignment_attrs(assignment: Assignment) -> dict[str, Any]:
    """The plain JSON a Model keeps for `assignment`."""
    attrs: dict[str, Any] = {"assign_to": _assignee_data(assignment.assignee), "position": assignment.position}
    if assignment.when:
        attrs["when"] = assignment.when
    if assignment.description:
        attrs["description"] = assignment.description
    return attrs


def stage_limits(model: Model, trigger: StageAgeOver) -> dict[str, int]:
    """The open deal stages a `stage_age_over` trigger watches, by key, each with the days a deal may sit in it
    before the cadence fires: the trigger's days for every open stage, or each stage's own max_days (the first
    opportunity pipeline's, where pipelines share a stage). A won or lost stage is never watched."""
    limits: dict[str, int] = {}
    for pipeline in model.of_kind(Kind.PIPELINE):
        if pipeline.address.scope != "opportunity":
            continue
        for key in pipeline.attrs.get("stages", ()):
            stage = model.get(Address(Kind.STAGE, pipeline.address.key, key))
            if stage is None or stage.attrs.get("outcome") in ("won", "lost"):
                continue
            limit = trigger.days if trigger.days is not None else stage.attrs.get("max_days")
            if limit:
                limits.setdefault(key, int(limit))
    return limits


def speed_to_lead(model: Model) -> tuple[str, CreateTask] | None:
    """The cadence that gives a new lead its first touch (the first on a lead's creation that creates a task with a
    due time), by address, with its task; None when the blueprint has none."""
    for resource in model.of_kind(Kind.AUTOMATION):
        cadence = automation_of(resource)
        if isinstance(cadence.trigger, RecordCreated) and cadence.trigger.object == "lead" \
                and isinstance(cadence.action, CreateTask):
            return str(resource.address), cadence.action
    return None
