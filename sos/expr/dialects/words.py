"""An expression as plain English for the people who sell: field labels, stage labels and values, no keys.

`amount > 0 and close_date >= today()` reads "Amount is more than 0 and Close date is today or later". The
playbook (`sos docs`) writes rules, stage conditions, cadence and route conditions this way. Every construct of the
language has words, so generating never fails; a construct nested inside another of a different kind keeps its
parentheses, so the sentence groups as the expression does.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

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
from sos.expr.dialects.base import MIRRORED, Generator
from sos.expr.types import Kind


@dataclass(frozen=True)
class Wording:
    """What the people who use the CRM call an object's fields and values (plain data, like a dialect's Naming)."""

    noun: str                                                       # "deal", "lead"
    fields: Mapping[str, str] = field(default_factory=dict)         # field key → label
    stages: Mapping[str, str] = field(default_factory=dict)         # stage key → label
    statuses: Mapping[str, str] = field(default_factory=dict)       # lead status key → label


_COMPARE = {Op.EQ: "is", Op.NE: "is not", Op.LT: "is less than", Op.LE: "is at most",
            Op.GT: "is more than", Op.GE: "is at least"}
_COMPARE_TIME = {Op.LT: "is before", Op.LE: "is on or before", Op.GT: "is after", Op.GE: "is on or after"}
_COMPARE_STAGE = {Op.LT: "{left} is before {stage}", Op.LE: "{left} is {stage} or before",
                  Op.GT: "{left} is past {stage}", Op.GE: "{left} is {stage} or later"}
_NEGATED = {Op.EQ: Op.NE, Op.NE: Op.EQ, Op.LT: Op.GE, Op.LE: Op.GT, Op.GT: Op.LE, Op.GE: Op.LT}
_OUTCOMES = {"is_open": "open", "is_won": "won", "is_lost": "lost", "is_closed": "closed", "is_converted": "converted"}
_ARITH = {ArithOp.ADD: "+", ArithOp.SUB: "−", ArithOp.MUL: "×", ArithOp.DIV: "÷"}


class Words(Generator):
    DIALECT = "plain English"

    def __init__(self, wording: Wording) -> None:
        super().__init__()
        self.wording = wording

    # --- values ---

    def gen_name(self, node: Name) -> str:
        return self.wording.fields.get(node.name) or node.name.replace("_", " ").capitalize()

    def gen_literal(self, node: Literal) -> str:
        value = node.value
        if value is None:
            return "blank"
        if isinstance(value, bool):
            return "ticked" if value else "not ticked"
        if isinstance(value, datetime.date):
            return f"{value.day} {value:%B %Y}"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return f"“{value}”" if isinstance(value, str) else str(value)

    def gen_list_expr(self, node: ListExpr) -> str:
        items = [self.gen(item) for item in node.items]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]

    def gen_attribute(self, node: Attribute) -> str:
        outcome = _OUTCOMES.get(node.attr, node.attr.removeprefix("is_").replace("_", " "))
        return f"the {self.wording.noun} is {outcome}"

    def gen_arith(self, node: Arith) -> str:
        days = self._days_from_today(node)
        if days is not None:
            return days
        return f"{self._group(node.left, Arith)} {_ARITH[node.op]} {self._group(node.right, Arith)}"

    def gen_call(self, node: Call) -> str:
        args = [self.gen(arg) for arg in node.args]
        match node.func:
            case "today":
                return "today"
            case "now":
                return "now"
            case "is_blank":
                return f"{args[0]} is blank"
            case "days_since":
                return f"the days since {args[0]}"
            case "len":
                return f"the length of {args[0]}"
            case "includes":
                return f"{args[0]} includes {' and '.join(args[1:])}"
            case "is_new":
                return f"the {self.wording.noun} is being created"
            case "is_changed":
                return f"{args[0]} is being changed"
            case "prior":
                return f"{args[0]} before this change"
        return f"{node.func}({', '.join(args)})"

    # --- conditions ---

    def gen_compare(self, node: Compare) -> str:
        left, right = node.left, node.right
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right = right, left
            node = Compare(node.span, MIRRORED[node.op], left, right)
        if isinstance(right, Literal) and isinstance(right.value, bool):
            ticked = right.value == (node.op is Op.EQ)
            return f"{self.gen(left)} is {'ticked' if ticked else 'not ticked'}"
        if isinstance(right, Literal) and right.value is None:
            return f"{self.gen(left)} is {'blank' if node.op is Op.EQ else 'filled in'}"
        if node.op in _COMPARE_STAGE and self._kind(left) is Kind.STAGE:
            return _COMPARE_STAGE[node.op].format(left=self.gen(left), stage=self._value(right, left))
        if node.op in _COMPARE_TIME and self._is_time(left):
            if isinstance(right, Call) and right.func == "today" and node.op in (Op.GE, Op.LE):
                return f"{self.gen(left)} is today or {'later' if node.op is Op.GE else 'earlier'}"
            return f"{self.gen(left)} {_COMPARE_TIME[node.op]} {self._value(right, left)}"
        return f"{self.gen(left)} {_COMPARE[node.op]} {self._value(right, left)}"

    def gen_in(self, node: In) -> str:
        options = ListExpr(node.options.span, node.options.items)
        values = [self._value(item, node.operand) for item in options.items]
        listed = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
        return f"{self.gen(node.operand)} is {'not ' if node.negated else ''}{listed}"

    def gen_bool_op(self, node: BoolOp) -> str:
        return f" {node.op.value} ".join(self._group(operand, BoolOp, node.op) for operand in node.operands)

    def condition(self, node: Expr) -> str:
        """`node` as a condition: a checkbox on its own reads "… is ticked"."""
        if isinstance(node, Name) and self._kind(node) is Kind.BOOLEAN:
            return f"{self.gen(node)} is ticked"
        return self.gen(node)

    def gen_unary(self, node: Unary) -> str:
        if node.op is UnaryOp.NEG:
            return f"−{self._group(node.operand, Arith)}"
        operand = node.operand
        match operand:
            case Compare():
                return self.gen(Compare(operand.span, _NEGATED[operand.op], operand.left, operand.right))
            case In():
                return self.gen(In(operand.span, operand.operand, operand.options, not operand.negated))
            case Call(func="is_blank"):
                return f"{self.gen(operand.args[0])} is filled in"
            case Attribute():
                return self.gen(operand).replace(" is ", " is not ", 1)
            case Name():
                return f"{self.gen(operand)} is not ticked"
            case Call(func="is_new"):
                return f"the {self.wording.noun} already exists"
            case Call(func="is_changed"):
                return f"{self.gen(operand.args[0])} is not being changed"
        return f"not ({self.gen(operand)})"

    # --- helpers ---

    def _value(self, node: Expr, compared_with: Expr) -> str:
        """`node` as the value `compared_with` is compared with: a stage or status key as its label."""
        if isinstance(node, Literal) and isinstance(node.value, str):
            kind = self._kind(compared_with)
            labels = {Kind.STAGE: self.wording.stages, Kind.LEAD_STATUS: self.wording.statuses}.get(kind) \
                if kind else None
            if labels and node.value in labels:
                return labels[node.value]
        return self._group(node, Compare)

    def _days_from_today(self, node: Arith) -> str | None:
        """`today() + 60` as "60 days from today", `today() - 7` as "7 days ago"."""
        if not (isinstance(node.left, Call) and node.left.func == "today" and isinstance(node.right, Literal)
                and isinstance(node.right.value, int) and not isinstance(node.right.value, bool)):
            return None
        days = node.right.value if node.op is ArithOp.ADD else -node.right.value if node.op is ArithOp.SUB else None
        if days is None:
            return None
        unit = "day" if abs(days) == 1 else "days"
        return f"{days} {unit} from today" if days >= 0 else f"{-days} {unit} ago"

    def _group(self, node: Expr, parent: type[Expr], logic: Logic | None = None) -> str:
        """`node` in parentheses when it is a group of another kind inside `parent`."""
        text = self.condition(node) if parent is BoolOp else self.gen(node)
        if isinstance(node, BoolOp) and (parent is not BoolOp or node.op is not logic):
            return f"({text})"
        if isinstance(node, Arith) and parent is Arith and self._days_from_today(node) is None:
            return f"({text})"
        return text

    def _kind(self, node: Expr) -> Kind | None:
        found = self.type_of(node) if (self.types is not None or self.scope is not None) else None
        if found is not None:
            return found.kind
        if isinstance(node, Name):
            return {"stage": Kind.STAGE, "status": Kind.LEAD_STATUS}.get(node.name)
        return None

    def _is_time(self, node: Expr) -> bool:
        return self._kind(node) in (Kind.DATE, Kind.DATETIME) or (
            isinstance(node, Call) and node.func in ("today", "now"))


def to_words(expr: Expr | TypedExpr, wording: Wording) -> str:
    """`expr` as a plain-English sentence in the CRM users' words."""
    words = Words(wording)
    if isinstance(expr, TypedExpr):
        words.types = expr
    return words.condition(expr.expr if isinstance(expr, TypedExpr) else expr)
