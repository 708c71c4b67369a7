"""The Generator every text dialect builds on, and the AST rewrites dialects share.

Like sqlglot's generator: a dialect is a subclass with a TRANSFORMS map for one-liners,
`gen_<node_kind>` methods for the rest (`gen_compare`, `gen_bool_op`), FUNCTIONS for calls,
and `unsupported(...)` for what it cannot write. Nothing is skipped silently: `generate`
raises SosError listing every unsupported construct at its span.
"""

from __future__ import annotations

import operator
import re
from typing import Callable, ClassVar

from sos.errors import Diagnostic, SosError
from sos.expr.ast import Call, Compare, Expr, In, ListExpr, Literal, Op, transform
from sos.expr.typecheck import ORDERING, infer_type
from sos.expr.types import Kind, Scope

Rewrite = Callable[[Expr, Scope], Expr]


class Generator:
    """AST → one dialect's text."""

    DIALECT: ClassVar[str] = "this dialect"  # named in unsupported messages
    TRANSFORMS: ClassVar[dict[type[Expr], Callable[..., str]]] = {}  # node type → (generator, node) → text
    FUNCTIONS: ClassVar[dict[str, Callable[..., str]]] = {}  # function name → (generator, call) → text
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = ()  # AST rewrites run before generating, in order

    def __init__(self, scope: Scope | None = None) -> None:
        self.scope = scope
        self.problems: list[Diagnostic] = []

    def generate(self, expr: Expr) -> str:
        """The dialect's text for `expr`; raises SosError naming everything it cannot express."""
        for rewrite in self.PREPROCESS:
            if self.scope is None:
                raise ValueError(f"{type(self).__name__} rewrites expressions and needs a scope")
            expr = rewrite(expr, self.scope)
        self.problems = []
        text = self.gen(expr)
        if self.problems:
            raise SosError(sorted(self.problems, key=Diagnostic.sort_key))
        return text

    def gen(self, node: Expr) -> str:
        """The text of one node: TRANSFORMS first, then the gen_<node_kind> method."""
        one_liner = self.TRANSFORMS.get(type(node))
        if one_liner is not None:
            return one_liner(self, node)
        method: Callable[[Expr], str] | None = getattr(self, f"gen_{node_kind(node)}", None)
        if method is None:
            return self.unsupported(node, f"{self.DIALECT} cannot express this part of the expression")
        return method(node)

    def gen_call(self, node: Call) -> str:
        function = self.FUNCTIONS.get(node.func)
        if function is None:
            return self.unsupported(node, f"{self.DIALECT} has no {node.func}()")
        return function(self, node)

    def unsupported(self, node: Expr, message: str) -> str:
        """Record that `node` cannot be written in this dialect; `generate` will raise."""
        self.problems.append(Diagnostic(node.span, message, "unsupported"))
        return "?"


def node_kind(node: Expr) -> str:
    """`BoolOp` → 'bool_op': the suffix of the gen_ method for a node."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(node).__name__).lower()


_ORDER_TESTS: dict[Op, Callable[[int, int], bool]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}
_MIRRORED = {Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}


def expand_stage_order(expr: Expr, scope: Scope) -> Expr:
    """Rewrite `stage >= 'proposal'` (any of < <= > >=) into `stage in [...]` over `scope.stages`.

    Order is the order of `scope.stages`, closed stages included: with stages
    discovery, proposal, won, lost, `stage >= 'proposal'` becomes
    `stage in ['proposal', 'won', 'lost']`. A comparison no stage satisfies becomes
    `false`. Comparisons with a string that is not a stage key are left alone
    (check_expression reports them).
    """
    keys = [stage.key for stage in scope.stages]

    def rewrite(node: Expr) -> Expr:
        found = _stage_comparison(node, scope, keys) if isinstance(node, Compare) else None
        if found is None:
            return node
        stage, key, op = found
        at = keys.index(str(key.value))
        chosen = [k for i, k in enumerate(keys) if _ORDER_TESTS[op](i, at)]
        if not chosen:
            return Literal(node.span, False)
        options = ListExpr(key.span, tuple(Literal(key.span, k) for k in chosen))
        return In(node.span, stage, options)

    return transform(expr, rewrite)


def _stage_comparison(node: Compare, scope: Scope, keys: list[str]) -> tuple[Expr, Literal, Op] | None:
    """(stage, key, op) for `stage op 'key'` or `'key' op stage` (op mirrored) with op one of < <= > >=."""
    if node.op not in ORDERING:
        return None
    for stage, key, op in ((node.left, node.right, node.op), (node.right, node.left, _MIRRORED[node.op])):
        if isinstance(key, Literal) and key.value in keys and _is_stage(stage, scope):
            return stage, key, op
    return None


def _is_stage(node: Expr, scope: Scope) -> bool:
    found = infer_type(node, scope)
    return found is not None and found.kind is Kind.STAGE
