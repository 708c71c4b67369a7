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
    lost: frozenset[str] = frozenset()                              # the keys of the lost stages


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
                return f"{args[0]} is {self._blank(node.args[0], True)}"
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

    # A comparison, `in` or `not in` with a blank operand is false (sos.expr.dialects.evaluate), so `!=` and
    # `not in` say the field must be filled in, and `not (…)` of a comparison says it holds for a blank too.

    def gen_compare(self, node: Compare) -> str:
        node = _literal_right(node)
        left, right = node.left, node.right
        if _is_flag(right) or _is_null(right) or node.op is not Op.NE:
            return self._comparison(node)
        blanks = self._may_be_blank(node)
        if len(blanks) == 2:
            return f"{self.gen(left)} and {self.gen(right)} are filled in and differ"
        if blanks:
            return f"{self.gen(blanks[0])} is filled in and not {self._value(right, left)}"
        return self._comparison(node)

    def _comparison(self, node: Compare) -> str:
        """`node` (its literal on the right) in words, read as if neither side were blank."""
        left, right = node.left, node.right
        if _is_flag(right):
            assert isinstance(right, Literal)
            ticked = right.value == (node.op is Op.EQ)
            return f"{self.gen(left)} is {'ticked' if ticked else 'not ticked'}"
        if _is_null(right):
            return f"{self.gen(left)} is {self._blank(left, node.op is Op.EQ)}"
        if node.op in _COMPARE_STAGE and self._kind(left) is Kind.STAGE:
            return self._stage_order(node)
        if node.op in _COMPARE_TIME and self._is_time(left):
            if isinstance(right, Call) and right.func == "today" and node.op in (Op.GE, Op.LE):
                return f"{self.gen(left)} is today or {'later' if node.op is Op.GE else 'earlier'}"
            return f"{self.gen(left)} {_COMPARE_TIME[node.op]} {self._value(right, left)}"
        return f"{self.gen(left)} {_COMPARE[node.op]} {self._value(right, left)}"

    def _stage_order(self, node: Compare) -> str:
        """A stage before or after another: a lost stage has no place in that order, only equal to itself."""
        left, right = self.gen(node.left), self._value(node.right, node.left)
        if isinstance(node.right, Literal) and node.right.value in self.wording.lost:
            if node.op in (Op.LE, Op.GE):
                return f"{left} is {right}"
            return f"{left} is {'past' if node.op is Op.GT else 'before'} {right}, which never holds " \
                   f"(a lost stage is neither before nor after another)"
        return _COMPARE_STAGE[node.op].format(left=left, stage=right) + " (not lost)"

    def gen_in(self, node: In) -> str:
        operand = self.gen(node.operand)
        listed = self._options(node)
        if node.negated and self._kind(node.operand) not in _NEVER_BLANK:
            return f"{operand} is filled in and {listed}"
        return f"{operand} is {listed}"

    def _options(self, node: In) -> str:
        """The values of `node` as "A, B or C", or for `not in` "not A", "neither A nor B", "none of A, B and C"."""
        values = [self._value(item, node.operand) for item in node.options.items]
        if not node.negated:
            return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
        if len(values) <= 2:
            return f"not {values[0]}" if len(values) == 1 else f"neither {values[0]} nor {values[1]}"
        return "none of " + ", ".join(values[:-1]) + " and " + values[-1]

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
                return self._not_compare(_literal_right(operand))
            case In():
                flipped = In(operand.span, operand.operand, operand.options, not operand.negated)
                if self._kind(operand.operand) in _NEVER_BLANK:
                    return self.gen(flipped)
                return f"{self.gen(operand.operand)} is blank or {self._options(flipped)}"
            case Call(func="is_blank"):
                return f"{self.gen(operand.args[0])} is {self._blank(operand.args[0], False)}"
            case Attribute():
                return self.gen(operand).replace(" is ", " is not ", 1)
            case Name():
                return f"{self.gen(operand)} is not ticked"
            case Call(func="is_new"):
                return f"the {self.wording.noun} already exists"
            case Call(func="is_changed"):
                return f"{self.gen(operand.args[0])} is not being changed"
        return f"not ({self.gen(operand)})"

    def _not_compare(self, node: Compare) -> str:
        """`not (node)`: true when the comparison does not hold, and when a side of it is blank."""
        negated = Compare(node.span, _NEGATED[node.op], node.left, node.right)
        if _is_flag(node.right) or _is_null(node.right):
            return self._comparison(negated)
        if node.op in _COMPARE_STAGE and self._kind(node.left) is Kind.STAGE:
            if isinstance(node.right, Literal) and node.right.value in self.wording.lost:
                return f"not ({self._comparison(node)})"
            left = self.gen(node.left)
            return f"{left} is lost or " + _COMPARE_STAGE[negated.op].format(left=left, stage=self._value(
                node.right, node.left)).removeprefix(f"{left} is ")
        blanks = self._may_be_blank(node)
        words = self._comparison(negated)
        if len(blanks) == 2:
            return f"{self.gen(blanks[0])} or {self.gen(blanks[1])} is blank, or {words}"
        if blanks:
            blank = self.gen(blanks[0])
            return f"{blank} is blank or {words.removeprefix(f'{blank} is ')}"
        return words

    # --- helpers ---

    def _blank(self, node: Expr, blank: bool) -> str:
        """"blank" or "filled in"; for a checkbox, which counts as blank when unticked (evaluate.py), "not ticked" or
        "ticked"."""
        if self._kind(node) is Kind.BOOLEAN:
            return "not ticked" if blank else "ticked"
        return "blank" if blank else "filled in"

    def _may_be_blank(self, node: Compare) -> list[Expr]:
        """The sides of `node` that can be blank: not a value, not today(), now() or len() (0 for a blank), not a
        stage, status or checkbox."""
        return [side for side in (node.left, node.right) if not isinstance(side, Literal)
                and not (isinstance(side, Call) and side.func in ("today", "now", "len"))
                and self._kind(side) not in _NEVER_BLANK]

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


_NEVER_BLANK = (Kind.STAGE, Kind.LEAD_STATUS, Kind.BOOLEAN)   # a record is always in one; a blank checkbox is unticked


def _literal_right(node: Compare) -> Compare:
    """`node` with its literal, if it has one, on the right: `0 < amount` as `amount > 0`."""
    if isinstance(node.left, Literal) and not isinstance(node.right, Literal):
        return Compare(node.span, MIRRORED[node.op], node.right, node.left)
    return node


def _is_flag(node: Expr) -> bool:
    return isinstance(node, Literal) and isinstance(node.value, bool)


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.value is None


def to_words(expr: Expr | TypedExpr, wording: Wording) -> str:
    """`expr` as a plain-English sentence in the CRM users' words."""
    words = Words(wording)
    if isinstance(expr, TypedExpr):
        words.types = expr
    return words.condition(expr.expr if isinstance(expr, TypedExpr) else expr)
