"""A modest Salesforce formula checker: tokens, function names, field references, picklists.

It does not evaluate or type-check; it finds what makes a deploy fail most often:
unknown fields ("Field X does not exist. Check spelling."), unknown functions,
unbalanced parentheses, and picklist fields used outside ISPICKVAL/TEXT/CASE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from .org import FieldInfo

MAX_FORMULA_LENGTH = 3900

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)
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
""".split())

LITERALS = frozenset({"TRUE", "FALSE", "NULL"})
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


@dataclass
class _Frame:
    function: str
    arg: int = 0


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


def check(formula: str, obj: str, fields_of: FieldLookup) -> list[str]:
    """Problems with a formula on object `obj`; empty if it would compile as far as we can tell."""
    if not formula.strip():
        return ["Required field is missing: errorConditionFormula"]
    if len(formula) > MAX_FORMULA_LENGTH:
        return [f"Formula is too long ({len(formula)} characters). Maximum length is 3,900 characters."]
    tokens = tokenize(formula)
    if isinstance(tokens, str):
        return [tokens]
    problems: list[str] = []
    stack: list[_Frame] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        preceding = tokens[index - 1] if index > 0 else None
        if token.kind == "op":
            if token.value == "(":
                function = preceding.value.upper() if preceding is not None and preceding.kind == "name" else ""
                stack.append(_Frame(function))
            elif token.value == ")":
                if not stack:
                    return ["Syntax error. Extra ')'"]
                stack.pop()
            elif token.value == "," and stack:
                stack[-1].arg += 1
            continue
        if token.kind != "name":
            continue
        if following is not None and following.value == "(":
            if token.value.upper() not in FUNCTIONS:
                problems.append(f"Unknown function {token.value}. Check spelling.")
            continue
        if token.value.upper() in LITERALS:
            continue
        if token.value.startswith("$"):
            if token.value.split(".", 1)[0].upper() not in GLOBALS:
                problems.append(f"Field {token.value} does not exist. Check spelling.")
            continue
        found = resolve(token.value, obj, fields_of)
        if found is None:
            problems.append(f"Field {token.value} does not exist. Check spelling.")
            continue
        if found.type in ("Picklist", "MultiselectPicklist"):
            slots = PICKLIST_SLOTS if found.type == "Picklist" else MULTI_PICKLIST_SLOTS
            alone = (preceding is not None and preceding.value in ("(", ",")
                     and following is not None and following.value in (")", ","))
            frame = stack[-1] if stack else None
            positions = slots.get(frame.function, frozenset()) if frame is not None else frozenset()
            allowed = frame is not None and alone and frame.function in slots and (
                positions is None or frame.arg in positions)
            if not allowed:
                problems.append(f"Field {token.value} is a picklist field. Picklist fields are only supported in "
                                "certain functions.")
    if stack:
        problems.append("Syntax error. Missing ')'")
    return _unique(problems)


def resolve(reference: str, obj: str, fields_of: FieldLookup) -> FieldInfo | None:
    """Follow `Account.Owner.Email` from `obj` through relationship names to the final field."""
    *hops, last = reference.split(".")
    current = obj
    for hop in hops:
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
    """Lower-case names of the plain (same-object) field references in a formula."""
    tokens = tokenize(formula)
    if isinstance(tokens, str):
        return set()
    found = set()
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "name" and not (following is not None and following.value == "(") \
                and not token.value.startswith("$") and token.value.upper() not in LITERALS:
            head = token.value.split(".", 1)[0].lower()
            found.add(head)
            if head.endswith("__r"):
                found.add(head[:-3] + "__c")
    return found


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
