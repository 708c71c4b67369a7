"""What the sandbox does after a record is saved through its API, as a CRM's automation would: routes assign new
leads that come in without an owner (the first route whose `when` holds; a round robin keeps its turn), and cadences
fire on a record created, a stage entered or a lead status entered (tasks with owner, subject, due date and
priority; notifications recorded). `tick` moves the sandbox's clock forward and fires the cadences on an open deal's
time in its stage (`stage_age_over`), once per deal and stage."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterable, Mapping

from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sql import quote_name
from sos.expr.types import STAGE_FIELDS, Scope
from sos.model.automation import (
    Assignee,
    CreateTask,
    Notify,
    Owner,
    Queue,
    RecordCreated,
    RoundRobin,
    StageAgeOver,
    StageEntered,
    StatusEntered,
    User,
    assignment_of,
    automation_of,
    stage_limits,
)
from sos.model.exprs import exprs_of, model_scope
from sos.model.resources import Kind, Model, Resource

ID = "_id"
ROUTED = "lead"     # the object routes assign (sos.blueprint: a route's object)
TABLES = """     -- created with the sandbox's other tables (sos.backends.local.SCHEMA)
CREATE TABLE IF NOT EXISTS notification (
    _id         INTEGER PRIMARY KEY,
    cadence     TEXT NOT NULL,
    recipient   TEXT,               -- a username or a queue
    message     TEXT NOT NULL,
    what_object TEXT,
    what_id     INTEGER,
    at          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turn (         -- whose turn it is in each round robin, by route or cadence
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fired (        -- the stage_age_over cadences already fired for a deal in its stage
    cadence TEXT NOT NULL,
    object  TEXT NOT NULL,
    record  INTEGER NOT NULL,
    entered TEXT NOT NULL,
    PRIMARY KEY (cadence, object, record, entered)
);
"""


def after_save(connection: sqlite3.Connection, model: Model, obj: str, record_id: int,
               record: Mapping[str, object], prior: Mapping[str, object] | None, now: datetime.datetime) -> None:
    """Route a new lead and fire the cadences its save triggers (inside the save's transaction)."""
    scope = model_scope(model, obj)
    record = dict(record)
    if obj == ROUTED and prior is None and record.get("owner") is None:
        routed = _route(connection, model, scope, record, now)
        if routed is not None:
            owner, route = routed
            connection.execute(f"UPDATE {quote_name(obj)} SET owner = ? WHERE {ID} = ?", (owner, record_id))
            connection.execute("INSERT INTO field_history (object, record, field, old, new, who, at) VALUES "
                               "(?, ?, 'owner', NULL, ?, ?, ?)",       # the route is who set the owner
                               (obj, record_id, owner, route, now.isoformat(timespec="seconds") + "Z"))
            record["owner"] = owner
    state = STAGE_FIELDS.get(obj)
    moved = state is not None and (prior is None or prior.get(state) != record.get(state))
    for resource in model.of_kind(Kind.AUTOMATION):
        cadence = automation_of(resource)
        trigger = cadence.trigger
        fires = ((isinstance(trigger, RecordCreated) and trigger.object == obj and prior is None)
                 or (isinstance(trigger, StageEntered) and obj == "opportunity" and moved
                     and record.get("stage") == trigger.stage)
                 or (isinstance(trigger, StatusEntered) and obj == "lead" and moved
                     and record.get("status") == trigger.status))
        if fires and _holds(resource, model, scope, record, now):
            _act(connection, resource, obj, record_id, record, now)


def tick(connection: sqlite3.Connection, model: Model, deals: Iterable[tuple[int, Mapping[str, object], str]],
         now: datetime.datetime) -> int:
    """Fire every `stage_age_over` cadence for the open `deals` (id, record as `evaluate` takes it with its
    days_in_stage as of `now`, the day it entered its stage) that have been in their stage longer than its limit (the
    cadence's days, or the stage's max_days) and that its `when` holds for, once per deal and stage; how many fired.
    A won or lost deal is never stale: nothing is left to act on."""
    cadences = []
    for resource in model.of_kind(Kind.AUTOMATION):
        trigger = automation_of(resource).trigger
        if isinstance(trigger, StageAgeOver):
            cadences.append((resource, stage_limits(model, trigger)))
    scope = model_scope(model, "opportunity")
    fired = 0
    for record_id, record, entered in deals:
        for resource, limits in cadences:
            limit = limits.get(str(record.get("stage")))
            if limit is None or int(str(record.get("days_in_stage") or 0)) <= limit or \
                    not _holds(resource, model, scope, record, now):
                continue            # not fired yet: a later tick fires it once its `when` holds
            if connection.execute("INSERT OR IGNORE INTO fired VALUES (?, 'opportunity', ?, ?)",
                                  (str(resource.address), record_id, entered)).rowcount:
                _act(connection, resource, "opportunity", record_id, record, now)
                fired += 1
    return fired


def _holds(resource: Resource, model: Model, scope: Scope, record: Mapping[str, object],
           now: datetime.datetime) -> bool:
    exprs = resource.exprs or exprs_of(resource, model)
    return "when" not in exprs or evaluate(exprs["when"].expr, record, scope, today=now.date(), now=now) is True


def _route(connection: sqlite3.Connection, model: Model, scope: Scope, record: Mapping[str, object],
           now: datetime.datetime) -> tuple[str, str] | None:
    """The owner the first matching route gives a new lead, and that route's address (None: no route matches)."""
    routes = sorted(model.of_kind(Kind.ASSIGNMENT), key=lambda r: int(r.attrs.get("position", 0)))
    for resource in routes:
        if resource.address.scope == ROUTED and _holds(resource, model, scope, record, now):
            owner = _assignee(connection, assignment_of(resource).assignee, str(resource.address), record)
            return None if owner is None else (owner, str(resource.address))
    return None


def _assignee(connection: sqlite3.Connection, assignee: Assignee, name: str,
              record: Mapping[str, object]) -> str | None:
    """Who gets the work: a user's address, a queue's key, the round robin's next (its turn kept in `turn`), or
    the record's owner."""
    match assignee:
        case User(email=email):
            return email
        case Queue(key=key):
            return key
        case RoundRobin(users=users):
            turn = connection.execute("SELECT next FROM turn WHERE name = ?", (name,)).fetchone()
            position = turn[0] if turn else 0
            connection.execute("INSERT OR REPLACE INTO turn VALUES (?, ?)", (name, (position + 1) % len(users)))
            return users[position % len(users)]
        case Owner():
            owner = record.get("owner")
            return None if owner is None else str(owner)
    raise TypeError(f"not an assignee: {assignee!r}")


def _act(connection: sqlite3.Connection, resource: Resource, obj: str, record_id: int,
         record: Mapping[str, object], now: datetime.datetime) -> None:
    action = automation_of(resource).action
    at = now.isoformat(timespec="seconds") + "Z"
    if isinstance(action, CreateTask):
        due = (now + datetime.timedelta(hours=action.due_in_hours)).isoformat(timespec="minutes") + "Z" \
            if action.due_in_hours is not None else (now.date() + datetime.timedelta(days=action.due_in_days or 0)
                                                     ).isoformat()
        connection.execute(
            "INSERT INTO task (subject, status, due_date, owner, what_object, what_id, created_date, priority, "
            "cadence) VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?)",
            (action.subject, due, _assignee(connection, action.assign_to, str(resource.address), record), obj,
             record_id, at, action.priority, str(resource.address)))
    elif isinstance(action, Notify):
        connection.execute("INSERT INTO notification (cadence, recipient, message, what_object, what_id, at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (str(resource.address), _assignee(connection, action.to, str(resource.address), record),
                            action.message, obj, record_id, at))
