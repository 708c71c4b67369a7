"""The sandbox's side of the History protocol (sos.backends.base): its records as they are, the field history its
writes and seeds keep, the tasks on them, and which deal each converted lead became."""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sos.backends.base import STAGE_ENTERED, Activity, FieldChange, Timeline, utc_moment
from sos.expr.dialects import sql
from sos.expr.dialects.sql import quote_name
from sos.expr.types import ExprType, Kind, Scope

ID = "_id"
CONVERTED_DEAL = "converted_deal"
TABLES = """
CREATE TABLE IF NOT EXISTS lead_conversion (    -- which deal a converted lead became
    lead INTEGER PRIMARY KEY,
    deal INTEGER,                               -- NULL: converted without a deal
    at   TEXT NOT NULL                          -- ISO date and time, UTC
);
"""


CONVERSIONS: dict[Kind, Callable[[Any], object]] = {
    Kind.DATE: lambda value: datetime.date.fromisoformat(str(value)[:10]),
    Kind.DATETIME: lambda value: utc_moment(str(value)),
    Kind.NUMBER: float,
    Kind.BOOLEAN: bool,
    Kind.MULTI_PICKLIST: json.loads,
}


def decoder(field_type: ExprType | None) -> Callable[[Any], object]:
    """How a value of `field_type`, as the sandbox's row holds it, is handed out (see History.rows); blank stays
    None. Chosen once per field, as rows and changes decode many values."""
    convert = None if field_type is None else CONVERSIONS.get(field_type.kind)
    if convert is None:
        return _same
    return lambda value: None if value is None else convert(value)


def _same(value: object) -> object:
    return value


def _since(moment: datetime.datetime) -> str:
    """`moment` as the first 19 characters of a stored date and time, to compare with."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rows(connection: sqlite3.Connection, scope: Scope, fields: Sequence[str]) -> Iterator[dict[str, object]]:
    have = {row[1] for row in connection.execute(f"PRAGMA table_info({quote_name(scope.object)})")}
    if not have:
        return
    wanted = [f for f in fields if f != CONVERTED_DEAL]
    stored = [(f, _stage_day if f == STAGE_ENTERED else decoder(scope.fields.get(f)))
              for f in wanted if _column(f) in have]
    missing = dict.fromkeys(f for f in wanted if _column(f) not in have)
    converted = scope.object == "lead"
    selected = ", ".join([f"r.{ID}", *(f"r.{quote_name(_column(f))}" for f, _ in stored),
                          *(["c.deal"] if converted else [])])
    join = f" LEFT JOIN lead_conversion c ON c.lead = r.{ID}" if converted else ""
    for found in connection.execute(f"SELECT {selected} FROM {quote_name(scope.object)} r{join} ORDER BY r.{ID}"):
        row: dict[str, object] = {"id": str(found[0]), "url": None, **missing}
        for (field, decode), value in zip(stored, found[1:], strict=False):
            row[field] = decode(value)
        if converted:
            row[CONVERTED_DEAL] = None if found[-1] is None else str(found[-1])
        yield row


def _column(field: str) -> str:
    """The column a field is read from: the day a deal entered its stage is the one days_in_stage counts from."""
    return sql.STAGE_ENTERED if field == STAGE_ENTERED else field


def _stage_day(value: object) -> datetime.datetime | None:
    """The day the sandbox stamps a deal's stage entry with, as its first moment (UTC): it keeps no time of day."""
    return None if value is None else utc_moment(_as_moment(str(value)))


def changes(connection: sqlite3.Connection, scope: Scope, fields: Sequence[str],
            since: datetime.datetime) -> Timeline:
    wanted = list(dict.fromkeys(fields))
    decoders = {field: decoder(scope.fields.get(field)) for field in wanted}
    cursor = connection.execute(
        f"SELECT record, field, old, new, at, who FROM field_history WHERE object = ? AND field IN "
        f"({', '.join('?' * len(wanted))}) AND substr(at, 1, 19) >= ? ORDER BY substr(at, 1, 19), {ID}",
        [scope.object, *wanted, _since(since)])
    return Timeline(tuple(
        FieldChange(str(record), field, decoders[field](old), decoders[field](new), utc_moment(at), who)
        for record, field, old, new, at, who in cursor))


def activities(connection: sqlite3.Connection, obj: str, since: datetime.datetime) -> Iterator[Activity]:
    cursor = connection.execute(
        f"SELECT {ID}, what_id, subject, owner, created_date, due_date, completed_date, cadence FROM task "
        f"WHERE what_object = ? AND substr(created_date, 1, 19) >= ? ORDER BY substr(created_date, 1, 19), {ID}",
        (obj, _since(since)))
    for task_id, record, subject, owner, created, due, completed, cadence in cursor:
        yield Activity(str(task_id), str(record), subject, owner, utc_moment(created),
                       None if due is None else datetime.date.fromisoformat(due[:10]),
                       None if completed is None else utc_moment(_as_moment(completed)), cadence)


def _as_moment(text: str) -> str:
    """A stored completion: a date and time, or a day alone (read as midnight UTC)."""
    return text if "T" in text else f"{text}T00:00:00Z"
