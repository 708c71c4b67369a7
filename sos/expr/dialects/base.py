"""The Generator every text dialect builds on, and the AST rewrites dialects share.

Like sqlglot's generator: a dialect is a subclass with a TRANSFORMS map for one-liners,
`gen_<node_kind>` methods for the rest (`gen_compare`, `gen_bool_op`), FUNCTIONS for calls,
and `unsupported(...)` for what it cannot write. Nothing is skipped silently: `generate`
raises SosError listing every unsupported construct at its span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar
from collections.abc import Callable, Mapping

from sos.errors import Diagnostic, SosError
from sos.expr.annotate import TypedExpr
from sos.expr.ast import Call, Compare, Expr, In, ListExpr, Literal, Op, transform
from sos.expr.typecheck import ORDERING, infer_type
from sos.expr.types import ExprType, Kind, Scope

Rewrite = Callable[[Expr, Scope], Expr]


@dataclass(frozen=True)
class Naming:
    """What one CRM calls the fields and values an expression on one object reads. The CRM's backend makes it,
    so a dialect knows only its syntax. (Plain data rather than a protocol: tests write one by hand.)"""

    fields: Mapping[str, str]                                        # field key → the CRM's name, standard and custom
    stage_values: Mapping[str, str] = field(default_factory=dict)    # stage key → the value the CRM stores
    status_values: Mapping[str, str] = field(default_factory=dict)   # lead status key → the value the CRM stores
    picklists: frozenset[str] = frozenset()   # CRM names of standard fields sos reads as text and the CRM as picklists
    compound: frozenset[str] = frozenset()    # CRM names of compound fields (a full name), which formulas cannot read
    text_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # text field key → sos value → CRM's


class Generator:
    """AST → one dialect's text."""

    DIALECT: ClassVar[str] = "this dialect"  # named in unsupported messages
    TRANSFORMS: ClassVar[dict[type[Expr], Callable[..., str]]] = {}  # node type → (generator, node) → text
    FUNCTIONS: ClassVar[dict[str, Callable[..., str]]] = {}  # function name → (generator, call) → text
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = ()  # AST rewrites run before generating, in order

    def __init__(self, scope: Scope | None = None) -> None:
        self.scope = scope
        self.problems: list[Diagnostic] = []
        self.types: TypedExpr | None = None    # the node types of the expression being generated

    def generate(self, expr: Expr | TypedExpr) -> str:
        """The dialect's text for `expr`; raises SosError naming everything it cannot express.

        Given a TypedExpr, node types are read from it rather than inferred again."""
        if isinstance(expr, TypedExpr):
            self.types, expr = expr, expr.expr
        for rewrite in self.PREPROCESS:
            if self.scope is None:
                raise ValueError(f"{type(self).__name__} rewrites expressions and needs a scope")
            expr = rewrite(expr, self.scope)
        self.problems = []
        text = self.gen(expr)
        if self.problems:
            raise SosError(sorted(self.problems, key=Diagnostic.sort_key))
        return text

    def type_of(self, node: Expr) -> ExprType | None:
        """The type of `node` in this generator's scope: recorded by annotate, or inferred for a rewritten node."""
        if self.types is not None:
            return self.types.type_of(node)
        assert self.scope is not None
        return infer_type(node, self.scope)

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


def plain(expr: Expr | TypedExpr) -> Expr:
    """The expression itself, typed or not."""
    return expr.expr if isinstance(expr, TypedExpr) else expr


def node_kind(node: Expr) -> str:
    """`BoolOp` → 'bool_op': the suffix of the gen_ method for a node."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(node).__name__).lower()


# A comparison with its sides swapped: `0 < amount` is `amount > 0`.
MIRRORED = {Op.EQ: Op.EQ, Op.NE: Op.NE, Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}


def expand_stage_order(expr: Expr, scope: Scope) -> Expr:
    """Rewrite `stage >= 'proposal'` (any of < <= > >=) into `stage in [...]` over `scope.stages`.

    Stage order is the order a deal progresses in, as stage `require` reads it (a
    stage's requirements hold in it, every later open stage and the won stage): the
    open stages in pipeline order, then the won stages. Lost stages are never before
    or after another stage; they only equal themselves. With stages discovery,
    proposal, won, lost:

    - `stage >= 'proposal'` → `stage in ['proposal', 'won']`
    - `stage < 'proposal'` → `stage in ['discovery']`
    - `stage >= 'lost'` and `stage <= 'lost'` → `stage in ['lost']`
    - `stage > 'lost'`, `stage < 'lost'` and `stage > 'won'` → `false` (nothing satisfies them)

    The list keeps pipeline order. Comparisons with a string that is not a stage key
    are left alone (check_expression reports them).
    """
    keys = [stage.key for stage in scope.stages]

    def rewrite(node: Expr) -> Expr:
        found = _stage_comparison(node, scope, keys) if isinstance(node, Compare) else None
        if found is None:
            return node
        stage, key, op = found
        chosen = _stages_in_order(scope, op, str(key.value))
        if not chosen:
            return Literal(node.span, False)
        options = ListExpr(key.span, tuple(Literal(key.span, k) for k in chosen))
        return In(node.span, stage, options)

    return transform(expr, rewrite)


def _stages_in_order(scope: Scope, op: Op, key: str) -> list[str]:
    """The keys of the stages s, in pipeline order, for which `s op key` holds."""
    outcome = {stage.key: stage.outcome for stage in scope.stages}
    if outcome[key] == "lost":  # only itself, and only when the comparison includes equality
        return [key] if op in (Op.LE, Op.GE) else []
    opens = [stage.key for stage in scope.stages if stage.outcome == "open"]
    wons = [stage.key for stage in scope.stages if stage.outcome == "won"]
    progress = [*opens, *wons]
    at = progress.index(key)
    if op is Op.LT:
        chosen = progress[:at]
    elif op is Op.LE:
        chosen = progress[: at + 1]
    elif op is Op.GT:
        chosen = progress[at + 1 :]
    else:
        chosen = progress[at:]
    return [k for k in outcome if k in chosen]  # back in pipeline order


def _stage_comparison(node: Compare, scope: Scope, keys: list[str]) -> tuple[Expr, Literal, Op] | None:
    """(stage, key, op) for `stage op 'key'` or `'key' op stage` (op mirrored) with op one of < <= > >=."""
    if node.op not in ORDERING:
        return None
    for stage, key, op in ((node.left, node.right, node.op), (node.right, node.left, MIRRORED[node.op])):
        if isinstance(key, Literal) and key.value in keys and _is_stage(stage, scope):
            return stage, key, op
    return None


def _is_stage(node: Expr, scope: Scope) -> bool:
    found = infer_type(node, scope)
    return found is not None and found.kind is Kind.STAGE
