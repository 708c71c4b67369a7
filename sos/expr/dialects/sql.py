"""The SQL dialect: a SQLite WHERE condition over the local sandbox's record store.

The store has one table per object, one column per field, named by the field key
(`create_table` writes it; `encode` turns a record, as `evaluate` takes it, into its row):

- a blank is NULL, never '' or '[]', so `is_blank` is `IS NULL`;
- text, picklists, users (the username), references: TEXT; a stage or a lead status: its key;
- numbers: NUMERIC, a percent as the number people type (25 for 25 %);
- a checkbox: 0 or 1 (a blank one is 0: it reads as unchecked);
- a date: ISO text, 'YYYY-MM-DD';
- a date and time: ISO text in UTC, fixed width to the microsecond, 'YYYY-MM-DDTHH:MM:SS.ffffffZ',
  so text order is time order and no precision is lost;
- a multi-select picklist: a JSON array of its values. A ';'-joined text would read a value
  that holds ';' as two and needs LIKE patterns that also match '%' and '_'; JSON reads
  back exactly and `includes` is an exact json_each lookup;
- `days_in_stage` is not stored (it grows every day): the column `_stage_entered` holds the
  date the deal entered its stage, and days_in_stage is the whole days from it to today().

Every value is bound (`?1`, `?2` … and a list of parameters), never written into the SQL;
the placeholders are numbered so that a value the condition reads twice is bound once.

The condition means what sos.expr.dialects.evaluate means, on every record. SQL's
three-valued logic is not the language's: there a comparison with a blank is false, so
`not (amount > 5)` holds when amount is blank. Every condition this dialect writes is
therefore two-valued (0 or 1, never NULL): a comparison is `IFNULL(l op r, 0)`, `not in`
also requires the operand, and a checkbox reads `"x" IS 1`. Inside, values keep one form
per type: a date is its Julian day number (julianday(), whole days apart), a date and time
its microseconds since 0001-01-01 (integers), so date arithmetic is exact (to the
microsecond, as Python's timedelta) and a result outside years 1-9999 is blank, as in the
evaluator. `today()` (an ISO date) and `now()` (its microseconds) are
bound from the clock given to the generator, never the database's.

What it cannot say (a stage's order against anything but a stage written in the rule,
a list outside `in`, a condition nested deeper than SQLite's parser reads: each condition
is compiled against the table before it is returned) is reported at its span as `unsupported`.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Mapping
from typing import ClassVar

from sos.errors import Diagnostic, SosError, Span
from sos.expr.annotate import TypedExpr
from sos.expr.ast import (
    Arith,
    ArithOp,
    Attribute,
    BoolOp,
    Call,
    Compare,
    Expr,
    In,
    ListExpr,
    Literal,
    Logic,
    Name,
    Op,
    Unary,
    UnaryOp,
)
from sos.expr.dialects.base import Generator, Rewrite, expand_stage_order, plain
from sos.expr.dialects.evaluate import evaluate
from sos.expr.types import Kind, Scope

_OPS = {Op.EQ: "=", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
_OUTCOMES = {"is_open": ("open",), "is_won": ("won",), "is_lost": ("lost",), "is_closed": ("won", "lost")}
_COLUMN_TYPES = {Kind.NUMBER: "NUMERIC", Kind.BOOLEAN: "INTEGER"}  # every other kind is TEXT


def _micros_since_year_1(moment: datetime.datetime) -> int:
    return (moment - datetime.datetime.min) // datetime.timedelta(microseconds=1)


_DATES = (Kind.DATE, Kind.DATETIME)
_DAY = 86_400_000_000  # microseconds
_FIRST_DAY = 1_721_425.5  # julianday('0001-01-01')
_LAST_DAY = _FIRST_DAY + (datetime.date.max - datetime.date.min).days
_LAST_MOMENT = _micros_since_year_1(datetime.datetime.max)
_SECONDS_BEFORE_1970 = 62_135_596_800  # from 0001-01-01 to the Unix epoch


# A field the clock computes, and the column it is computed from (a field key never starts with '_').
STAGE_ENTERED = "_stage_entered"
_COMPUTED_COLUMNS = {"days_in_stage": STAGE_ENTERED}


def columns(scope: Scope) -> dict[str, str]:
    """Column name → SQL type of the records of `scope.object`: one column per field key (a computed field: the
    column it is computed from)."""
    return {_COMPUTED_COLUMNS.get(key, key): "TEXT" if key in _COMPUTED_COLUMNS else _COLUMN_TYPES.get(t.kind, "TEXT")
            for key, t in scope.fields.items()}


def create_table(scope: Scope, table: str | None = None) -> str:
    """`CREATE TABLE` for the records of `scope.object`: one column per field key."""
    defined = ", ".join(f"{quote_name(name)} {sql_type}" for name, sql_type in columns(scope).items())
    return f"CREATE TABLE {quote_name(table or scope.object)} ({defined})"


def encode(record: Mapping[str, object], scope: Scope, *, today: datetime.date | None = None) -> dict[str, object]:
    """The row that holds `record` (field key → value as `evaluate` takes it), by the encoding above; a record's
    `days_in_stage` is held as the day it entered its stage, counted back from `today`.

    Raises SosError (bad-record) for a value that does not fit its field, as `evaluate` does."""
    fields = ListExpr(_NOWHERE, tuple(Name(_NOWHERE, key) for key in scope.fields))
    values = evaluate(fields, record, scope, today=datetime.date.min)  # every field as rules read it, in one pass
    assert isinstance(values, list)
    row: dict[str, object] = {}
    for (key, field_type), value in zip(scope.fields.items(), values, strict=True):
        if key in _COMPUTED_COLUMNS:
            row[_COMPUTED_COLUMNS[key]] = _entered(value, today)
        elif field_type.kind is Kind.BOOLEAN:
            row[key] = int(bool(value))
        elif value is None:
            row[key] = None
        elif field_type.kind is Kind.DATETIME:
            assert isinstance(value, datetime.datetime)
            row[key] = _iso_moment(value)
        elif field_type.kind is Kind.DATE:
            assert isinstance(value, datetime.date)
            row[key] = value.isoformat()
        elif field_type.kind is Kind.MULTI_PICKLIST:
            row[key] = json.dumps(value)
        else:
            row[key] = value
    return row


_NOWHERE = Span("<record>", 1, 1)


def _entered(days_in_stage: object, today: datetime.date | None) -> str | None:
    """The day a deal `days_in_stage` whole days in its stage on `today` entered it."""
    if days_in_stage is None:
        return None
    if today is None:
        raise SosError(Diagnostic(None, "days_in_stage counts days to today, and no date was given to count from",
                                  "bad-record"))
    try:
        return (today - datetime.timedelta(days=int(days_in_stage))).isoformat()  # type: ignore[call-overload]
    except OverflowError:
        raise SosError(Diagnostic(None, f"field 'days_in_stage' holds {days_in_stage!r}, more days than a calendar "
                                        "holds", "bad-record")) from None


def quote_name(name: str) -> str:
    """A table or column name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Sql(Generator):
    """AST → a SQLite condition over the record store, with its parameters."""

    DIALECT = "SQL"
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = (expand_stage_order,)

    def __init__(self, scope: Scope, *, today: datetime.date, now: datetime.datetime | None = None) -> None:
        super().__init__(scope)
        self.scope: Scope = scope
        self.today = today
        moment = now if now is not None else datetime.datetime.combine(today, datetime.time())
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        self.now = moment
        self.params: list[object] = []

    def where(self, expr: Expr | TypedExpr) -> tuple[str, list[object]]:
        """A condition matching the records for which `expr` holds, and its parameters."""
        self.params = []
        condition = self.generate(expr)
        probe = sqlite3.connect(":memory:")  # the condition must compile where the records are
        try:
            probe.execute(create_table(self.scope, "records"))
            probe.execute(f"EXPLAIN SELECT 1 FROM records WHERE {condition}", self.params)
        except sqlite3.OperationalError as error:
            if "parser stack overflow" not in str(error):
                raise
            message = "SQLite cannot read a condition nested this deeply; split it into simpler conditions"
            raise SosError(Diagnostic(plain(expr).span, message, "unsupported")) from None
        finally:
            probe.close()
        return condition, self.params

    def violators(self, when: Expr | TypedExpr | None, require: Expr | TypedExpr) -> tuple[str, list[object]]:
        """A condition matching the records where `when` holds and `require` does not, and its parameters.

        Raises SosError listing everything either expression cannot say in SQL."""
        required = plain(require)
        broken = Unary(required.span, UnaryOp.NOT, required)
        if when is None:
            return self.where(broken)
        return self.where(BoolOp(required.span, Logic.AND, (plain(when), broken)))

    # -- helpers ----------------------------------------------------------------------

    def bind(self, value: object) -> str:
        self.params.append(value)
        return f"?{len(self.params)}"

    def today_value(self) -> str:
        return f"julianday({self.bind(self.today.isoformat())})"

    def now_value(self) -> str:
        return self.bind(_micros_since_year_1(self.now))

    def kind(self, node: Expr) -> Kind | None:
        found = self.type_of(node)
        return found.kind if found is not None else None

    def on_footing(self, node: Expr, other: Expr) -> str:
        """`node`'s value, as a date when `other` is a date and `node` a date and time (they compare by date)."""
        text = self.gen(node)
        if self.kind(node) is Kind.DATETIME and self.kind(other) is Kind.DATE:
            return _day_of(text)
        return text

    def is_blank(self, node: Expr) -> str:
        if self.kind(node) is Kind.BOOLEAN:  # an unchecked checkbox, or a false condition, counts as blank
            return f"(NOT {self.gen(node)})"
        if isinstance(node, Literal):
            return "1" if node.value in (None, "") else "0"
        return f"({self.gen(node)} IS NULL)"

    def stage_or_status_in(self, node: Expr, keys: list[str]) -> str:
        if not keys:
            return "0"
        return f"IFNULL({self.gen(node)} IN ({', '.join(self.bind(key) for key in keys)}), 0)"

    # -- nodes: each is its value; a condition's is 0 or 1, never NULL -----------------------

    def gen_literal(self, node: Literal) -> str:
        value = node.value
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, datetime.datetime):  # made by rewrites, never parsed
            return self.bind(_micros_since_year_1(value))
        if isinstance(value, datetime.date):
            return f"julianday({self.bind(value.isoformat())})"
        return self.bind(value)

    def gen_name(self, node: Name) -> str:
        column = quote_name(node.name)
        match self.kind(node):
            case None:
                return self.unsupported(node, f"SQL knows no field '{node.name}'")
            case _ if node.name in _COMPUTED_COLUMNS:   # days_in_stage: whole days from the day entered to today
                return f"({self.today_value()} - julianday({quote_name(_COMPUTED_COLUMNS[node.name])}))"
            case Kind.BOOLEAN:
                return f"({column} IS 1)"
            case Kind.DATE:
                return f"julianday({column})"
            case Kind.DATETIME:
                return _moment(column)
        return column

    def gen_attribute(self, node: Attribute) -> str:
        if node.attr == "is_converted":
            return self.stage_or_status_in(node.value, [s.key for s in self.scope.statuses if s.converted])
        outcomes = _OUTCOMES.get(node.attr)
        if outcomes is None:
            return self.unsupported(node, f"SQL has no {node.attr}")
        return self.stage_or_status_in(node.value, [s.key for s in self.scope.stages if s.outcome in outcomes])

    def gen_list_expr(self, node: ListExpr) -> str:
        return self.unsupported(node, "SQL has no lists outside 'in'")

    def gen_unary(self, node: Unary) -> str:
        if node.op is UnaryOp.NOT:
            return f"(NOT {self.gen(node.operand)})"
        return f"(- {self.gen(node.operand)})"

    def gen_bool_op(self, node: BoolOp) -> str:
        return "(" + f" {node.op.value.upper()} ".join(self.gen(o) for o in node.operands) + ")"

    def gen_compare(self, node: Compare) -> str:
        left, right = node.left, node.right
        if _is_null(left) or _is_null(right):  # `x == null` is is_blank(x)
            blank = self.is_blank(right if _is_null(left) else left)
            return {Op.EQ: blank, Op.NE: f"(NOT {blank})"}.get(node.op, "0")
        if node.op not in (Op.EQ, Op.NE) and Kind.STAGE in (self.kind(left), self.kind(right)):
            return self.unsupported(node, "SQL compares a stage's order only with a stage written in the rule")
        return f"IFNULL({self.on_footing(left, right)} {_OPS[node.op]} {self.on_footing(right, left)}, 0)"

    def gen_in(self, node: In) -> str:
        operand = node.operand
        if not node.options.items:  # SQLite's `NULL NOT IN ()` is true; a blank is in no list and out of none
            return f"(NOT {self.is_blank(operand)})" if node.negated else "0"
        if self.kind(operand) is Kind.DATETIME and any(self.kind(item) is Kind.DATE for item in node.options.items):
            value = _day_of(self.gen(operand))  # a date and time compares with a date by its date
        else:
            value = self.gen(operand)
        options = ", ".join(self.on_footing(item, operand) for item in node.options.items)
        found = f"IFNULL({value} IN ({options}), 0)"
        return f"({value} IS NOT NULL AND NOT {found})" if node.negated else found

    def gen_arith(self, node: Arith) -> str:
        left, right, op = node.left, node.right, node.op
        if op is ArithOp.ADD and self.kind(right) in _DATES:
            left, right = right, left
        match self.kind(left), self.kind(right):
            case (Kind.DATETIME, Kind.DATETIME):
                return f"(({self.gen(left)} - {self.gen(right)}) / 1000000.0 / 86400)"
            case (Kind.DATE | Kind.DATETIME, Kind.DATE | Kind.DATETIME):
                return f"({self.on_footing(left, right)} - {self.on_footing(right, left)})"
            case (Kind.DATE | Kind.DATETIME, _):
                return self.moved(node)
        if op is ArithOp.DIV:  # SQLite divides integers as integers; x / 0 is NULL, blank as in the evaluator
            return f"(CAST({self.gen(left)} AS REAL) / {self.gen(right)})"
        return f"({self.gen(left)} {op.value} {self.gen(right)})"

    def moved(self, node: Arith) -> str:
        """A date or a date and time plus or minus numbers of days, in one flat sum: blank when any
        step leaves years 1-9999, as in the evaluator. (Nested, each step's check would nest
        deeper than SQLite's parser allows.)"""
        steps: list[tuple[str, Expr]] = []
        start: Expr = node
        while isinstance(start, Arith) and start.op in (ArithOp.ADD, ArithOp.SUB):
            moving, days = start.left, start.right
            if start.op is ArithOp.ADD and self.kind(days) in _DATES:
                moving, days = days, moving
            if self.kind(moving) not in _DATES or self.kind(days) in _DATES:
                break
            steps.append(("+" if start.op is ArithOp.ADD else "-", days))
            start = moving
        is_date = self.kind(start) is Kind.DATE
        low, high = (_FIRST_DAY, _LAST_DAY) if is_date else (0, _LAST_MOMENT)
        total, checks = self.gen(start), []
        for sign, days in reversed(steps):
            # a date drops the fraction of a number of days, as the evaluator does; a date and time keeps it
            amount = f"CAST({self.gen(days)} AS INTEGER)" if is_date else _micros(self.gen(days))
            total = f"{total} {sign} {amount}"
            checks.append(f"{total} BETWEEN {low} AND {high}")
        return f"(CASE WHEN {' AND '.join(checks)} THEN {total} END)"

    def gen_call(self, node: Call) -> str:
        args = node.args
        match node.func:
            case "today":
                return self.today_value()
            case "now":
                return self.now_value()
            case "is_blank":
                return self.is_blank(args[0])
            case "days_since" if self.kind(args[0]) is Kind.DATETIME:  # whole 24 hours elapsed
                return _floor_days(f"{self.now_value()} - {self.gen(args[0])}")
            case "days_since":
                return f"({self.today_value()} - {self.gen(args[0])})"
            case "len":
                return f"IFNULL(length({self.gen(args[0])}), 0)"
            case "includes":
                values, value = (self.gen(arg) for arg in args)
                return f"EXISTS (SELECT 1 FROM json_each({values}) AS picked WHERE picked.value = {value})"
        return self.unsupported(node, f"SQL has no {node.func}()")


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.value is None


def _iso_moment(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _moment(column: str) -> str:
    """Microseconds since 0001-01-01 of a date and time held as the store's ISO text."""
    seconds = f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
    return f"(({seconds} + {_SECONDS_BEFORE_1970}) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"


def _day_of(moment: str) -> str:
    """The Julian day number of the date of a moment (microseconds since 0001-01-01, never negative)."""
    return f"({moment} / {_DAY} + {_FIRST_DAY})"


def _micros(days: str) -> str:
    """A number of days in whole microseconds, as Python's timedelta counts them: the whole days
    exactly, then the fraction's microseconds rounded (`days * 86400000000.0` would be off by one
    for 47741.66 days)."""
    whole = f"CAST({days} AS INTEGER)"
    return f"({whole} * {_DAY} + CAST(ROUND(({days} - {whole}) * {_DAY}.0) AS INTEGER))"


def _floor_days(micros: str) -> str:
    """Whole days in a number of microseconds, rounded down: shifted past zero first, as SQLite's `/`
    rounds toward zero. (Every expression is written once, never repeated: nested ones stay small.)"""
    return f"(({micros} + {_DAYS_SHIFT * _DAY}) / {_DAY} - {_DAYS_SHIFT})"


_DAYS_SHIFT = 2 * ((datetime.date.max - datetime.date.min).days + 1)  # more days than lie between any two moments
