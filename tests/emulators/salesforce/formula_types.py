"""Type-checking a validation rule's formula at deploy, as Salesforce compiles it.

formula.py finds unknown names and misplaced picklists and parses the formula; this gives every
node of its tree a type, so that a deploy fails as Salesforce's does when a rule does not return
true or false ("Formula result is data type (Number), incompatible with expected data type (true
or false)."), when a function gets an argument of the wrong type ("Incorrect parameter type for
function 'ISPICKVAL()'. Expected Picklist, received Text") or the wrong number of them, and when
an operator mixes types it cannot.
Functions the table does not type are accepted with any arguments, as `ANY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping
from decimal import Decimal

from .formula import COMPARISONS, FieldLookup, FormulaError, Node, parse, resolve

NUMBER, TEXT, BOOLEAN, DATE, DATETIME = "Number", "Text", "Boolean", "Date", "Date/Time"
PICKLIST, MULTI, ANY = "Picklist", "Multi-Select Picklist", "Any"
FIELD_TYPES = {"Number": NUMBER, "Currency": NUMBER, "Percent": NUMBER, "Checkbox": BOOLEAN, "Date": DATE,
               "DateTime": DATETIME, "Picklist": PICKLIST, "MultiselectPicklist": MULTI}
ORDERED = (NUMBER, DATE, DATETIME, TEXT)
_LITERAL_TYPES = {Decimal: NUMBER, str: TEXT, bool: BOOLEAN}


@dataclass(frozen=True, slots=True)
class Signature:
    """Argument types (None: any; the last one repeats when `repeat`) and the result (a type, or an argument's)."""

    params: tuple[frozenset[str] | None, ...]
    result: str | int
    repeat: bool = False
    least: int | None = None


def _types(*names: str) -> frozenset[str]:
    return frozenset(names)


BOOL, NUM, TXT = _types(BOOLEAN), _types(NUMBER), _types(TEXT)
SIGNATURES: dict[str, Signature] = {
    "AND": Signature((BOOL,), BOOLEAN, repeat=True, least=1), "OR": Signature((BOOL,), BOOLEAN, repeat=True, least=1),
    "NOT": Signature((BOOL,), BOOLEAN), "ISPICKVAL": Signature((_types(PICKLIST), TXT), BOOLEAN),
    "INCLUDES": Signature((_types(MULTI), TXT), BOOLEAN), "ISBLANK": Signature((None,), BOOLEAN),
    "ISNULL": Signature((None,), BOOLEAN), "ISCHANGED": Signature((None,), BOOLEAN), "ISNEW": Signature((), BOOLEAN),
    "PRIORVALUE": Signature((None,), 0), "BLANKVALUE": Signature((None, None), 0),
    "NULLVALUE": Signature((None, None), 0), "TEXT": Signature((None,), TEXT), "VALUE": Signature((TXT,), NUMBER),
    "LEN": Signature((TXT,), NUMBER), "TODAY": Signature((), DATE), "NOW": Signature((), DATETIME),
    "DATEVALUE": Signature((_types(TEXT, DATETIME),), DATE), "DATE": Signature((NUM, NUM, NUM), DATE),
    "YEAR": Signature((_types(DATE),), NUMBER), "MONTH": Signature((_types(DATE),), NUMBER),
    "DAY": Signature((_types(DATE),), NUMBER), "ABS": Signature((NUM,), NUMBER),
    "ROUND": Signature((NUM, NUM), NUMBER), "FLOOR": Signature((NUM,), NUMBER),
    "CEILING": Signature((NUM,), NUMBER), "MOD": Signature((NUM, NUM), NUMBER),
    "MAX": Signature((NUM,), NUMBER, repeat=True, least=1), "MIN": Signature((NUM,), NUMBER, repeat=True, least=1),
    "CONTAINS": Signature((TXT, TXT), BOOLEAN), "BEGINS": Signature((TXT, TXT), BOOLEAN),
    "REGEX": Signature((TXT, TXT), BOOLEAN), "UPPER": Signature((TXT,), TEXT), "LOWER": Signature((TXT,), TEXT),
    "TRIM": Signature((TXT,), TEXT), "LEFT": Signature((TXT, NUM), TEXT), "RIGHT": Signature((TXT, NUM), TEXT),
}


def check_condition(formula: str, obj: str, fields_of: FieldLookup) -> list[str]:
    """A validation rule's error condition: [] when it type-checks and returns true or false."""
    try:
        result = _Types(lambda name: _field_type(name, obj, fields_of)).of(parse(formula))
    except FormulaError as error:
        return [str(error)]
    if result not in (BOOLEAN, ANY):
        return [f"Formula result is data type ({result}), incompatible with expected data type (true or false)."]
    return []


def _field_type(reference: str, obj: str, fields_of: FieldLookup) -> str:
    found = resolve(reference, obj, fields_of)
    return ANY if found is None else FIELD_TYPES.get(found.type, TEXT)   # formula.py reports unknown fields


class _Types:
    """The type of each node of formula.parse's tree."""

    def __init__(self, field_type: Callable[[str], str]) -> None:
        self.field_type = field_type

    def of(self, node: Node) -> str:
        match node:
            case ("literal", value):
                return _LITERAL_TYPES.get(type(value), ANY)
            case ("field", name):
                return ANY if name.startswith("$") else self.field_type(name)
            case ("unary", op, operand):
                expected = BOOLEAN if op == "!" else NUMBER
                found = self.of(operand)
                if found not in (expected, ANY):
                    raise FormulaError(f"Incorrect parameter type for operator '{op}'. Expected {expected}, "
                                       f"received {found}")
                return expected
            case ("binary", op, left, right):
                return _operator(op, self.of(left), self.of(right))
            case ("call", name, args):
                types = [self.of(arg) for arg in args]
                if name in ("IF", "CASE"):
                    return _if(types) if name == "IF" else _case(types)
                signature = SIGNATURES.get(name)
                return ANY if signature is None else _apply(name, signature, types)
        raise FormulaError(f"cannot type {node!r}")


def _apply(name: str, signature: Signature, args: list[str]) -> str:
    params = signature.params
    if signature.repeat:
        if len(args) < (signature.least or 0):
            raise FormulaError(f"Incorrect number of parameters for function '{name}()'. Expected "
                                   f"{signature.least}, received {len(args)}")
        params = params[:-1] + (params[-1],) * (len(args) - len(params) + 1)
    elif len(args) != len(params):
        raise FormulaError(f"Incorrect number of parameters for function '{name}()'. Expected {len(params)}, "
                               f"received {len(args)}")
    for expected, actual in zip(params, args, strict=False):
        if expected is not None and actual != ANY and actual not in expected:
            raise FormulaError(f"Incorrect parameter type for function '{name}()'. Expected "
                                   f"{', '.join(sorted(expected))}, received {actual}")
    return args[signature.result] if isinstance(signature.result, int) else signature.result


def _if(args: list[str]) -> str:
    if len(args) != 3:
        raise FormulaError(f"Incorrect number of parameters for function 'IF()'. Expected 3, received {len(args)}")
    if args[0] not in (BOOLEAN, ANY):
        raise FormulaError(f"Incorrect parameter type for function 'IF()'. Expected Boolean, received {args[0]}")
    return _same("IF", args[1], args[2])


def _case(args: list[str]) -> str:
    if len(args) < 4 or len(args) % 2:
        raise FormulaError(f"Incorrect number of parameters for function 'CASE()'. Expected an even number of "
                               f"at least 4, received {len(args)}")
    results = args[2::2] + [args[-1]]
    result = results[0]
    for other in results[1:]:
        result = _same("CASE", result, other)
    return result


def _same(name: str, first: str, second: str) -> str:
    if first == ANY:
        return second
    if second in (first, ANY):
        return first
    raise FormulaError(f"Incorrect parameter type for function '{name}()'. Expected {first}, received {second}")


def _operator(op: str, left: str, right: str) -> str:
    if ANY in (left, right):
        return BOOLEAN if op in ("&&", "||") + COMPARISONS else (right if left == ANY else left)
    if op in ("&&", "||"):
        return _expect(op, (BOOLEAN,), left, right, BOOLEAN)
    if op in COMPARISONS:
        allowed = ORDERED + (BOOLEAN,) if op in ("=", "==", "!=", "<>") else ORDERED
        _expect(op, allowed, left, right, BOOLEAN)
        if left != right:
            raise FormulaError(f"Incorrect parameter type for operator '{op}'. Expected {left}, received {right}")
        return BOOLEAN
    if op == "&":
        return _expect(op, (TEXT,), left, right, TEXT)
    if op in ("*", "/", "^"):
        return _expect(op, (NUMBER,), left, right, NUMBER)
    return _add(op, left, right)


def _add(op: str, left: str, right: str) -> str:
    results: Mapping[tuple[str, str], str] = {
        (NUMBER, NUMBER): NUMBER, (DATE, NUMBER): DATE, (DATETIME, NUMBER): DATETIME, (TEXT, TEXT): TEXT,
    } if op == "+" else {(NUMBER, NUMBER): NUMBER, (DATE, NUMBER): DATE, (DATETIME, NUMBER): DATETIME,
                         (DATE, DATE): NUMBER, (DATETIME, DATETIME): NUMBER}
    found = results.get((left, right)) or (results.get((right, left)) if op == "+" else None)
    if found is None:
        raise FormulaError(f"Incorrect parameter type for operator '{op}'. Expected "
                               f"{'Number, Date, Date/Time' if left in (NUMBER, DATE, DATETIME) else left}, "
                               f"received {right}")
    return found


def _expect(op: str, allowed: tuple[str, ...], left: str, right: str, result: str) -> str:
    for side in (left, right):
        if side not in allowed:
            raise FormulaError(f"Incorrect parameter type for operator '{op}'. Expected "
                                   f"{', '.join(allowed)}, received {side}")
    return result
