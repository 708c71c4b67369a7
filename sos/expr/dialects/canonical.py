"""The expression language itself as a dialect: an AST written back as canonical text.

Parentheses appear only where precedence needs them, strings use single quotes and
`=` is written `==`, so `parse_expression(to_text(e))` has the same shape as `e`.
"""

from __future__ import annotations

from decimal import Decimal

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
    Unary,
    UnaryOp,
)
from sos.expr.dialects.base import Generator

# Binding strength, loosest first; a child binding looser than its place needs parentheses.
_ATOM = 8


def _precedence(node: Expr) -> int:
    match node:
        case BoolOp(op=Logic.OR):
            return 1
        case BoolOp():
            return 2
        case Unary(op=UnaryOp.NOT):
            return 3
        case Compare() | In():
            return 4
        case Arith(op=ArithOp.ADD | ArithOp.SUB):
            return 5
        case Arith():
            return 6
        case Unary():
            return 7
        case Literal(value=int() | float() as number) if number < 0:  # made by rewrites, never parsed
            return 7
    return _ATOM


class Canonical(Generator):
    DIALECT = "sos"
    TRANSFORMS = {
        Name: lambda g, n: n.name,
        Call: lambda g, n: f"{n.func}({', '.join(g.gen(arg) for arg in n.args)})",
        ListExpr: lambda g, n: f"[{', '.join(g.gen(item) for item in n.items)}]",
    }

    def wrap(self, node: Expr, needs: int) -> str:
        text = self.gen(node)
        return f"({text})" if _precedence(node) < needs else text

    def gen_literal(self, node: Literal) -> str:
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
            return f"'{escaped}'"
        if isinstance(value, float):
            text = format(Decimal(repr(value)), "f")  # never 1e+20, which the grammar cannot read
            return text if "." in text else f"{text}.0"
        return str(value)

    def gen_attribute(self, node: Attribute) -> str:
        return f"{self.wrap(node.value, _ATOM)}.{node.attr}"

    def gen_unary(self, node: Unary) -> str:
        if node.op is UnaryOp.NOT:
            return f"not {self.wrap(node.operand, 3)}"
        return f"-{self.wrap(node.operand, 7)}"

    def gen_bool_op(self, node: BoolOp) -> str:
        needs = _precedence(node) + 1  # `a or (b or c)` keeps its parentheses, and its shape
        return f" {node.op.value} ".join(self.wrap(operand, needs) for operand in node.operands)

    def gen_compare(self, node: Compare) -> str:
        return f"{self.wrap(node.left, 5)} {node.op.value} {self.wrap(node.right, 5)}"

    def gen_in(self, node: In) -> str:
        keyword = "not in" if node.negated else "in"
        return f"{self.wrap(node.operand, 5)} {keyword} {self.gen(node.options)}"

    def gen_arith(self, node: Arith) -> str:
        precedence = _precedence(node)
        return f"{self.wrap(node.left, precedence)} {node.op.value} {self.wrap(node.right, precedence + 1)}"


def to_text(expr: Expr) -> str:
    """`expr` written in the expression language, with no more parentheses than it needs."""
    return Canonical().generate(expr)
