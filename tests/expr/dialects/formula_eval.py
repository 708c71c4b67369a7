"""A tiny interpreter for the Salesforce formulas sos generates, to check them against the evaluator.

It reads the subset SalesforceFormula writes (AND OR NOT ISPICKVAL ISBLANK TEXT INCLUDES
TODAY NOW LEN DATEVALUE, comparisons, + - * /, literals, field references such as
`Budget_Confirmed__c` or `Owner:User.Username`) and evaluates it over a record keyed by
API name. It is strict where Salesforce refuses to compile (a picklist outside ISPICKVAL,
TEXT and ISBLANK(TEXT(...)); a date mixed with a date and time; text compared with a
number), so a generator slip fails loudly instead of evaluating to something.

How it models Salesforce (the choices the agreement tests rest on):
- blank text, picklists and multi-select picklists are '' (ISBLANK('') is TRUE, and
  `'' <> 'a'` is TRUE, as in Salesforce);
- blank numbers, dates and dates and times are null ("treat blank fields as blanks");
  a comparison with null is FALSE, and arithmetic with null is null;
- a checkbox is TRUE or FALSE, never blank;
- division by zero, which Salesforce reports as an error, is null here, like a date out
  of range (the evaluator calls both blank);
- a date plus or minus a number of days needs a whole number: what Salesforce does with
  a fraction is not modelled, and the generated tests keep day counts whole.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Mapping

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op><=|>=|<>|!=|==|=|<|>|\+|-|\*|/|\(|\)|,)
    )""",
    re.X,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_COMPARISONS = {"=", "==", "<>", "!=", "<", "<=", ">", ">="}


class FormulaError(Exception):
    """The formula would not compile in Salesforce, or uses something this interpreter does not model."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(formula: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(formula):
        if formula[at:].strip() == "":
            break
        match = _TOKEN.match(formula, at)
        if match is None:
            raise FormulaError(f"cannot read {formula[at:at + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        at = match.end()
    return tokens


# AST: ("num", v) ("str", s) ("bool", b) ("null",) ("field", name) ("call", NAME, [args])
# ("cmp", op, l, r) ("arith", op, l, r) ("neg", e)
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, formula: str) -> None:
        self.tokens = tokenize(formula)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise FormulaError(f"expected {text or 'more'}, got {token.text if token else 'the end'}")
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.comparison()
        if self.peek() is not None:
            raise FormulaError(f"unexpected {self.peek()}")
        return node

    def comparison(self) -> Node:
        left = self.additive()
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in _COMPARISONS:
            self.take()
            return ("cmp", token.text, left, self.additive())
        return left

    def additive(self) -> Node:
        node = self.multiplicative()
        while (token := self.peek()) is not None and token.text in ("+", "-"):
            self.take()
            node = ("arith", token.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token.text in ("*", "/"):
            self.take()
            node = ("arith", token.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if (token := self.peek()) is not None and token.text == "-":
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return ("str", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), token.text[1:-1], flags=re.S))
        if token.text == "(":
            node = self.comparison()
            self.take(")")
            return node
        if token.kind != "name":
            raise FormulaError(f"unexpected {token.text}")
        upper = token.text.upper()
        if upper in ("TRUE", "FALSE"):
            return ("bool", upper == "TRUE")
        if upper == "NULL":
            return ("null",)
        if (following := self.peek()) is not None and following.text == "(":
            self.take("(")
            args: list[Node] = []
            if (closing := self.peek()) is not None and closing.text != ")":
                args.append(self.comparison())
                while (comma := self.peek()) is not None and comma.text == ",":
                    self.take(",")
                    args.append(self.comparison())
            self.take(")")
            return ("call", upper, args)
        return ("field", token.text)


def parse_formula(formula: str) -> Node:
    return _Parser(formula).parse()


def evaluate_formula(
    formula: str,
    record: Mapping[str, object],
    *,
    today: datetime.date,
    now: datetime.datetime,
    picklists: frozenset[str] = frozenset(),
) -> object:
    """The value of `formula` for `record` (API name → value); `picklists` names its picklist fields."""
    return _Interpreter(record, today, now, picklists).value(parse_formula(formula))


class _Interpreter:
    def __init__(
        self, record: Mapping[str, object], today: datetime.date, now: datetime.datetime, picklists: frozenset[str]
    ) -> None:
        self.record = record
        self.today = today
        self.now = now
        self.picklists = picklists

    def field(self, name: str) -> object:
        if name not in self.record:
            raise FormulaError(f"Field {name} does not exist")
        return self.record[name]

    def value(self, node: Node) -> Any:
        match node:
            case ("num", value) | ("str", value) | ("bool", value):
                return value
            case ("null",):
                return None
            case ("field", name):
                if name in self.picklists:
                    raise FormulaError(f"picklist {name} used outside ISPICKVAL, TEXT or CASE")
                return self.field(name)
            case ("neg", operand):
                found = self.value(operand)
                if found is None:
                    return None
                _expect_number(found)
                return -found
            case ("cmp", op, left, right):
                return _compare(op, self.value(left), self.value(right))
            case ("arith", op, left, right):
                return _arith(op, self.value(left), self.value(right))
            case ("call", function, args):
                return self.call(function, args)
        raise FormulaError(f"cannot evaluate {node!r}")

    def condition(self, node: Node) -> bool:
        found = self.value(node)
        if not isinstance(found, bool):
            raise FormulaError(f"expected TRUE or FALSE, got {found!r}")
        return found

    def call(self, function: str, args: list[Node]) -> Any:
        match function, args:
            case "AND", [_, *_]:
                return all([self.condition(arg) for arg in args])  # every argument is checked
            case "OR", [_, *_]:
                return any([self.condition(arg) for arg in args])
            case "NOT", [arg]:
                return not self.condition(arg)
            case "TODAY", []:
                return self.today
            case "NOW", []:
                return self.now
            case "ISPICKVAL", [("field", name), ("str", wanted)]:
                if name not in self.picklists:
                    raise FormulaError(f"ISPICKVAL needs a picklist, got {name}")
                return self.field(name) == wanted
            case "TEXT", [("field", name)] if name in self.picklists:
                return self.field(name) or ""
            case "ISBLANK", [arg]:
                found = self.value(arg)
                return found is None or found == ""  # a checkbox (TRUE or FALSE) is never blank
            case "INCLUDES", [("field", name), ("str", wanted)]:
                values = self.field(name)
                if not isinstance(values, str):
                    raise FormulaError(f"INCLUDES needs a multi-select picklist, got {name}")
                return wanted in values.split(";") if values else False
            case "LEN", [arg]:
                text = self.value(arg)
                if not isinstance(text, str):
                    raise FormulaError(f"LEN needs text, got {text!r}")
                return len(text)
            case "DATEVALUE", [arg]:
                moment = self.value(arg)
                if moment is None:
                    return None
                if not isinstance(moment, datetime.datetime):
                    raise FormulaError(f"DATEVALUE needs a date and time, got {moment!r}")
                return moment.date()
        raise FormulaError(f"cannot call {function} with {args!r}")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, datetime.datetime):
        return "datetime"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, str):
        return "text"
    raise FormulaError(f"no formula type for {value!r}")


def _expect_number(value: object) -> None:
    if _kind(value) != "number":
        raise FormulaError(f"expected a number, got {value!r}")


def _compare(op: str, left: object, right: object) -> bool:
    if left is None or right is None:
        return False  # "treat blank fields as blanks": a comparison with a blank is false
    if _kind(left) != _kind(right):
        raise FormulaError(f"cannot compare {left!r} with {right!r}")
    if op in ("=", "=="):
        return left == right
    if op in ("<>", "!="):
        return left != right
    if _kind(left) in ("text", "boolean"):
        raise FormulaError(f"cannot order {left!r} and {right!r}")
    ordered: Any = left  # a number, date or date and time, as _kind checked
    return bool({"<": ordered < right, "<=": ordered <= right, ">": ordered > right, ">=": ordered >= right}[op])


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    kinds = (_kind(left), _kind(right))
    try:
        if kinds == ("number", "number"):
            if op == "/":
                return None if right == 0 else left / right
            return {"+": left + right, "-": left - right, "*": left * right}[op]
        if kinds in (("date", "date"), ("datetime", "datetime")) and op == "-":
            if kinds[0] == "date":
                return (left - right).days
            return (left - right).total_seconds() / 86400
        if kinds[1] in ("date", "datetime") and kinds[0] == "number" and op == "+":
            left, right, kinds = right, left, (kinds[1], kinds[0])
        if kinds[0] in ("date", "datetime") and kinds[1] == "number" and op in ("+", "-"):
            if kinds[0] == "date" and right != int(right):
                raise FormulaError(f"a date plus {right} days is not modelled")
            days = datetime.timedelta(days=right)
            return left + days if op == "+" else left - days
    except (OverflowError, ValueError):
        return None  # out of the calendar's range, like the evaluator
    raise FormulaError(f"cannot compute {left!r} {op} {right!r}")
