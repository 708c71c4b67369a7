"""Salesforce formulas: one parser, a deploy-time checker and the evaluator validation rules run on every
record save (formula_types.py type-checks the same tree).

`check` finds what makes a deploy fail most often: unknown fields ("Field X does not exist.
Check spelling."), unknown functions, unbalanced parentheses, and picklist fields used
outside ISPICKVAL/TEXT/CASE.

`evaluate` computes a formula over a record as Salesforce documents it, from the org's own
field types, not from what sos's generator writes (each rule's source is cited where it is
applied). Where Salesforce's behaviour is not documented, it refuses (`Undocumented`) rather
than guess, so a generated formula that depends on it fails loudly in the emulator.
"""

from __future__ import annotations

import datetime
import operator
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .org import FieldInfo

MAX_FORMULA_LENGTH = 3900

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*(?::[A-Za-z_]+)?(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)
  | (?P<op>&&|\|\||<>|!=|<=|>=|==|[-+*/^&=<>(),!])
""", re.VERBOSE | re.DOTALL)

FUNCTIONS = frozenset("""
ABS ACOS ADDMONTHS AND ASCII ASIN ATAN ATAN2 BEGINS BLANKVALUE BR CASE CASESAFEID CEILING CONTAINS COS
CURRENCYRATE DATE DATETIMEVALUE DATEVALUE DAY DAYOFYEAR DISTANCE EXP FIND FLOOR FORMATDURATION FROMUNIXTIME
GEOLOCATION GETRECORDIDS GETSESSIONID HOUR HTMLENCODE HYPERLINK IF IMAGE INCLUDE INCLUDES INITCAP ISBLANK
ISCHANGED ISCLONE ISNEW ISNULL ISNUMBER ISOWEEK ISOYEAR ISPICKVAL JSENCODE JSINHTMLENCODE LEFT LEN LN LOG
LOWER LPAD MAX MCEILING MFLOOR MID MILLISECOND MIN MINUTE MOD MONTH NOT NOW NULLVALUE OR PARENTGROUPVAL
PI PREDICT PREVGROUPVAL PRIORVALUE REGEX REVERSE RIGHT ROUND RPAD SECOND SIN SQRT SUBSTITUTE TAN TEXT
TIMENOW TIMEVALUE TODAY TRIM UNIXTIMESTAMP UPPER URLENCODE VALUE VLOOKUP WEEKDAY YEAR
""".split())  # noqa: SIM905 - a word list reads better than a hundred quoted names

GLOBALS = frozenset({"$USER", "$PROFILE", "$USERROLE", "$PERMISSION", "$SETUP", "$LABEL", "$ORGANIZATION",
                     "$SYSTEM", "$CUSTOMMETADATA", "$API", "$RECORDTYPE"})

# Where a bare picklist field may stand: function → argument positions (None = any).
PICKLIST_SLOTS: dict[str, frozenset[int] | None] = {
    "ISPICKVAL": frozenset({0}), "CASE": frozenset({0}), "TEXT": frozenset({0}),
    "ISCHANGED": None, "PRIORVALUE": None,
}
MULTI_PICKLIST_SLOTS: dict[str, frozenset[int] | None] = {
    "INCLUDES": frozenset({0}), "ISBLANK": None, "ISNULL": None, "ISCHANGED": None, "PRIORVALUE": None,
}

# Resolves a dotted reference: (object, "Account.Owner.Email") → the field, or None.
FieldLookup = Callable[[str], Mapping[str, FieldInfo]]


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str


def tokenize(formula: str) -> list[Token] | str:
    """The formula's tokens, or a syntax error message."""
    tokens: list[Token] = []
    position = 0
    while position < len(formula):
        match = TOKEN.match(formula, position)
        if match is None:
            return f"Syntax error. Found '{formula[position]}'"
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group()))
        position = match.end()
    return tokens


# -- parsing ----------------------------------------------------------------------------------

class FormulaError(Exception):
    """The formula would not compile in Salesforce (a type error, a picklist read bare)."""


class FormulaRuntimeError(Exception):
    """The formula fails on this record, which stops the save (a division by zero)."""


class Undocumented(FormulaError):
    """The formula reaches behaviour Salesforce does not document: a null condition under NOT, AND, OR or IF."""


# Loosest first: unary operators bind tighter than any of these (Formula Operators and Functions:
# unary, ^, * /, + -, &, comparisons, &&, ||).
PRECEDENCE = (("||",), ("&&",), ("=", "==", "<>", "!=", "<", "<=", ">", ">="), ("&",), ("+", "-"), ("*", "/"),
              ("^",))
_BINDING = {op: level + 1 for level, ops in enumerate(PRECEDENCE) for op in ops}
COMPARISONS = PRECEDENCE[2]

Node = tuple[Any, ...]


def parse(formula: str) -> Node:
    """The formula's syntax tree: ("literal", value), ("field", name), ("unary", op, operand),
    ("binary", op, left, right) or ("call", NAME, [args]); a syntax error raises FormulaError."""
    tokens = tokenize(formula)
    if isinstance(tokens, str):
        raise FormulaError(tokens)
    parser = _Parser(tokens)
    node = parser.expression(0)
    if parser.at != len(tokens):
        raise FormulaError(f"Syntax error. Extra '{tokens[parser.at].value}'")
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def take(self, value: str | None = None) -> Token:
        if self.at >= len(self.tokens):
            raise FormulaError("Syntax error. Missing ')'" if value == ")" else "Syntax error. Unexpected end")
        token = self.tokens[self.at]
        if value is not None and token.value != value:
            raise FormulaError(f"Syntax error. Found '{token.value}'")
        self.at += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.at].value if self.at < len(self.tokens) else None

    def expression(self, floor: int) -> Node:
        left = self.unary()
        while (op := self.peek()) in _BINDING and _BINDING[op] > floor:
            self.take()
            left = ("binary", op, left, self.expression(_BINDING[op]))
        return left

    def unary(self) -> Node:
        if self.peek() in ("-", "+", "!"):
            return ("unary", self.take().value, self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("literal", Decimal(token.value))
        if token.kind == "string":
            unescaped = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m[1], m[1]),
                               token.value[1:-1], flags=re.S)
            return ("literal", unescaped)
        if token.value == "(":
            inner = self.expression(0)
            self.take(")")
            return inner
        if token.kind != "name":
            raise FormulaError(f"Syntax error. Found '{token.value}'")
        upper = token.value.upper()
        if self.peek() == "(":
            self.take("(")
            args: list[Node] = []
            if self.peek() != ")":
                args.append(self.expression(0))
                while self.peek() == ",":
                    self.take(",")
                    args.append(self.expression(0))
            self.take(")")
            return ("call", upper, args)
        if upper in ("TRUE", "FALSE"):
            return ("literal", upper == "TRUE")
        if upper == "NULL":
            return ("literal", None)
        return ("field", token.value)


def check(formula: str, obj: str, fields_of: FieldLookup) -> list[str]:
    """Problems with a formula on object `obj`; empty if it would compile as far as we can tell."""
    if not formula.strip():
        return ["Required field is missing: errorConditionFormula"]
    if len(formula) > MAX_FORMULA_LENGTH:
        return [f"Formula is too long ({len(formula)} characters). Maximum length is 3,900 characters."]
    try:
        tree = parse(formula)
    except FormulaError as error:
        return [str(error)]
    problems = [problem for node, call, position in _walk(tree)
                if (problem := _node_problem(node, call, position, obj, fields_of))]
    return _unique(problems)


def _node_problem(node: Node, call: str | None, position: int, obj: str, fields_of: FieldLookup) -> str:
    """What Salesforce would refuse about one node of a formula: an unknown function or field, a bare picklist."""
    if node[0] == "call":
        return "" if node[1] in FUNCTIONS else f"Unknown function {node[1]}. Check spelling."
    if node[0] != "field":
        return ""
    name = node[1]
    unknown = f"Field {name} does not exist. Check spelling."
    if name.startswith("$"):
        return "" if name.split(".", 1)[0].upper() in GLOBALS else unknown
    found = resolve(name, obj, fields_of)
    if found is None:
        return unknown
    if found.type in ("Picklist", "MultiselectPicklist"):
        slots = PICKLIST_SLOTS if found.type == "Picklist" else MULTI_PICKLIST_SLOTS
        positions = slots.get(call, frozenset()) if call is not None else frozenset()
        if not (call in slots and (positions is None or position in positions)):
            return f"Field {name} is a picklist field. Picklist fields are only supported in certain functions."
    return ""


def _walk(node: Node, call: str | None = None, position: int = 0) -> Iterator[tuple[Node, str | None, int]]:
    """Every node of a tree, with the function it is a direct argument of (None if none) and its position."""
    yield node, call, position
    match node:
        case ("unary", _, operand):
            yield from _walk(operand)
        case ("binary", _, left, right):
            yield from _walk(left)
            yield from _walk(right)
        case ("call", function, args):
            for index, arg in enumerate(args):
                yield from _walk(arg, function, index)


def resolve(reference: str, obj: str, fields_of: FieldLookup) -> FieldInfo | None:
    """Follow `Account.Owner.Email` from `obj` through relationship names to the final field."""
    *hops, last = reference.split(".")
    current = obj
    for hop in (hop.split(":", 1)[0] for hop in hops):  # `Owner:User`: a polymorphic lookup read as one type
        fields = fields_of(current)
        target = None
        for info in fields.values():
            if info.relationship and info.relationship.lower() == hop.lower() and info.reference_to:
                target = info.reference_to
                break
        if target is None:
            return None
        current = target
        if current in ("Profile", "UserRole", "BusinessProcess"):
            # Objects the emulator does not model: accept any field on them.
            return FieldInfo(last, last, "Text", custom=False)
    return fields_of(current).get(last.lower())


def references(formula: str) -> set[str]:
    """Lower-case names of the plain (same-object) field references in a formula (none if it does not parse:
    a formula field's formula is not checked at deploy)."""
    try:
        tree = parse(formula)
    except FormulaError:
        return set()
    found = set()
    for node, _, _ in _walk(tree):
        if node[0] == "field" and not node[1].startswith("$"):
            head = node[1].split(".", 1)[0].lower()
            found.add(head)
            if head.endswith("__r"):
                found.add(head[:-3] + "__c")
    return found


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Picklist:
    """A picklist read bare: only ISPICKVAL, TEXT, CASE, ISCHANGED and PRIORVALUE take it (reference §9)."""

    value: str


@dataclass(frozen=True, slots=True)
class MultiPicklist:
    """A multi-select picklist: only INCLUDES, ISBLANK, ISCHANGED and PRIORVALUE take it."""

    values: tuple[str, ...]


@dataclass
class Context:
    """What a formula reads: the record (by API name, as the REST API holds it), the object's fields,
    the clock and the running user's UTC offset (TODAY() is the user's day), the record before an
    update (None on create) and `related` for cross-object references such as `Owner.Username`."""

    record: Mapping[str, object]
    fields: Mapping[str, FieldInfo]
    now: datetime.datetime
    user_offset: datetime.timedelta = datetime.timedelta(0)
    prior: Mapping[str, object] | None = None
    related: Callable[[str], object] = field(default=lambda path: None)


_DAY = Decimal(86400)
_NUMBER_OPERATORS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": operator.pow}


def evaluate(formula: str, context: Context) -> object:
    """The value of `formula` for `context.record`: TRUE, FALSE, a number, a date, text or None (null)."""
    return _Evaluator(context).value(parse(formula))


def fires(formula: str, context: Context) -> bool:
    """Whether a validation rule with this error condition rejects the record: only a TRUE result does
    (a bare comparison with a blank field does not make a rule fire: reference, "Facts checked" #2)."""
    result = evaluate(formula, context)
    if result is not None and not isinstance(result, bool):
        raise FormulaError(f"Formula result is data type ({type(result).__name__}), incompatible with Boolean.")
    return result is True


class _Evaluator:
    def __init__(self, context: Context) -> None:
        self.context = context

    def value(self, node: Node) -> Any:
        match node:
            case ("literal", value):
                return value
            case ("field", name):
                return self.field(name, self.context.record)
            case ("unary", "!", operand):
                return not self.condition(operand)
            case ("unary", sign, operand):
                number = self.value(operand)
                return None if number is None else _number(number) * (-1 if sign == "-" else 1)
            case ("binary", "&&" | "||" as op, left, right):
                return self.logic("AND" if op == "&&" else "OR", [left, right])
            case ("binary", op, left, right):
                return _binary(op, self.value(left), self.value(right))
            case ("call", function, args):
                return self.call(function, args)
        raise FormulaError(f"cannot evaluate {node!r}")

    def field(self, name: str, record: Mapping[str, object]) -> object:
        if "." in name:
            found = self.context.related(name)
            return "" if found is None else found
        info = self.context.fields.get(name.lower())
        if info is None:
            raise FormulaError(f"Field {name} does not exist. Check spelling.")
        if info.formula is not None:    # a formula field is computed when read, for the record at hand
            return _Evaluator(replace(self.context, record=record)).value(parse(info.formula))
        raw = next((value for key, value in record.items() if key.lower() == name.lower()), None)
        return _read(info.type, raw)

    def condition(self, node: Node) -> bool:
        found = self.value(node)
        if found is None:
            raise Undocumented("a blank reached NOT, AND, OR or IF as a condition; Salesforce does not document "
                               "what it does (reference, 'Facts checked' #2)")
        if not isinstance(found, bool):
            raise FormulaError(f"Incorrect parameter type: expected Boolean, received {found!r}")
        return found

    def logic(self, function: str, args: list[Node]) -> bool:
        if not args:
            raise FormulaError(f"Incorrect number of parameters for function '{function}()'")
        values = [self.condition(arg) for arg in args]  # no short cut is documented: every argument counts
        return all(values) if function == "AND" else any(values)

    def call(self, function: str, args: list[Node]) -> Any:  # noqa: C901 - one arm per Salesforce function
        match function, args:
            case "AND" | "OR", _:
                return self.logic(function, args)
            case "NOT", [arg]:
                return not self.condition(arg)
            case "IF", [test, then, otherwise]:
                # Only the branch taken is computed: Help, "Avoid Division by Zero Errors", guards with IF(x = 0, ...)
                return self.value(then if self.condition(test) else otherwise)
            case "CASE", [subject, *pairs] if len(pairs) >= 3 and len(pairs) % 2 == 1:
                found = self.value(subject)
                found = found.value if isinstance(found, Picklist) else found
                for when, then in zip(pairs[:-1:2], pairs[1::2], strict=True):
                    if _binary("=", found, self.value(when)) is True:
                        return self.value(then)
                return self.value(pairs[-1])
            case "ISPICKVAL", [picklist, wanted]:
                found, text = self.value(picklist), self.value(wanted)
                if not isinstance(found, Picklist) or not isinstance(text, str):
                    raise FormulaError("ISPICKVAL takes a picklist field (or its PRIORVALUE) and text")
                return found.value == text
            case "TEXT", [arg]:
                return _text(self.value(arg))
            case "BEGINS", [whole, start]:   # Help, "BEGINS": TRUE when the text begins with the other (case-sensitive)
                return _text(self.value(whole)).startswith(_text(self.value(start)))
            case "ISBLANK" | "ISNULL", [arg]:
                found = self.value(arg)
                if isinstance(found, (bool, Picklist)):  # reference §9: checkboxes never blank; picklists via TEXT()
                    raise FormulaError(f"Incorrect parameter type for function '{function}()'")
                return found is None or found == "" or found == MultiPicklist(())
            case "BLANKVALUE", [arg, substitute]:
                found = self.value(arg)
                return self.value(substitute) if found is None or found == "" else found
            case "INCLUDES", [multi, wanted]:
                found, text = self.value(multi), self.value(wanted)
                if not isinstance(found, MultiPicklist) or not isinstance(text, str):
                    raise FormulaError("INCLUDES takes a multi-select picklist field and a text literal")
                return text in found.values
            case "LEN", [arg]:
                text = self.value(arg)
                if not isinstance(text, str):
                    raise FormulaError("Incorrect parameter type for function 'LEN()'. Expected Text")
                return Decimal(len(text))
            case "MOD", [dividend, divisor]:     # Help, "MOD": the remainder of the division
                left, right = self.value(dividend), self.value(divisor)
                if left is None or right is None:
                    return None
                if _number(right) == 0:
                    raise FormulaRuntimeError("Division by zero")
                return _number(left) % _number(right)
            case "VALUE", [arg]:     # Help, "VALUE": text as a number; text that is not one is an error
                text = self.value(arg)
                if not isinstance(text, str):
                    raise FormulaError("Incorrect parameter type for function 'VALUE()'. Expected Text")
                if not text.strip():
                    return None
                try:
                    return Decimal(text.strip())
                except InvalidOperation as error:
                    raise FormulaRuntimeError(f"VALUE: {text!r} is not a number") from error
            case "FLOOR", [arg]:
                number = self.value(arg)
                return None if number is None else _number(number).to_integral_value(ROUND_FLOOR)
            case "TODAY", []:  # the running user's day (Help, "Tips for Working with Date and Date/Time Formulas")
                return (self.context.now + self.context.user_offset).date()
            case "NOW", []:
                return self.context.now
            case "DATEVALUE", [arg]:  # a date and time's date in GMT (Help, "DATEVALUE")
                moment = self.value(arg)
                if moment is None:
                    return None
                if not isinstance(moment, datetime.datetime):
                    raise FormulaError("Incorrect parameter type for function 'DATEVALUE()'. Expected Date/Time")
                return moment.astimezone(datetime.UTC).date()
            case "DATETIMEVALUE", [arg]:  # text read as a date and time in GMT (Help, "DATETIMEVALUE")
                text = self.value(arg)
                if not isinstance(text, str):
                    raise FormulaError("Incorrect parameter type for function 'DATETIMEVALUE()'. Expected Text")
                return _moment(text.replace(" ", "T")) if text else None
            case "ISNEW", []:  # Help, "ISNEW": TRUE when the formula runs on a record being created
                return self.context.prior is None
            case "ISCHANGED", [("field", name)]:
                # Help, "ISCHANGED": FALSE on a newly created record; TRUE when the value differs from the previous
                # one, a blank and a value included ("the field was blank and now contains any value")
                prior = self.context.prior
                return prior is not None and self.field(name, prior) != self.field(name, self.context.record)
            case "PRIORVALUE", [("field", name)]:
                # Help, "PRIORVALUE": on create, the value of the field rather than null
                return self.field(name, self.context.prior or self.context.record)
        raise FormulaError(f"Incorrect number of parameters for function '{function}()'" if function in FUNCTIONS
                           else f"Unknown function {function}. Check spelling.")


def _read(field_type: str, raw: object) -> object:
    """A field's value as a formula reads it (validation rules have no "treat blanks as zero":
    blank numbers and dates are null, blank text is '')."""
    if field_type == "Checkbox":
        return raw is True or str(raw).lower() == "true"
    if field_type in ("Number", "Currency", "Percent", "Double", "Int"):
        if raw is None or raw == "":
            return None
        number = Decimal(str(raw))
        # A percent reads as a fraction: 25 % is 0.25 (Help, "Tips for Using Number Formula Fields")
        return number / 100 if field_type == "Percent" else number
    if field_type == "Date":
        return None if not raw else datetime.date.fromisoformat(str(raw)[:10])
    if field_type == "DateTime":
        return None if not raw else _moment(str(raw))
    if field_type == "Picklist":
        return Picklist("" if raw is None else str(raw))
    if field_type == "MultiselectPicklist":
        return MultiPicklist(tuple(str(raw).split(";")) if raw else ())
    return "" if raw is None else str(raw)


def _moment(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _number(value: object) -> Decimal:
    if not isinstance(value, Decimal):
        raise FormulaError(f"Incorrect parameter type: expected Number, received {value!r}")
    return value


def _text(value: object) -> str:
    if isinstance(value, Picklist):
        return value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        raise FormulaError("Incorrect parameter type for function 'TEXT()'")
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value)


def _kind(value: object) -> str:
    if isinstance(value, (Picklist, MultiPicklist)):
        raise FormulaError("Field is a picklist field. Picklist fields are only supported in certain functions.")
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, Decimal):
        return "Number"
    if isinstance(value, datetime.datetime):
        return "DateTime"
    if isinstance(value, datetime.date):
        return "Date"
    if isinstance(value, str):
        return "Text"
    raise FormulaError(f"no formula type for {value!r}")


def _binary(op: str, left: object, right: object) -> object:
    kinds = (_kind(left) if left is not None else None, _kind(right) if right is not None else None)
    if None in kinds:
        return None  # null in, null out: validation rules treat blanks as blanks
    if op in COMPARISONS:
        if kinds[0] != kinds[1]:
            raise FormulaError(f"Incorrect parameter type for operator '{op}'. Expected {kinds[0]}, received "
                               f"{kinds[1]}")
        if op in ("=", "=="):
            return left == right
        if op in ("<>", "!="):
            return left != right
        if kinds[0] in ("Boolean", "Text"):
            raise FormulaError(f"Incorrect parameter type for operator '{op}'.")
        ordered: Any = left
        return {"<": ordered < right, "<=": ordered <= right, ">": ordered > right, ">=": ordered >= right}[op]
    return _arithmetic(op, left, right, kinds)


def _arithmetic(op: str, left: Any, right: Any, kinds: tuple[str | None, str | None]) -> object:
    if kinds == ("Number", "Number") and op in _NUMBER_OPERATORS:
        if op == "/" and right == 0:
            raise FormulaRuntimeError("Division by zero")
        return _NUMBER_OPERATORS[op](left, right)
    if op == "&" and kinds == ("Text", "Text"):
        return left + right
    if op == "+" and kinds[0] == "Number" and kinds[1] in ("Date", "DateTime"):
        left, right, kinds = right, left, (kinds[1], kinds[0])
    if op in ("+", "-") and kinds[1] == "Number" and kinds[0] in ("Date", "DateTime"):
        sign = 1 if op == "+" else -1
        try:
            if kinds[0] == "Date":  # a date ignores the number's fraction (Help, "Tips for Working with Date ...")
                return left + datetime.timedelta(days=sign * int(right))
            return left + datetime.timedelta(days=sign * float(right))
        except OverflowError:
            raise FormulaRuntimeError("Date out of range") from None
    if op == "-" and kinds == ("Date", "Date"):
        return Decimal((left - right).days)
    if op == "-" and kinds == ("DateTime", "DateTime"):
        return Decimal(str((left - right).total_seconds())) / _DAY
    raise FormulaError(f"Incorrect parameter type for operator '{op}'. Received {kinds[0]} and {kinds[1]}")
