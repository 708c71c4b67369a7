"""Scopes, a `locate` and a shape printer shared by the expression tests."""

from __future__ import annotations

from sos.errors import Span
from sos.expr.ast import Arith, Attribute, BoolOp, Call, Compare, Expr, In, ListExpr, Literal, Name, Unary
from sos.expr.parse import parse_expression
from sos.expr.types import (
    BOOLEAN,
    DATE,
    NUMBER,
    TEXT,
    StageInfo,
    StatusInfo,
    multi_picklist,
    picklist,
    reference,
    scope_for,
)


def locate(start: int, end: int) -> Span:
    """The expression sits on line 3 of b.yaml, starting at column 10."""
    return Span("b.yaml", 3, 10 + start, 3, 10 + end)


def parse(text: str) -> Expr:
    return parse_expression(text, locate)


STAGES = (
    StageInfo("discovery"),
    StageInfo("evaluation"),
    StageInfo("proposal"),
    StageInfo("won", "won"),
    StageInfo("lost", "lost"),
)

OPPORTUNITY = scope_for(
    "opportunity",
    {
        "budget_confirmed": BOOLEAN,
        "pain": TEXT,
        "discount": NUMBER,
        "signed_on": DATE,
        "economic_buyer": reference("contact"),
        "loss_reason": picklist(["Price", "Timing", "Competitor", "No decision"]),
        "competitors": multi_picklist(["Acme", "Globex", "Initech"]),
    },
    stages=STAGES,
)

LEAD = scope_for(
    "lead",
    {"rating": picklist(["Hot", "Warm", "Cold"])},
    statuses=(StatusInfo("new"), StatusInfo("working"), StatusInfo("qualified", True), StatusInfo("disqualified")),
)

ACCOUNT = scope_for("account", {})


def shape(expr: Expr) -> str:
    """`expr` fully bracketed, spans left out: `a or b and c` → `(or a (and b c))`."""
    match expr:
        case Literal(value=value):
            return repr(value)
        case Name(name=name):
            return name
        case Attribute(value=value, attr=attr):
            return f"{shape(value)}.{attr}"
        case ListExpr(items=items):
            return f"[{' '.join(shape(item) for item in items)}]"
        case Unary(op=op, operand=operand):
            return f"({op.value} {shape(operand)})"
        case BoolOp(op=op, operands=operands):
            return f"({op.value} {' '.join(shape(operand) for operand in operands)})"
        case Compare(op=op, left=left, right=right) | Arith(op=op, left=left, right=right):
            return f"({op.value} {shape(left)} {shape(right)})"
        case In(operand=operand, options=options, negated=negated):
            return f"({'not in' if negated else 'in'} {shape(operand)} {shape(options)})"
        case Call(func=func, args=args):
            return f"{func}({' '.join(shape(arg) for arg in args)})"
    raise TypeError(expr)
