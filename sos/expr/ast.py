"""The one AST for rule expressions: frozen nodes, each with the Span it came from.

Dialects (sos.expr.dialects) turn it into CRM formulas, queries, filters or a
Python result; rewrites several dialects share are `transform` functions over it.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from enum import Enum
from typing import Any
from collections.abc import Callable, Iterator

from sos.errors import Span


class Op(str, Enum):
    """A comparison operator (`=` is read as `==`)."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class ArithOp(str, Enum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"


class Logic(str, Enum):
    AND = "and"
    OR = "or"


class UnaryOp(str, Enum):
    NOT = "not"
    NEG = "-"


@dataclass(frozen=True, slots=True)
class Expr:
    """Any expression node; `span` is where it was written in the YAML file."""

    span: Span


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    value: int | float | str | bool | datetime.date | None  # dates only from rewrites, never parsed


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A field read: a field key of the rule's object or a standard field."""

    name: str


@dataclass(frozen=True, slots=True)
class Attribute(Expr):
    """`value.attr`, e.g. `stage.is_open`; `attr_span` covers just `attr`."""

    value: Expr
    attr: str
    attr_span: Span


@dataclass(frozen=True, slots=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: UnaryOp
    operand: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """`a and b and c` is one node with three operands."""

    op: Logic
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: Op
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class In(Expr):
    """`operand in [..]`, or `operand not in [..]` when `negated`."""

    operand: Expr
    options: ListExpr
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Arith(Expr):
    op: ArithOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """`func(args)`; `func_span` covers just the function name."""

    func: str
    args: tuple[Expr, ...]
    func_span: Span


def children(expr: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of `expr`, left to right."""
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, Expr):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Expr))


def walk(expr: Expr) -> Iterator[Expr]:
    """`expr` and every node below it, parents before children, left to right."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(children(node))))


def transform(expr: Expr, rewrite: Callable[[Expr], Expr]) -> Expr:
    """Rebuild `expr` bottom-up, passing every node (children already rebuilt) to `rewrite`."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, Expr):
            changes[f.name] = transform(value, rewrite)
        elif isinstance(value, tuple):
            changes[f.name] = tuple(transform(item, rewrite) for item in value)
    return rewrite(dataclasses.replace(expr, **changes))
