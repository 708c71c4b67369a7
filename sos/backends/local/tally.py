"""How many of the sandbox's records break each check, counted by SQLite: one grouped count and one query for the
worst offenders per check, with the condition lowered from the check by the SQL dialect. A check the dialect
cannot say is evaluated row by row inside the same queries (the evaluator, registered as a SQL function)."""

from __future__ import annotations

import datetime
import sqlite3
from collections import Counter
from collections.abc import Sequence

from sos.backends.base import Offender, Tally
from sos.backends.local.store import ID, decode, table_columns
from sos.errors import SosError
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sql import Sql, columns, quote_name
from sos.expr.types import STAGE_FIELDS
from sos.model.checks import Check, reads_a_save

NO_OWNER = "(no owner)"
NO_STAGE = "(no stage)"
READS_A_SAVE = ("it reads a save in progress (is_new(), is_changed() or prior()), which stored records cannot "
                "answer")


def tally(connection: sqlite3.Connection, checks: Sequence[Check], *, top: int, today: datetime.date,
          now: datetime.datetime | None = None) -> list[Tally]:
    """For each of `checks`, the records that break it (see Records.tally); `now` defaults to midnight of today."""
    return [_tally(connection, check, index, top, today, now) for index, check in enumerate(checks)]


def _tally(connection: sqlite3.Connection, check: Check, index: int, top: int, today: datetime.date,
           now: datetime.datetime | None) -> Tally:
    if reads_a_save(check):
        return Tally(0, unsupported=READS_A_SAVE)
    have = table_columns(connection, check.object)
    if not have:
        return Tally(0)
    scope = check.breaks.scope
    # a field the blueprint adds but the sandbox has not applied yet is blank on every record
    missing = [name for name in [*columns(scope), "amount", "name"] if name not in have]
    source = quote_name(check.object)
    if missing:
        blanks = ", ".join(f"NULL AS {quote_name(name)}" for name in dict.fromkeys(missing))
        source = f"(SELECT *, {blanks} FROM {quote_name(check.object)})"
    misfits: list[str] = []
    try:
        where, params = Sql(scope, today=today, now=now).where(check.breaks)
    except SosError:
        where, params = _row_by_row(connection, check, index, [*have, *dict.fromkeys(missing)], today, now, misfits)
    stage = quote_name(STAGE_FIELDS[check.object]) if check.object in STAGE_FIELDS else "NULL"
    name = "name"
    if "last_name" in have:     # a person loaded from an export may have its name in two parts only
        name = "IFNULL(name, TRIM(IFNULL(first_name || ' ', '') || IFNULL(last_name, '')))"
    counts = connection.execute(f"SELECT owner, {stage}, count(*) FROM {source} WHERE {where} GROUP BY 1, 2",
                                params).fetchall()
    if misfits:
        return Tally(0, unsupported=f"a record holds a value its field cannot ({misfits[0]})")
    by_owner: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    for owner, stage_key, count in counts:
        by_owner[owner or NO_OWNER] += count
        if stage != "NULL":
            by_stage[stage_key or NO_STAGE] += count
    worst: tuple[Offender, ...] = ()
    if top:
        rows = connection.execute(
            f"SELECT {ID}, {name} AS shown, owner, {stage}, amount FROM {source} WHERE {where} "
            f"ORDER BY amount IS NULL, amount DESC, shown, {ID} LIMIT ?{len(params) + 1}", [*params, top]).fetchall()
        worst = tuple(Offender(str(record_id), shown or "", owner, stage_key,
                               None if amount is None else float(amount))
                      for record_id, shown, owner, stage_key, amount in rows)
    return Tally(sum(by_owner.values()), dict(sorted(by_owner.items())), dict(sorted(by_stage.items())), worst)


def _row_by_row(connection: sqlite3.Connection, check: Check, index: int, names: list[str], today: datetime.date,
                now: datetime.datetime | None, misfits: list[str]) -> tuple[str, list[object]]:
    """A condition that asks the evaluator about each row: what SQL cannot say is still counted, more slowly. A row
    the evaluator cannot read (a value that no longer fits its field's type) is added to `misfits`."""
    scope = check.breaks.scope

    def breaks(*values: object) -> int:
        row = dict(zip(names, values, strict=True))
        try:
            return int(evaluate(check.breaks.expr, decode(row, scope, today), scope, today=today, now=now) is True)
        except SosError as error:
            misfits.append(f"{check.object} {row[ID]}: {error.diagnostics[0].message}")
            return 0

    function = f"sos_breaks_{index}"
    connection.create_function(function, len(names), breaks, deterministic=True)
    return f"{function}({', '.join(map(quote_name, names))})", []
