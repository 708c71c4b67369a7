"""The sandbox's records: one table per object (account, contact, lead, opportunity), one column per field key as
sos.expr.dialects.sql writes them, beside tasks, users, queues and the field history.

A field the blueprint adds gets its column when the apply that adds it commits (`sync_tables`, in the apply's
transaction); a column is never dropped, so a field removed and added back finds its data. Writes through
`write` act as the CRM would: every applied rule and stage requirement that blocks is enforced with the record's
prior values (nothing is written when one refuses), and every changed field is recorded in the history.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from sos.backends.local.automation import after_save
from sos.errors import Diagnostic, SosError, Span, did_you_mean
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sql import STAGE_ENTERED, columns, encode, quote_name
from sos.expr.types import STAGE_FIELDS, Kind, Scope
from sos.model.checks import checks_of
from sos.model.exprs import enforced_when, model_scope
from sos.model.resources import Kind as ResourceKind
from sos.model.resources import Address, Model

RECORD_OBJECTS = ("account", "contact", "lead", "opportunity")
ID = "_id"      # a record's id: the table's integer key (a field key never starts with '_')
UNTRACKED = (STAGE_ENTERED, "created_date")     # stamped by the CRM, not in a record's field history

TABLES = f"""
CREATE TABLE IF NOT EXISTS field_history (
    {ID}   INTEGER PRIMARY KEY,
    object TEXT NOT NULL,
    record INTEGER NOT NULL,
    field  TEXT NOT NULL,       -- the field key
    old,                        -- the values as the record's row holds them (NULL: blank)
    new,
    who    TEXT NOT NULL,       -- a username
    at     TEXT NOT NULL        -- ISO date and time, UTC
);
CREATE INDEX IF NOT EXISTS field_history_record ON field_history (object, record);
CREATE TABLE IF NOT EXISTS "user" (
    {ID}     INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    email    TEXT,
    active   INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS queue (
    {ID}    INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    members TEXT NOT NULL DEFAULT '[]'  -- JSON array of usernames
);
CREATE TABLE IF NOT EXISTS task (
    {ID}           INTEGER PRIMARY KEY,
    subject        TEXT NOT NULL,
    status         TEXT NOT NULL,       -- open or completed
    due_date       TEXT,
    owner          TEXT,                -- a username
    what_object    TEXT,                -- the record it is about: its object and id
    what_id        INTEGER,
    created_date   TEXT NOT NULL,
    completed_date TEXT,
    priority       TEXT,                -- low, normal or high (a cadence's task)
    cadence        TEXT                 -- the cadence that made it
);
"""


def sync_tables(connection: sqlite3.Connection, model: Model) -> dict[str, Scope]:
    """Make each object's table hold a column for every field of `model` (creating the table when missing); the
    scope of each object, by object."""
    scopes = {}
    for obj in RECORD_OBJECTS:
        scope = scopes[obj] = model_scope(model, obj)
        have = table_columns(connection, obj)
        wanted = columns(scope)
        if not have:
            defined = ", ".join(f"{quote_name(name)} {sql_type}" for name, sql_type in wanted.items())
            connection.execute(f"CREATE TABLE {quote_name(obj)} ({ID} INTEGER PRIMARY KEY, {defined})")
        for name, sql_type in wanted.items():
            if name not in have and have:
                connection.execute(f"ALTER TABLE {quote_name(obj)} ADD COLUMN {quote_name(name)} {sql_type}")
    return scopes


def rename_in_records(connection: sqlite3.Connection, old: Address, new: Address, obj: str) -> None:
    """Records keep what they hold under a renamed key: a field's column and history, a stage's deals or a lead
    status's leads (`obj`: the object whose records hold it)."""
    table = quote_name(obj)
    if old.kind is ResourceKind.FIELD:
        have = table_columns(connection, obj)
        if old.key not in have:
            return
        if new.key in have:     # a column left by a field of that key removed earlier: the renamed one's data wins
            connection.execute(f"UPDATE {table} SET {quote_name(new.key)} = {quote_name(old.key)}, "
                               f"{quote_name(old.key)} = NULL")
        else:
            connection.execute(f"ALTER TABLE {table} RENAME COLUMN {quote_name(old.key)} TO {quote_name(new.key)}")
        connection.execute("UPDATE field_history SET field = ? WHERE object = ? AND field = ?", (new.key, obj, old.key))
    elif old.kind in (ResourceKind.STAGE, ResourceKind.LEAD_STATUS) and table_columns(connection, obj):
        column = STAGE_FIELDS[obj]
        connection.execute(f"UPDATE {table} SET {quote_name(column)} = ? WHERE {quote_name(column)} = ?",
                           (new.key, old.key))
        for side in ("old", "new"):
            connection.execute(f"UPDATE field_history SET {side} = ? WHERE object = ? AND field = ? AND {side} = ?",
                               (new.key, obj, column, old.key))


def table_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    """The columns of `table`, in order ([] when there is no such table)."""
    return [row[1] for row in connection.execute(f"PRAGMA table_info({quote_name(table)})")]


def decode(row: Mapping[str, Any], scope: Scope, today: datetime.date) -> dict[str, object]:
    """The record a row holds, as `evaluate` takes it (a column the row lacks is a blank field)."""
    record: dict[str, object] = {}
    for key, field_type in scope.fields.items():
        if key == "days_in_stage":
            entered = row.get(STAGE_ENTERED)
            record[key] = None if entered is None else (today - datetime.date.fromisoformat(entered)).days
            continue
        value = row.get(key)
        if value is None:
            record[key] = False if field_type.kind is Kind.BOOLEAN else None
        elif field_type.kind is Kind.BOOLEAN:
            record[key] = bool(value)
        elif field_type.kind is Kind.MULTI_PICKLIST:
            record[key] = json.loads(value)
        else:
            record[key] = value
    return record


def read_row(connection: sqlite3.Connection, obj: str, record_id: int) -> dict[str, Any] | None:
    cursor = connection.execute(f"SELECT * FROM {quote_name(obj)} WHERE {ID} = ?", (record_id,))
    found = cursor.fetchone()
    return None if found is None else dict(zip([d[0] for d in cursor.description], found, strict=True))


def write(connection: sqlite3.Connection, model: Model, obj: str, values: Mapping[str, object], *,
          record_id: int | None, who: str, now: datetime.datetime) -> int:
    """Create (`record_id` None) or update a record of `obj` with `values` (field key → value as `evaluate` takes
    it), as the CRM would: refused with every blocking rule's message when one bites; its id. Call it inside a
    transaction: the row and its history are written together or not at all."""
    if obj not in RECORD_OBJECTS:
        raise SosError(f"the sandbox holds no {obj} records (it holds {', '.join(RECORD_OBJECTS)})", "bad-record")
    scope = sync_tables(connection, model)[obj]
    _refuse_unknown_fields(obj, values, scope)
    _refuse_unknown_values(obj, values, scope)
    now = now.astimezone(datetime.UTC).replace(tzinfo=None) if now.tzinfo else now
    today = now.date()
    prior_row = None
    if record_id is not None:
        prior_row = read_row(connection, obj, record_id)
        if prior_row is None:
            raise SosError(f"there is no {obj} {record_id} in the sandbox", "bad-record")
    prior = None if prior_row is None else decode(prior_row, scope, today)
    record = {**(prior or {}), **values}
    if obj == "lead" and prior is None and record.get("status") in (None, ""):   # a new lead: the default status
        record["status"] = next((status.address.key for status in model.of_kind(ResourceKind.LEAD_STATUS)
                                 if status.attrs.get("default")), None)
    if prior is None and "created_date" in scope.fields and record.get("created_date") is None:
        record["created_date"] = now.isoformat(timespec="seconds") + "Z"     # the CRM stamps a new record
    if "days_in_stage" in scope.fields:     # a create or a stage change enters the stage today
        stage = STAGE_FIELDS[obj]
        moved = prior is None or record.get(stage) != prior.get(stage)
        record["days_in_stage"] = 0 if moved else record["days_in_stage"]
    row = encode(record, scope, today=today)
    _refuse_broken_rules(model, scope, decode(row, scope, today), prior, now, record_id)
    names = list(row)
    if record_id is None:
        cursor = connection.execute(
            f"INSERT INTO {quote_name(obj)} ({', '.join(map(quote_name, names))}) VALUES "
            f"({', '.join('?' * len(names))})", list(row.values()))
        record_id = int(cursor.lastrowid or 0)
    else:
        connection.execute(f"UPDATE {quote_name(obj)} SET {', '.join(f'{quote_name(n)} = ?' for n in names)} "
                           f"WHERE {ID} = ?", [*row.values(), record_id])
    at = now.isoformat(timespec="seconds") + "Z"
    old = prior_row or encode({}, scope)     # a new record's fields were blank (a checkbox: unchecked)
    connection.executemany(
        "INSERT INTO field_history (object, record, field, old, new, who, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(obj, record_id, key, old.get(key), value, who, at) for key, value in row.items()
         if key not in UNTRACKED and old.get(key) != value])
    after_save(connection, model, obj, record_id, decode(row, scope, today), prior, now)
    return record_id


def insert_rows(connection: sqlite3.Connection, obj: str, rows: list[dict[str, object]]) -> None:
    """Insert encoded rows (each with the same columns) as they are, as a data import does: no rule is enforced,
    no history written."""
    if rows:
        names = list(rows[0])
        connection.executemany(f"INSERT INTO {quote_name(obj)} ({', '.join(map(quote_name, names))}) VALUES "
                               f"({', '.join('?' * len(names))})", [list(row.values()) for row in rows])


def _refuse_unknown_fields(obj: str, values: Mapping[str, object], scope: Scope) -> None:
    problems = []
    for key in values:
        if key == "days_in_stage":
            problems.append(Diagnostic(None, f"days_in_stage cannot be written: the sandbox counts it from the day "
                                             f"the {obj} entered its stage", "bad-record"))
        elif key not in scope.fields:
            problems.append(Diagnostic(None, f"{obj} has no field '{key}'", "bad-record",
                                       fix=did_you_mean(key, scope.fields) or "apply the blueprint that adds it"))
    if problems:
        raise SosError(problems)


def _refuse_unknown_values(obj: str, values: Mapping[str, object], scope: Scope) -> None:
    """A stage, lead status or picklist value the applied blueprint does not define is refused, as a CRM refuses a
    value outside a restricted picklist (sos deploys picklists restricted; a CRM's stages and lead statuses
    are the org's own lists)."""
    problems = []
    for key, value in values.items():
        kind = scope.fields[key]
        allowed = ([s.key for s in scope.stages] if kind.kind is Kind.STAGE else
                   [s.key for s in scope.statuses] if kind.kind is Kind.LEAD_STATUS else
                   list(kind.values) if kind.kind is Kind.PICKLIST else None)
        if allowed is not None and value not in (None, "") and value not in allowed:
            problems.append(Diagnostic(None, f"{obj} field '{key}' has no value '{value}'", "bad-record",
                                       fix=did_you_mean(str(value), allowed) or f"one of: {', '.join(allowed)}"))
    if problems:
        raise SosError(problems)


def _refuse_broken_rules(model: Model, scope: Scope, record: Mapping[str, object],
                         prior: Mapping[str, object] | None, now: datetime.datetime, record_id: int | None) -> None:
    """Refuse the save with the message of every applied rule and stage requirement that blocks it."""
    today = now.date()
    refused = []
    for check in checks_of(model, kinds=(ResourceKind.STAGE_REQUIREMENT, ResourceKind.RULE)):
        if check.object != scope.object or not check.blocks:
            continue
        gate = enforced_when(check.enforce, scope, check.origin or Span(str(check.address), 1, 1))
        bites = gate is None or evaluate(gate.expr, record, scope, today=today, now=now, prior=prior) is True
        if bites and evaluate(check.breaks.expr, record, scope, today=today, now=now, prior=prior) is True:
            refused.append(check)
    if refused:
        saving = f"{scope.object} {record_id}" if record_id is not None else f"a new {scope.object}"
        raise SosError([Diagnostic(check.origin, f"the sandbox refused to save {saving}: {check.title}",
                                   "record-refused",
                                   why=f"{check.address} (enforce: {check.enforce}) blocks this save")
                        for check in refused])
