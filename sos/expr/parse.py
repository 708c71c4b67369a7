"""Expression text → AST (sos.expr.ast), with syntax errors located in the YAML file."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from collections.abc import Callable

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from sos.errors import Diagnostic, SosError, Span
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

Locate = Callable[[int, int], Span]

MAX_DEPTH = 100  # deeper nesting is never a real rule, and would exhaust Python's stack
MAX_NUMBER = 10**18  # CRMs keep 18 digits; and a float below it is written back without an exponent

_KEYWORDS = ("and", "or", "not", "in", "true", "false", "null")
_BRACKETS = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[()\[\]]""", re.S)
_ESCAPES = {"n": "\n", "t": "\t"}


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True)


def parse_expression(text: str, locate: Locate) -> Expr:
    """Parse `text` into an Expr whose spans come from `locate(start_offset, end_offset)`.

    Raises SosError with one `expr-syntax` Diagnostic pointing at the offending token.
    """
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise SosError(_syntax_error(text, error, locate)) from None
    # Checked before anything walks the tree recursively (lark's scan_values, the transformer).
    if _depth(tree) > MAX_DEPTH:
        raise SosError(
            Diagnostic(
                locate(0, len(text)),
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                "expr-syntax",
                fix="split it into simpler rules",
            )
        )
    for token in tree.scan_values(lambda value: isinstance(value, Token) and value.type == "NUMBER"):
        if _number(token) >= MAX_NUMBER:
            span = locate(token.start_pos or 0, token.end_pos or 0)
            raise SosError(Diagnostic(span, "number is too large (18 digits at most)", "expr-syntax"))
    expr: Expr = _Build(locate).transform(tree)
    return expr


def _depth(tree: Tree[Token]) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return deepest


def _number(token: str) -> int | float:
    return float(token) if "." in token else int(Decimal(token))  # Decimal: int() refuses over 4300 digits


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), token[1:-1], flags=re.S)


@v_args(meta=True)
class _Build(Transformer[Token, Expr]):
    """Lark parse tree → AST nodes; one method per aliased grammar rule."""

    def __init__(self, locate: Locate) -> None:
        super().__init__()
        self.locate = locate

    def _span(self, meta: Meta) -> Span:
        return self.locate(meta.start_pos, meta.end_pos)

    def _token_span(self, token: Token) -> Span:
        return self.locate(token.start_pos or 0, token.end_pos or 0)

    def or_test(self, meta: Meta, items: list[Expr]) -> Expr:
        return BoolOp(self._span(meta), Logic.OR, tuple(items))

    def and_test(self, meta: Meta, items: list[Expr]) -> Expr:
        return BoolOp(self._span(meta), Logic.AND, tuple(items))

    def not_(self, meta: Meta, items: list[Expr]) -> Expr:
        return Unary(self._span(meta), UnaryOp.NOT, items[0])

    def neg(self, meta: Meta, items: list[Expr]) -> Expr:
        return Unary(self._span(meta), UnaryOp.NEG, items[0])

    def compare(self, meta: Meta, items: list[Any]) -> Expr:
        left, op, right = items
        return Compare(self._span(meta), Op("==" if op == "=" else str(op)), left, right)

    def in_(self, meta: Meta, items: list[Any]) -> Expr:
        return In(self._span(meta), items[0], items[1])

    def not_in(self, meta: Meta, items: list[Any]) -> Expr:
        return In(self._span(meta), items[0], items[1], negated=True)

    def _arith(self, op: ArithOp, meta: Meta, items: list[Expr]) -> Expr:
        return Arith(self._span(meta), op, items[0], items[1])

    def add(self, meta: Meta, items: list[Expr]) -> Expr:
        return self._arith(ArithOp.ADD, meta, items)

    def sub(self, meta: Meta, items: list[Expr]) -> Expr:
        return self._arith(ArithOp.SUB, meta, items)

    def mul(self, meta: Meta, items: list[Expr]) -> Expr:
        return self._arith(ArithOp.MUL, meta, items)

    def div(self, meta: Meta, items: list[Expr]) -> Expr:
        return self._arith(ArithOp.DIV, meta, items)

    def attribute(self, meta: Meta, items: list[Any]) -> Expr:
        value, attr = items
        return Attribute(self._span(meta), value, str(attr), self._token_span(attr))

    def call(self, meta: Meta, items: list[Any]) -> Expr:
        func, *args = items
        return Call(self._span(meta), str(func), tuple(args), self._token_span(func))

    def list_expr(self, meta: Meta, items: list[Expr]) -> Expr:
        return ListExpr(self._span(meta), tuple(items))

    def name(self, meta: Meta, items: list[Token]) -> Expr:
        return Name(self._span(meta), str(items[0]))

    def number(self, meta: Meta, items: list[Token]) -> Expr:
        return Literal(self._span(meta), _number(items[0]))

    def string(self, meta: Meta, items: list[Token]) -> Expr:
        return Literal(self._span(meta), _unquote(str(items[0])))

    def true(self, meta: Meta, items: list[Token]) -> Expr:
        return Literal(self._span(meta), True)

    def false(self, meta: Meta, items: list[Token]) -> Expr:
        return Literal(self._span(meta), False)

    def null(self, meta: Meta, items: list[Token]) -> Expr:
        return Literal(self._span(meta), None)


def _syntax_error(text: str, error: UnexpectedInput, locate: Locate) -> Diagnostic:
    """One Diagnostic that says, in the user's words, what lark tripped over."""
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(text, error.pos_in_stream or 0, locate)
    if not isinstance(error, UnexpectedToken):
        return Diagnostic(locate(0, len(text)), "expression cannot be read", "expr-syntax")
    expected: set[str] = error.interactive_parser.accepts()
    token = error.token
    if token.type == "$END":
        end = len(text.rstrip())
        message, fix = _early_end(text, expected, locate)
        return Diagnostic(locate(end, end), message, "expr-syntax", fix=fix)
    shown = str(token) if token.type == "STRING" else f"'{token}'"
    start = token.start_pos or 0
    return Diagnostic(
        locate(start, token.end_pos or start),
        f"unexpected {shown} in expression",
        "expr-syntax",
        fix=_token_fix(text, token, shown, expected),
    )


def _bad_character(text: str, pos: int, locate: Locate) -> Diagnostic:
    char = text[pos]
    if char in "'\"":
        return Diagnostic(locate(pos, len(text)), "string is not closed", "expr-syntax", fix=f"add the closing {char}")
    fixes = {"&": "write 'and'", "|": "write 'or'", "!": "write 'not', or '!=' for 'not equal'"}
    return Diagnostic(
        locate(pos, pos + 1), f"unexpected character '{char}' in expression", "expr-syntax", fix=fixes.get(char, "")
    )


def _early_end(text: str, expected: set[str], locate: Locate) -> tuple[str, str]:
    """Message and fix for an expression that stops before it is complete."""
    if not text.strip():
        return "expression is empty", "write a condition, e.g. amount > 0"
    if "NUMBER" in expected:
        return "expression ends too early; expected a value", ""
    if "NAME" in expected:
        return "expression ends too early; expected a name after '.'", ""
    closers = [f"'{c}'" for t, c in (("RPAR", ")"), ("RSQB", "]"), ("IN", "in")) if t in expected]
    message = f"expression ends too early; expected {' or '.join(closers) or 'more'}"
    opened = _open_brackets(text, len(text))
    if not opened:
        return message, ""
    bracket = text[opened[-1]]
    column = locate(opened[-1], opened[-1] + 1).col
    return message, f"add '{')' if bracket == '(' else ']'}' to close the '{bracket}' at column {column}"


def _token_fix(text: str, token: Token, shown: str, expected: set[str]) -> str:
    """A hint for the usual slips behind an unexpected token, or an empty string."""
    if token.type == "NAME" and str(token).lower() in _KEYWORDS:
        return f"write '{str(token).lower()}' in lower case"
    if token.type == "COMPARE" and "AND" in expected:
        return "comparisons do not chain; join two of them with 'and', e.g. a < b and b < c"
    if token.type == "RPAR" and not _open_brackets(text, token.start_pos or 0):
        return "remove it, or add the '(' it closes"
    if expected == {"LSQB"}:
        return "'in' takes a list in brackets, e.g. stage in ['won', 'lost']"
    if token.type in {"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "NULL"} and "AND" in expected:
        missing = "a ',' or an operator" if "COMMA" in expected else "an operator"
        return f"{missing} is missing before {shown}, e.g. 'and', '==' or '+'"
    return ""


def _open_brackets(text: str, upto: int) -> list[int]:
    """Offsets of the brackets still open at `upto` (outside strings)."""
    opened: list[int] = []
    for match in _BRACKETS.finditer(text, 0, upto):
        char = match[0]
        if char in "([":
            opened.append(match.start())
        elif char in ")]" and opened:
            opened.pop()
    return opened
