"""The SOQL dialect: a WHERE clause that finds the records breaking a rule.

`violators(when, require)` is `(<when>) AND NOT (<require>)`. SOQL compares a field with
a value, so what it cannot say is reported, not approximated: two fields compared,
arithmetic, days_since(), len(), now(). The clause means what sos.expr.dialects.evaluate
means, on SOQL's own reading of nulls (blank fields are null in SOQL):

- `X != 'a'` and `X NOT IN (...)` also match records where X is null, so the clause rules
  null out (`(X != 'a' AND X != null)`); the evaluator's `x != 'a'` is false when x is blank;
- `=`, `IN`, `<`, `>`, INCLUDES never match null, as in the evaluator;
- a checkbox is never null: `is_blank(checkbox)` and `checkbox == null` are `X = false`;
- a percent is the number people type, as SOQL reads it (25 for 25 %);
- `status.is_converted` is `Status IN (<the converted statuses>)`;
- stage order (`stage >= 'proposal'`) is expanded first (expand_stage_order);
- `days_in_stage` (the GMT calendar days from the day the deal entered its stage, sf_formula.STAGE_ENTERED, to
  `today`) compared with a number N becomes a comparison of the moment it entered with midnight GMT of a day.
  Days are whole, so with D = days_in_stage and k a whole number, `D >= k` holds exactly when the deal entered
  its stage on day today - k or earlier, that is before midnight GMT that starts day today - k + 1; then
  `D > N` is `D >= floor(N) + 1`, `D >= N` is `D >= ceil(N)`, `D < N` is `not D >= ceil(N)`, `D <= N` is
  `not D >= floor(N) + 1`, and `D == N` for a whole N is `D >= N and not D >= N + 1` (never, for a fraction).
  It needs the clock: `Soql(..., today=...)`; given it, today() is that date too, not SOQL's TODAY (the running
  user's day), so that the clause means what the evaluator means with the same `today`.

Two differences remain, documented rather than refused: SOQL compares text without regard
to case (`Name = 'acme'` matches 'ACME'), so a caller that must be exact re-checks the
records it fetched with `evaluate`; and SOQL's `true`/`false` conditions are written
`Id != null` / `Id = null`. A date and time compared with today() is refused: SOQL reads
TODAY in the running user's time zone, where sos compares dates in UTC.
"""

from __future__ import annotations

import datetime
import math
from typing import ClassVar, TypeGuard

from sos.errors import Diagnostic, SosError
from sos.expr.ast import (
    Arith,
    Attribute,
    BoolOp,
    Call,
    Compare,
    Expr,
    In,
    ListExpr,
    Literal,
    Name,
    Op,
    Unary,
    UnaryOp,
)
from sos.expr.dialects.base import MIRRORED, Naming, Rewrite, expand_stage_order
from sos.expr.annotate import TypedExpr
from sos.expr.dialects.sf_formula import STAGE_ENTERED, SalesforceGenerator, number, quote, username_reference
from sos.expr.types import Kind, Scope

ALWAYS = "Id != null"  # SOQL has no TRUE or FALSE condition; every record has an Id
NEVER = "Id = null"

_OPS = {Op.EQ: "=", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
_REQUIRED = frozenset({Kind.STAGE, Kind.LEAD_STATUS})  # StageName and Status are never null
_ATTRIBUTES = {
    "is_open": "IsClosed = false",
    "is_won": "IsWon = true",
    "is_lost": "(IsClosed = true AND IsWon = false)",
    "is_closed": "IsClosed = true",
}
_NO_VALUE = {
    "days_since": "SOQL cannot compute days_since(); it compares a field with a value",
    "len": "SOQL cannot measure the length of text",
    "now": "SOQL has no value for the current date and time",
    **{func: f"SOQL has no {func}(): a query reads records as they are, not a save in progress"
       for func in ("is_new", "is_changed", "prior")},
}


class Soql(SalesforceGenerator):
    """AST → a SOQL condition, with the API names and stored picklist values of the backend's Naming."""

    DIALECT = "SOQL"
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = (expand_stage_order,)

    def __init__(self, scope: Scope, naming: Naming, *, today: datetime.date | None = None) -> None:
        super().__init__(scope, naming)
        self.today = today   # the day today() and days_in_stage read; None: SOQL's TODAY, and no days_in_stage

    def violators(self, when: Expr | TypedExpr | None, require: Expr | TypedExpr) -> str:
        """A WHERE clause matching the records where `when` holds and `require` does not.

        Raises SosError listing everything either expression cannot say in SOQL.
        """
        texts: list[str] = []
        problems: list[Diagnostic] = []
        for part in (when, require):
            if part is None:
                continue
            try:
                texts.append(self.generate(part))
            except SosError as error:
                problems.extend(error.diagnostics)
        if problems:
            raise SosError(sorted(problems, key=Diagnostic.sort_key))
        if when is None:
            return f"NOT ({texts[0]})"
        return f"({texts[0]}) AND NOT ({texts[1]})"

    # -- helpers ----------------------------------------------------------------------

    def field(self, node: Name) -> str:
        if self.is_days_in_stage(node):
            return self.unsupported(node, "SOQL compares days_in_stage only with a number")
        api_name = self.api_names.get(node.name)
        if api_name is None:
            return self.unsupported(node, f"no Salesforce API name is known for field '{node.name}'")
        return api_name

    def compared_field(self, node: Name, other: Expr) -> str:
        """The field side of a comparison: a user compared with text is compared by username."""
        if self.kind(node) is Kind.USER and self.kind(other) is Kind.TEXT and node.name in self.api_names:
            assert self.scope is not None
            return username_reference(self.scope.object, self.api_names[node.name], formula=False)
        return self.field(node)

    def value(self, node: Expr, field: Expr) -> str:
        """A value compared with `field`: a literal or today()."""
        match node:
            case Literal(value=""):
                return self.unsupported(node, "SOQL cannot tell empty text from a blank field; use is_blank(...)")
            case Literal(value=str() as text):
                return quote(self.stored_value(field, node, text))
            case Literal():
                return self.literal(node)
            case Unary(op=UnaryOp.NEG, operand=Literal(value=int() | float() as magnitude)) if not isinstance(
                magnitude, bool
            ):
                return f"-{number(magnitude)}"
            case Call(func="today"):
                if self.kind(field) is Kind.DATETIME:
                    return self.unsupported(
                        node, "SOQL compares a date and time with TODAY in the user's time zone, not in UTC"
                    )
                return "TODAY" if self.today is None else self.literal(Literal(node.span, self.today))
            case Call(func=func) if func in _NO_VALUE:
                return self.unsupported(node, _NO_VALUE[func])
            case Arith() | Unary(op=UnaryOp.NEG):
                return self.unsupported(node, "SOQL cannot do arithmetic")
            case Name():
                return self.unsupported(node, "SOQL cannot compare two fields")
        return self.unsupported(node, "SOQL compares a field with a value")

    def literal(self, node: Literal) -> str:
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return quote(value)
        if isinstance(value, datetime.datetime):  # made by rewrites, never parsed
            return f"{value:%Y-%m-%dT%H:%M:%SZ}"
        if isinstance(value, datetime.date):
            return f"{value:%Y-%m-%d}"
        return number(value)

    def grouped(self, node: Expr) -> str:
        """A condition that may stand beside AND or OR: SOQL needs parentheses to mix them."""
        return f"({self.gen(node)})" if isinstance(node, BoolOp) else self.gen(node)

    def nullable(self, node: Expr) -> bool:
        return self.kind(node) not in {Kind.BOOLEAN, *_REQUIRED}

    # -- nodes (each is a condition) ------------------------------------------------------

    def gen_literal(self, node: Literal) -> str:
        if isinstance(node.value, bool):
            return ALWAYS if node.value else NEVER
        return self.unsupported(node, "SOQL needs a condition here")

    def gen_name(self, node: Name) -> str:
        if self.kind(node) is Kind.BOOLEAN:
            return f"{self.field(node)} = true"
        return self.unsupported(node, "SOQL needs a condition here")

    def gen_attribute(self, node: Attribute) -> str:
        if isinstance(node.value, Call):    # prior(stage).is_open: SOQL says why it cannot
            return self.gen_call(node.value)
        if node.attr == "is_converted":
            assert self.scope is not None
            converted = [Literal(node.span, status.key) for status in self.scope.statuses if status.converted]
            return self.gen(In(node.span, node.value, ListExpr(node.span, tuple(converted))))
        text = _ATTRIBUTES.get(node.attr)
        if text is None:
            return self.unsupported(node, f"SOQL has no {node.attr}")
        return text

    def gen_list_expr(self, node: ListExpr) -> str:
        return self.unsupported(node, "SOQL has no lists outside 'in'")

    def gen_arith(self, node: Arith) -> str:
        return self.unsupported(node, "SOQL cannot do arithmetic")

    def gen_unary(self, node: Unary) -> str:
        if node.op is UnaryOp.NOT:
            return f"NOT ({self.gen(node.operand)})"
        return self.unsupported(node, "SOQL cannot do arithmetic")

    def gen_bool_op(self, node: BoolOp) -> str:
        parts = [self.grouped(o) for o in node.operands]
        return f" {node.op.value.upper()} ".join(parts)

    def gen_compare(self, node: Compare) -> str:
        left, right, op = node.left, node.right, node.op
        if not isinstance(left, Name) and isinstance(right, Name):
            left, right, op = right, left, MIRRORED[op]  # SOQL writes the field first
        if _is_null(left) or _is_null(right):
            return self.compare_with_null(node, right if _is_null(left) else left)
        if Kind.BOOLEAN in (self.kind(left), self.kind(right)):
            return self.compare_conditions(node)
        if not isinstance(left, Name):
            return self.no_field(node)
        if isinstance(right, Name):
            return self.unsupported(node, "SOQL cannot compare two fields")
        if self.is_days_in_stage(left):
            return self.days_in_stage(node, op, right)
        field = self.compared_field(left, right)
        comparison = f"{field} {_OPS[op]} {self.value(right, left)}"
        if op is Op.NE and self.nullable(left):
            return f"({comparison} AND {field} != null)"
        return comparison

    def days_in_stage(self, node: Compare, op: Op, value: Expr) -> str:
        """`days_in_stage <op> N` as the moment the deal entered its stage against a midnight (module docstring)."""
        match value:
            case Literal(value=int() | float() as n) if not isinstance(n, bool):
                pass
            case Unary(op=UnaryOp.NEG, operand=Literal(value=int() | float() as n)) if not isinstance(n, bool):
                n = -n
            case _:
                return self.unsupported(node, "SOQL compares days_in_stage only with a number")
        if self.today is None:
            return self.unsupported(node, "SOQL needs today's date to count days in stage")
        if op is Op.EQ or op is Op.NE:
            if n != int(n):
                return NEVER if op is Op.EQ else ALWAYS
            on_day = f"{self.entered_before(int(n), node)} AND NOT ({self.entered_before(int(n) + 1, node)})"
            return f"({on_day})" if op is Op.EQ else f"NOT ({on_day})"
        at_least = math.floor(n) + 1 if op in (Op.GT, Op.LE) else math.ceil(n)
        found = self.entered_before(at_least, node)
        return found if op in (Op.GT, Op.GE) else f"NOT ({found})"

    def entered_before(self, days: int, node: Expr) -> str:
        """`days_in_stage >= days`: the deal entered its stage before midnight GMT starting day today - days + 1."""
        assert self.today is not None
        try:
            midnight = datetime.datetime.combine(self.today - datetime.timedelta(days=days - 1), datetime.time())
        except OverflowError:
            return self.unsupported(node, "this many days in stage is past the calendar SOQL reads")
        moment = self.literal(Literal(node.span, midnight))
        changed, created = STAGE_ENTERED
        return f"({changed} < {moment} OR ({changed} = null AND {created} < {moment}))"

    def compare_with_null(self, node: Compare, other: Expr) -> str:
        holds = node.op is Op.EQ
        if self.kind(other) is Kind.BOOLEAN:  # `x == null` is is_blank(x): unchecked, or false
            return self.is_blank(other) if holds else self.grouped(other)
        if isinstance(other, Name):
            return f"{self.field(other)} {'=' if holds else '!='} null"
        if _is_null(other):
            return ALWAYS if holds else NEVER
        return self.no_field(node)

    def compare_conditions(self, node: Compare) -> str:
        """Checkboxes and conditions compared with true or false: `x == true` is `x = true`."""
        left, right = node.left, node.right
        if _is_bool(left) and _is_bool(right):
            return ALWAYS if (left.value == right.value) == (node.op is Op.EQ) else NEVER
        for literal, other in ((left, right), (right, left)):
            if _is_bool(literal):
                holds = (node.op is Op.EQ) == literal.value
                if isinstance(other, Name):
                    return f"{self.field(other)} = {'true' if holds else 'false'}"
                return self.grouped(other) if holds else f"NOT ({self.gen(other)})"
        if isinstance(left, Name) and isinstance(right, Name):
            return self.unsupported(node, "SOQL cannot compare two fields")
        return self.unsupported(node, "SOQL cannot compare two conditions")

    def no_field(self, node: Compare) -> str:
        """Neither side of `node` is a field: say why each side cannot be a value, or that a field is needed."""
        before = len(self.problems)
        for side in (node.left, node.right):
            if not isinstance(side, Literal) and not (isinstance(side, Call) and side.func == "today"):
                self.value(side, side)
        if len(self.problems) == before:
            self.unsupported(node, "SOQL compares a field with a value")
        return "?"

    def gen_in(self, node: In) -> str:
        operand = node.operand
        if not isinstance(operand, Name):
            before = len(self.problems)
            self.value(operand, operand)
            if len(self.problems) == before:
                self.unsupported(node, "SOQL's IN tests a field")
            return "?"
        if self.kind(operand) is Kind.BOOLEAN:
            tests = [self.gen(Compare(item.span, Op.EQ, operand, item)) for item in node.options.items]
            found = " OR ".join(tests) if tests else NEVER
            return f"NOT ({found})" if node.negated else f"({found})" if len(tests) > 1 else found
        field = self.compared_field(operand, node.options.items[0] if node.options.items else operand)
        values = [self.value(item, operand) for item in node.options.items]
        if not values:
            return f"{field} != null" if node.negated else NEVER
        listed = f"({', '.join(values)})"
        if not node.negated:
            return f"{field} IN {listed}"
        if self.nullable(operand):
            return f"({field} NOT IN {listed} AND {field} != null)"
        return f"{field} NOT IN {listed}"

    def gen_call(self, node: Call) -> str:
        if node.func == "is_blank":
            return self.is_blank(node.args[0])
        if node.func == "includes":
            field, value = node.args
            if not isinstance(field, Name):
                return self.unsupported(field, "INCLUDES needs a multi-select picklist field")
            if not (isinstance(value, Literal) and isinstance(value.value, str)):
                return self.unsupported(value, "INCLUDES needs the value written in the rule, in quotes")
            return f"{self.field(field)} INCLUDES ({quote(value.value)})"
        return self.unsupported(node, _NO_VALUE.get(node.func, "SOQL needs a condition here"))

    def is_blank(self, arg: Expr) -> str:
        if isinstance(arg, Name):
            if self.kind(arg) is Kind.BOOLEAN:  # a checkbox is never null; unchecked counts as blank
                return f"{self.field(arg)} = false"
            return f"{self.field(arg)} = null"
        if self.kind(arg) is Kind.BOOLEAN:
            return f"NOT ({self.gen(arg)})"
        return self.unsupported(arg, "SOQL can only test a field for a blank value")


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.value is None


def _is_bool(node: Expr) -> TypeGuard[Literal]:
    return isinstance(node, Literal) and isinstance(node.value, bool)
