"""Type-check an expression once and keep the types: the TypedExpr that travels in the model.

Dialects read a node's type from the TypedExpr instead of inferring it again; a node an AST
rewrite made (no type recorded) is inferred on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping

from sos.errors import Diagnostic
from sos.expr.ast import Expr
from sos.expr.typecheck import check_expression, infer_type
from sos.expr.types import ExprType, Scope


@dataclass(frozen=True, slots=True)
class TypedExpr:
    """An expression, the scope it reads, and the type of each of its nodes (None where it has a problem)."""

    expr: Expr
    scope: Scope
    types: Mapping[Expr, ExprType] = field(default_factory=dict, compare=False, repr=False)

    def type_of(self, node: Expr) -> ExprType | None:
        return self.types.get(node) or infer_type(node, self.scope)


def annotate(expr: Expr, scope: Scope, *, expect_boolean: bool = True) -> tuple[TypedExpr, list[Diagnostic]]:
    """`expr` with its types, and every problem check_expression finds in it."""
    types: dict[Expr, ExprType] = {}
    problems = check_expression(expr, scope, expect_boolean=expect_boolean, record=types)
    return TypedExpr(expr, scope, types), problems
