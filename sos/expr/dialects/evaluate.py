"""The Python dialect: an interpreter over the AST (never eval), for the local sandbox and audits.

Semantics the other dialects must match:
- blank is None, "" or an empty list; `is_blank` also counts an unchecked checkbox (False).
- a checkbox is never blank: a blank one reads as unchecked (false), as CRMs read it;
  `x == null` is `is_blank(x)` and `x != null` is `not is_blank(x)`, for a checkbox too.
- a comparison, `in` or `not in` with a blank operand is false (like SQL NULL), so
  `not (amount > 5)` is true when amount is blank.
- a percent is the number people type (25 for 25 %).
- arithmetic on a blank is blank, and so are division by zero and a date out of range.
- a date plus or minus a number of days drops the number's fraction (`d - 1.5` and
  `d + -1.5` are both `d - 1`), as CRM formulas do; a date and time keeps it.
- a date compared with a date and time compares their dates; `days_since` of a date counts
  the days from it to today(), of a date and time the whole days (24 hours) elapsed until now().
- stage order is the order a deal progresses in: the open stages in the scope's order,
  then the won stages. A lost stage is never before or after another stage, only equal
  to itself (`stage >= 'lost'` holds in 'lost' alone; `stage >= 'proposal'` never holds
  in a lost stage). A stage key the scope lacks has no outcome and no place in that
  order, so every test on it is false.
- `prior` holds the record's values before the save being checked (None: the save creates it).
  `is_new()` is true on create; `is_changed(f)` is false on create, and on update true when f's
  value differs from its prior one (a blank and a value differ); `prior(f)` on create is f's value,
  as CRM formulas read it.
"""

from __future__ import annotations

import datetime
import operator
from typing import Any
from collections.abc import Callable, Mapping

from sos.errors import Diagnostic, SosError
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
from sos.expr.typecheck import infer_type
from sos.expr.types import BOOLEAN, STAGE_OUTCOMES, ExprType, Kind, Scope

_COMPARE: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def evaluate(
    expr: Expr,
    record: Mapping[str, object],
    scope: Scope,
    *,
    today: datetime.date,
    now: datetime.datetime | None = None,
    prior: Mapping[str, object] | None = None,
) -> object:
    """The value of `expr` (which passed check_expression) for `record`, a mapping of field key → value.

    Dates may be datetime.date or ISO strings; `stage` holds a stage key, `status` a
    lead status key. `today` (and `now`, default midnight of `today`, naive UTC) stand in
    for the clock; `prior` is the record before the save (None for a new record). Raises SosError (code
    bad-record) for a value that does not fit its field.
    """
    clock = now if now is not None else datetime.datetime.combine(today, datetime.time())
    return _Evaluator(record, scope, today, _naive_utc(clock), prior).value(expr)


class _Evaluator:
    def __init__(
        self, record: Mapping[str, object], scope: Scope, today: datetime.date, now: datetime.datetime,
        prior: Mapping[str, object] | None = None,
    ) -> None:
        self.record = record
        self.prior = prior
        self.scope = scope
        self.today = today
        self.now = now
        progress = [s for s in scope.stages if s.outcome == "open"] + [s for s in scope.stages if s.outcome == "won"]
        self.stage_rank = {stage.key: i for i, stage in enumerate(progress)}  # lost stages have none
        self.stage_keys = {stage.key for stage in scope.stages}

    def value(self, node: Expr) -> Any:  # noqa: C901 - one arm per expression node type
        match node:
            case Literal(value=value):
                return value
            case Name(name=name):
                return self._field(name, self.record)
            case ListExpr(items=items):
                return [self.value(item) for item in items]
            case Attribute():
                return self._attribute(node)
            case Unary(op=UnaryOp.NOT, operand=operand):
                return not _is_true(self.value(operand))
            case Unary(operand=operand):
                number = self.value(operand)
                return None if number is None else -number
            case BoolOp(op=Logic.AND, operands=operands):
                return all(_is_true(self.value(operand)) for operand in operands)
            case BoolOp(operands=operands):
                return any(_is_true(self.value(operand)) for operand in operands)
            case Compare():
                return self._compare(node)
            case In():
                return self._in(node)
            case Arith():
                return _arith(node.op, self.value(node.left), self.value(node.right))
            case Call():
                return self._call(node)
        raise TypeError(f"not an expression node: {node!r}")

    def _field(self, name: str, record: Mapping[str, object]) -> object:
        return _field_value(name, record.get(name), self.scope.fields.get(name))

    def _attribute(self, node: Attribute) -> bool:
        key = self.value(node.value)
        if node.attr == "is_converted":
            return any(status.key == key and status.converted for status in self.scope.statuses)
        return any(stage.key == key and stage.outcome in STAGE_OUTCOMES[node.attr] for stage in self.scope.stages)

    def _compare(self, node: Compare) -> bool:
        left, right = self.value(node.left), self.value(node.right)
        if _is_null(node.left) or _is_null(node.right):
            blank = _is_blank(right if _is_null(node.left) else left)
            return blank if node.op is Op.EQ else node.op is Op.NE and not blank
        if left is None or right is None:
            return False
        if node.op not in (Op.EQ, Op.NE) and (self._is_stage(node.left) or self._is_stage(node.right)):
            return self._stage_order(node.op, left, right)
        left, right = _same_footing(left, right)
        return _COMPARE[node.op](left, right)

    def _stage_order(self, op: Op, left: object, right: object) -> bool:
        if left in self.stage_rank and right in self.stage_rank:
            return _COMPARE[op](self.stage_rank[left], self.stage_rank[right])
        # a lost stage (no rank) is only <= and >= itself
        return op in (Op.LE, Op.GE) and left == right and left in self.stage_keys

    def _is_stage(self, node: Expr) -> bool:
        found = infer_type(node, self.scope)
        return found is not None and found.kind is Kind.STAGE

    def _in(self, node: In) -> bool:
        operand = self.value(node.operand)
        if operand is None:
            return False
        found = any(operator.eq(*_same_footing(operand, self.value(item))) for item in node.options.items)
        return found != node.negated

    def _history(self, node: Call) -> object:
        """is_new(), is_changed(f), prior(f): the save in progress."""
        match node.func, node.args:
            case "is_changed", [Name(name=name)]:
                return self.prior is not None and self._field(name, self.prior) != self._field(name, self.record)
            case "prior", [Name(name=name)]:
                return self._field(name, self.record if self.prior is None else self.prior)
            case "is_new", []:
                return self.prior is None
        raise TypeError(f"cannot evaluate {node.func}() of {node.args!r}")

    def _call(self, node: Call) -> object:
        if node.func in ("is_new", "is_changed", "prior"):
            return self._history(node)
        args = [self.value(arg) for arg in node.args]
        match node.func, args:
            case "today", []:
                return self.today
            case "now", []:
                return self.now
            case "is_blank", [value]:
                return _is_blank(value)
            case "days_since", [None]:
                return None
            case "days_since", [datetime.datetime() as moment]:
                return (self.now - moment) // datetime.timedelta(days=1)
            case "days_since", [datetime.date() as day]:
                return (self.today - day).days
            case "len", [text]:
                return 0 if text is None else len(str(text))
            case "includes", [values, value]:
                return values is not None and value in values
        raise TypeError(f"cannot evaluate {node.func}() with {args!r}")


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.value is None


def _is_true(value: object) -> bool:
    return value is True


def _is_blank(value: object) -> bool:
    """None, "", an empty list, or false (an unchecked checkbox counts as blank)."""
    return value is None or value == "" or value is False or (isinstance(value, (list, tuple)) and not value)


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def _same_footing(left: object, right: object) -> tuple[object, object]:
    """A date and a date and time compare by date (a datetime is also a date in Python)."""
    if not (isinstance(left, datetime.date) and isinstance(right, datetime.date)):
        return left, right
    if isinstance(left, datetime.datetime) != isinstance(right, datetime.datetime):
        return _day(left), _day(right)
    return left, right


def _day(value: datetime.date) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _arith(op: ArithOp, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(right, datetime.date) and op is ArithOp.ADD:
        left, right = right, left
    try:
        if isinstance(left, datetime.date) and isinstance(right, datetime.date):
            if isinstance(left, datetime.datetime) and isinstance(right, datetime.datetime):
                return (left - right).total_seconds() / 86400
            return (_day(left) - _day(right)).days
        if isinstance(left, datetime.date):
            # A date drops the fraction of a number of days (Salesforce Help, "Tips for Working with
            # Date and Date/Time Formulas": TODAY() + (-1.8) is TODAY() + (-1)); a date and time keeps it.
            days = datetime.timedelta(days=right if isinstance(left, datetime.datetime) else int(right))
            return left + days if op is ArithOp.ADD else left - days
        if op is ArithOp.DIV:
            return None if right == 0 else left / right
        return {ArithOp.ADD: operator.add, ArithOp.SUB: operator.sub, ArithOp.MUL: operator.mul}[op](left, right)
    except (OverflowError, ValueError):  # past year 9999, a float out of range, NaN days: unknowable, as blank
        return None


def _field_value(name: str, raw: object, field_type: ExprType | None) -> object:
    """A record's value as the expression sees it: blank → None, ISO strings → dates, etc."""
    if raw is not False and _is_blank(raw):  # false is an unchecked checkbox's value, not a missing one
        return False if field_type == BOOLEAN else None
    convert = _CONVERTERS.get(field_type.kind) if field_type else None
    if field_type is None or convert is None:
        return raw
    try:
        return convert(raw)
    except (TypeError, ValueError):
        message = f"field '{name}' holds {raw!r}, which is not {field_type.describe()}"
        raise SosError(Diagnostic(None, message, "bad-record")) from None


def _moment(raw: object) -> datetime.datetime:
    if isinstance(raw, datetime.datetime):
        return raw
    if isinstance(raw, datetime.date):
        return datetime.datetime.combine(raw, datetime.time())
    if isinstance(raw, str):
        return datetime.datetime.fromisoformat(raw)
    raise TypeError(raw)


def _number(raw: object) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise TypeError(raw)
    if isinstance(raw, str):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    return raw


def _checkbox(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise TypeError(raw)


def _values(raw: object) -> list[Any]:
    if isinstance(raw, str):
        return raw.split(";")  # a multi-select picklist held as one text: its values joined by ';'
    if isinstance(raw, (list, tuple)):
        return list(raw)
    raise TypeError(raw)


_CONVERTERS: dict[Kind, Callable[[object], object]] = {
    Kind.DATE: lambda raw: _day(_moment(raw)),
    Kind.DATETIME: lambda raw: _naive_utc(_moment(raw)),
    Kind.NUMBER: _number,
    Kind.BOOLEAN: _checkbox,
    Kind.MULTI_PICKLIST: _values,
}
