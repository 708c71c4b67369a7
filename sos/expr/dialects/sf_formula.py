"""The Salesforce formula dialect: a rule's error condition for a validation rule.

A validation rule rejects a record when its formula is TRUE, so a rule `when` / `require`
becomes `AND(<when>, NOT(<require>))` (`error_condition`). The formula means what
sos.expr.dialects.evaluate means, on Salesforce's own reading of values:

- blank text, picklists and multi-select picklists read as '' in a formula, so `!=`,
  `not in`, and `==` / `in` that a blank could satisfy get an explicit not-blank guard
  (the evaluator's `x != 'a'` is false when x is blank; Salesforce's `x <> 'a'` is true);
- blank numbers and dates are null (validation rules have no "treat blanks as zero"). What a
  comparison with null gives under NOT, AND or OR is not documented (Help, "ISBLANK": use
  `OR(ISBLANK(f), f <> 1)` to catch blanks; salesforce.stackexchange.com q. 48639 shows a bare
  `null <> 100` read as false, nothing shows NOT of it), so a comparison that may meet a blank
  is written `IF(ISBLANK(a), FALSE, a > b)`: FALSE on a blank, as in the evaluator, whatever
  Salesforce does with null;
- a percent field reads as a fraction in a formula (25 % is 0.25: Help, "Tips for Using
  Number Formula Fields"), and sos means the number people type, so it is read as `F * 100`;
- division by a blank or zero is blank in sos and a run-time error that stops the save in
  Salesforce, so a division is written `IF(BLANKVALUE(b, 0) = 0, NULL, a / b)`;
- a checkbox is never blank: `is_blank(checkbox)` and `checkbox == null` are `NOT(checkbox)`;
- picklists (stage, status, picklist fields, and standard text fields that are picklists in
  Salesforce, e.g. LeadSource) are read only through ISPICKVAL or TEXT();
- a date and time compared with, or subtracted from, a date is read as its (GMT) date,
  DATEVALUE(...), as the evaluator compares them by date; `days_since` of a date and time is
  `FLOOR(NOW() - x)`, whole days elapsed, never TODAY() (the user's day) less a GMT date;
- `status.is_converted` tests Status for the converted statuses (IsConverted is whether the
  lead record was converted, a different thing);
- stage order (`stage >= 'proposal'`) is expanded first (expand_stage_order);
- `days_in_stage` is not a Salesforce field: it is the calendar days (GMT) from the day the deal entered its stage
  to today, `DATEVALUE(NOW()) - DATEVALUE(<entered>)` with <entered> = STAGE_ENTERED. Not `TODAY() - ...`:
  TODAY() is the running user's day, DATEVALUE() the GMT one, so the difference would be a day off for part of
  the day west or east of GMT, where an audit (and SOQL, soql.py) counts GMT days;
- text fields whose values Salesforce stores under other names (forecast_category `commit` is ForecastCategoryName
  'Commit') are compared by the stored value (Naming.text_values);
- `is_new()`, `is_changed(f)` and `prior(f)` are ISNEW(), ISCHANGED(F) and PRIORVALUE(F), which
  validation rules may use (Help, "PRIORVALUE"); a picklist's prior value is read as
  ISPICKVAL(PRIORVALUE(F), v) or TEXT(PRIORVALUE(F)), a multi-select one as
  INCLUDES(PRIORVALUE(F), v), as Help shows. A prior owner has no username to read.

StageName and Status are required in Salesforce and never blank, so tests on them get
no not-blank guard.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import ClassVar

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
    Name,
    Op,
    Unary,
    UnaryOp,
)
from sos.expr.annotate import TypedExpr
from sos.expr.dialects.base import Generator, Naming, Rewrite, expand_stage_order, plain
from sos.expr.types import STAGE_OUTCOMES, Kind, Scope

# Characters of formula text, spaces and line breaks included: Salesforce Help, "Formula Field
# Limits" (https://help.salesforce.com/s/articleView?id=platform.formula_field_limits.htm), as
# quoted in shared/reference/salesforce.md §9 ("3,900 characters of formula text"). The compiled
# size limit (5,000 or 15,000 bytes) cannot be computed here; Salesforce reports it on deploy.
FORMULA_LIMIT = 3900

_OPS = {Op.EQ: "=", Op.NE: "<>", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
_PICKLISTS = frozenset({Kind.PICKLIST, Kind.STAGE, Kind.LEAD_STATUS})
_REQUIRED = frozenset({Kind.STAGE, Kind.LEAD_STATUS})  # StageName and Status are never blank
_TEXTUAL = frozenset({Kind.TEXT, Kind.USER, Kind.REFERENCE, *_PICKLISTS})  # blank reads as ''
_ATTRIBUTES = {
    "is_open": "NOT(IsClosed)",
    "is_won": "IsWon",
    "is_lost": "AND(IsClosed, NOT(IsWon))",
    "is_closed": "IsClosed",
}
_ATOM = 8

# When the deal entered its stage. LastStageChangeDate (Opportunity, API 52.0+; reference, "Facts checked" #5) is
# read through BLANKVALUE with CreatedDate, as the deal-aging field (backends/salesforce/aging.py) reads it: a deal
# whose stage never changed has been in it since it was created.
STAGE_ENTERED = ("LastStageChangeDate", "CreatedDate")
DAYS_IN_STAGE = "days_in_stage"


def quote(text: str) -> str:
    """A string literal as formulas and SOQL both write it: single quotes, backslash escapes."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f"'{escaped}'"


def number(value: int | float) -> str:
    """A number as written: never in exponent form."""
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else f"{text}.0"
    return str(value)


def username_reference(object: str, api_name: str, *, formula: bool) -> str:
    """How to read the username of the user a lookup points at (sos names users by username).

    `OwnerId` → `Owner.Username`; a custom `Sponsor__c` → `Sponsor__r.Username`. A lead's
    owner may be a queue, so a formula reads it as `Owner:User.Username` (SOQL's polymorphic
    `Owner` has `Username`).
    """
    relation = api_name[:-2] if api_name.endswith("Id") else api_name.removesuffix("__c") + "__r"
    if formula and object == "lead" and relation == "Owner":
        relation = "Owner:User"
    return f"{relation}.Username"


class SalesforceGenerator(Generator):
    """What the Salesforce dialects (formula, SOQL) share: the Naming the Salesforce backend supplies, read as
    field keys → API names and stage and lead status keys → the values Salesforce stores."""

    def __init__(self, scope: Scope, naming: Naming) -> None:
        super().__init__(scope)
        self.api_names = naming.fields
        self.stage_values = naming.stage_values
        self.status_values = naming.status_values
        self.standard_picklists = naming.picklists
        self.compound = naming.compound

        self.text_values = naming.text_values

    def kind(self, node: Expr) -> Kind | None:
        found = self.type_of(node)
        return found.kind if found else None

    def is_days_in_stage(self, node: Expr) -> bool:
        """Whether `node` reads days_in_stage, which Salesforce counts from STAGE_ENTERED rather than holds."""
        assert self.scope is not None
        return (isinstance(node, Name) and node.name == DAYS_IN_STAGE and self.scope.object == "opportunity"
                and node.name not in self.api_names)

    def stored_value(self, field: Expr, literal: Literal, value: str) -> str:
        """The value Salesforce stores for a stage or status key, or a text field's value (other text as written)."""
        if isinstance(field, Name) and field.name in self.text_values:
            stored = self.text_values[field.name]
            if value not in stored:
                return self.unsupported(literal, f"Salesforce has no {field.name} '{value}'; it has "
                                                 f"{', '.join(repr(v) for v in stored)}")
            return stored[value]
        kind = self.kind(field)
        if kind is Kind.STAGE:
            if value not in self.stage_values:
                return self.unsupported(literal, f"no Salesforce stage value is known for stage '{value}'")
            return self.stage_values[value]
        if kind is Kind.LEAD_STATUS:
            if value not in self.status_values:
                return self.unsupported(literal, f"no Salesforce status value is known for lead status '{value}'")
            return self.status_values[value]
        return value


def _precedence(node: Expr) -> int:
    """How tightly `node`'s formula text binds; operands binding looser get parentheses."""
    match node:
        case Compare() | In():
            return 4
        case Arith(op=ArithOp.ADD | ArithOp.SUB) | Call(func="days_since"):  # days_since may be `TODAY() - d`
            return 5
        case Arith(op=ArithOp.MUL):
            return 6
        case Unary(op=UnaryOp.NEG):
            return 7
        case Literal(value=int() | float() as value) if not isinstance(value, bool) and value < 0:
            return 7
    return _ATOM


class SalesforceFormula(SalesforceGenerator):
    """AST → a Salesforce formula, with the API names and stored picklist values of the backend's Naming."""

    DIALECT = "a Salesforce formula"
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = (expand_stage_order,)
    FUNCTIONS: ClassVar = {
        "today": lambda g, n: "TODAY()",
        "now": lambda g, n: "NOW()",
        "is_blank": lambda g, n: g.is_blank(n.args[0]),
        "days_since": lambda g, n: g.days_since(n.args[0]),
        "len": lambda g, n: f"LEN({g.gen(n.args[0])})",
        "includes": lambda g, n: g.includes(n),
        "is_new": lambda g, n: "ISNEW()",
        "is_changed": lambda g, n: f"ISCHANGED({g.field(n.args[0])})",
        "prior": lambda g, n: g.prior(n),
    }

    @property
    def object(self) -> str:
        assert self.scope is not None
        return self.scope.object

    # -- entry points -------------------------------------------------------------------

    def generate(self, expr: Expr | TypedExpr) -> str:
        text = super().generate(expr)
        self.check_size(text, plain(expr).span)
        return text

    def error_condition(self, when: Expr | TypedExpr | None, require: Expr | TypedExpr) -> str:
        """The formula of a validation rule that rejects records where `when` holds and `require` does not.

        Raises SosError listing everything either expression cannot say, or saying by how
        much the formula is over Salesforce's limit.
        """
        parts = [part for part in (when, require) if part is not None]
        texts: dict[int, str] = {}
        problems: list[Diagnostic] = []
        for part in parts:
            try:
                texts[id(part)] = super().generate(part)
            except SosError as error:
                problems.extend(error.diagnostics)
        if problems:
            raise SosError(sorted(problems, key=Diagnostic.sort_key))
        formula = f"NOT({texts[id(require)]})"
        if when is not None:
            formula = f"AND({texts[id(when)]}, {formula})"
        biggest = max(parts, key=lambda part: len(texts[id(part)]))
        self.check_size(formula, plain(biggest).span)
        return formula

    def check_size(self, formula: str, span: Span) -> None:
        if len(formula) > FORMULA_LIMIT:
            over = len(formula) - FORMULA_LIMIT
            raise SosError(
                Diagnostic(
                    span,
                    f"this rule is too big for a Salesforce validation rule: its formula is {len(formula):,} "
                    f"characters, {over:,} over the limit of {FORMULA_LIMIT:,}",
                    "formula-too-long",
                    why="Salesforce refuses formulas longer than 3,900 characters",
                    fix="split it into several smaller rules",
                )
            )

    # -- helpers ----------------------------------------------------------------------

    def is_picklist(self, node: Expr) -> bool:
        """Whether `node` is read only through ISPICKVAL or TEXT(): a picklist, stage or status, or a
        standard field that is a picklist in Salesforce though sos reads it as text (LeadSource)."""
        kind = self.kind(node)
        if kind in _PICKLISTS:
            return True
        field = _field_read(node)
        return kind is Kind.TEXT and field is not None and self.api_names.get(field.name) in self.standard_picklists

    def reference(self, node: Expr) -> str:
        """What ISPICKVAL, INCLUDES and ISBLANK take for a field read: its API name, or PRIORVALUE(<API name>)."""
        field = _field_read(node)
        if field is None:
            return self.unsupported(node, "a Salesforce formula needs a field here")
        return self.field(field) if field is node else f"PRIORVALUE({self.field(field)})"

    def read(self, node: Expr) -> str:
        """A field read as a value: a percent as the number people type, a picklist through TEXT()."""
        reference = self.reference(node)
        if self.is_percent(node):
            return f"{reference} * 100"
        return f"TEXT({reference})" if self.is_picklist(node) else reference

    def prior(self, node: Call) -> str:
        if self.kind(node) in (Kind.USER, Kind.MULTI_PICKLIST):
            what = "user" if self.kind(node) is Kind.USER else "multi-select picklist, but in includes(),"
            return self.unsupported(node, f"a Salesforce formula cannot read the prior value of a {what} here")
        return self.read(node)

    def field(self, node: Name) -> str:
        """The API name `node` reads (a picklist bare, not through TEXT())."""
        if self.is_days_in_stage(node):
            return self.unsupported(node, "days_in_stage is counted from LastStageChangeDate, not a field "
                                          "a Salesforce formula can name here")
        api_name = self.api_names.get(node.name)
        if api_name is None:
            return self.unsupported(node, f"no Salesforce API name is known for field '{node.name}'")
        if api_name in self.compound:
            return self.unsupported(
                node,
                f"a Salesforce validation rule cannot read a {self.object}'s {api_name} (a compound field)",
            )
        return api_name

    def is_percent(self, node: Expr) -> bool:
        found = self.type_of(node)
        return _field_read(node) is not None and found is not None and found.percent

    def nullable(self, node: Expr) -> bool:
        """Whether `node` can be null in a formula: a number, date or date and time that may be blank."""
        match node:
            case Name():
                return self.kind(node) in (Kind.NUMBER, Kind.DATE, Kind.DATETIME) and not self.is_days_in_stage(node)
            case Arith(op=ArithOp.DIV):
                return True
            case Arith(left=left, right=right):
                return self.nullable(left) or self.nullable(right)
            case Unary(op=UnaryOp.NEG, operand=operand) | Call(func="days_since" | "prior", args=(operand,)):
                return self.nullable(operand)
        return False

    def operand(self, node: Expr, needs: int) -> str:
        text = self.gen(node)
        precedence = 6 if self.is_percent(node) else _precedence(node)
        return f"({text})" if precedence < needs else text

    def date_operand(self, node: Expr, needs: int) -> str:
        """`node` read as a date: a date and time becomes DATEVALUE(...) (its date in GMT)."""
        if self.kind(node) is Kind.DATETIME:
            return f"DATEVALUE({self.gen(node)})"
        return self.operand(node, needs)

    def as_text(self, node: Expr) -> str:
        """`node` where text is compared: a user is compared by username."""
        if isinstance(node, Name) and self.kind(node) is Kind.USER and node.name in self.api_names:
            return username_reference(self.object, self.api_names[node.name], formula=True)
        return self.gen(node)

    def not_blank(self, node: Expr) -> str:
        return f"NOT(ISBLANK({self.as_text(node)}))"

    # -- nodes ----------------------------------------------------------------------

    def gen_literal(self, node: Literal) -> str:
        value = node.value
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, str):
            return quote(value)
        if isinstance(value, datetime.datetime):  # made by rewrites, never parsed
            return f"DATETIMEVALUE('{value:%Y-%m-%d %H:%M:%S}')"
        if isinstance(value, datetime.date):
            return f"DATE({value.year}, {value.month}, {value.day})"
        return number(value)

    def gen_name(self, node: Name) -> str:
        if self.is_days_in_stage(node):
            return f"(DATEVALUE(NOW()) - DATEVALUE(BLANKVALUE({', '.join(STAGE_ENTERED)})))"
        return self.read(node)

    def gen_attribute(self, node: Attribute) -> str:
        assert self.scope is not None
        if node.attr == "is_converted":
            converted = [Literal(node.span, status.key) for status in self.scope.statuses if status.converted]
            return self.gen(In(node.span, node.value, ListExpr(node.span, tuple(converted))))
        if not isinstance(node.value, Name):   # prior(stage).is_open: IsClosed and IsWon are the stage now
            outcomes = STAGE_OUTCOMES.get(node.attr, ())
            chosen = [Literal(node.span, stage.key) for stage in self.scope.stages if stage.outcome in outcomes]
            return self.gen(In(node.span, node.value, ListExpr(node.span, tuple(chosen))))
        text = _ATTRIBUTES.get(node.attr)
        if text is None:
            return self.unsupported(node, f"a Salesforce formula has no {node.attr}")
        return text

    def gen_list_expr(self, node: ListExpr) -> str:
        return self.unsupported(node, "a Salesforce formula has no lists outside 'in'")

    def gen_unary(self, node: Unary) -> str:
        if node.op is UnaryOp.NOT:
            return f"NOT({self.gen(node.operand)})"
        return f"-{self.operand(node.operand, 7)}"

    def gen_bool_op(self, node: BoolOp) -> str:
        return f"{node.op.value.upper()}({', '.join(self.gen(operand) for operand in node.operands)})"

    def gen_arith(self, node: Arith) -> str:
        if node.op is ArithOp.DIV:
            divisor = node.right
            quotient = f"{self.operand(node.left, 6)} / {self.operand(divisor, 7)}"
            if isinstance(divisor, Literal) and divisor.value:
                return f"({quotient})"
            return f"IF(BLANKVALUE({self.gen(divisor)}, 0) = 0, NULL, {quotient})"
        precedence = _precedence(node)
        read = self.operand
        if {self.kind(node.left), self.kind(node.right)} == {Kind.DATE, Kind.DATETIME}:
            read = self.date_operand  # a date minus a date and time: the days between their dates
        return f"{read(node.left, precedence)} {node.op.value} {read(node.right, precedence + 1)}"

    def days_since(self, arg: Expr) -> str:
        if self.kind(arg) is Kind.DATETIME:
            return f"FLOOR(NOW() - {self.operand(arg, 6)})"
        return f"TODAY() - {self.operand(arg, 6)}"

    def gen_compare(self, node: Compare) -> str:
        left, right, op = node.left, node.right, node.op
        if _is_null(left) or _is_null(right):
            test = self.is_blank(right if _is_null(left) else left)
            return test if op is Op.EQ else f"NOT({test})"
        kinds = {self.kind(left), self.kind(right)}
        if Kind.BOOLEAN in kinds:
            return self.compare_booleans(node)
        for keyed, other in ((left, right), (right, left)):
            if self.is_picklist(keyed) and isinstance(other, Literal) and isinstance(other.value, str):
                return self.picklist_equals(node, keyed, other)
        if kinds & _TEXTUAL:
            if op not in (Op.EQ, Op.NE):
                return self.unsupported(node, "a Salesforce formula cannot order these values")
            return self.compare_text(node)
        read = self.date_operand if kinds == {Kind.DATE, Kind.DATETIME} else self.operand
        comparison = f"{read(left, 5)} {_OPS[op]} {read(right, 5)}"
        blanks = [self.is_blank(side) for side in (left, right) if self.nullable(side)]
        if not blanks:
            return comparison
        either = blanks[0] if len(blanks) == 1 else f"OR({', '.join(blanks)})"
        return f"IF({either}, FALSE, {comparison})"

    def compare_booleans(self, node: Compare) -> str:
        """Checkboxes and conditions: `x == true` is `x`; neither side is ever blank."""
        left, right = node.left, node.right
        if isinstance(left, Literal) and isinstance(right, Literal):
            return "TRUE" if (left.value == right.value) == (node.op is Op.EQ) else "FALSE"
        for literal, other in ((left, right), (right, left)):
            if isinstance(literal, Literal):
                holds = (node.op is Op.EQ) == bool(literal.value)
                return self.gen(other) if holds else f"NOT({self.gen(other)})"
        return f"{self.operand(left, 5)} {_OPS[node.op]} {self.operand(right, 5)}"

    def picklist_equals(self, node: Compare, keyed: Expr, literal: Literal) -> str:
        if _field_read(keyed) is None or node.op not in (Op.EQ, Op.NE):
            return self.unsupported(node, "a Salesforce formula can only test a picklist field for a value")
        if literal.value == "":  # ISPICKVAL(X, '') is true on a blank; in sos a blank equals nothing
            return "FALSE" if node.op is Op.EQ else self.not_blank(keyed)
        test = f"ISPICKVAL({self.reference(keyed)}, {quote(self.stored_value(keyed, literal, str(literal.value)))})"
        if node.op is Op.EQ:
            return test
        if self.kind(keyed) in _REQUIRED:
            return f"NOT({test})"
        return f"AND({self.not_blank(keyed)}, NOT({test}))"

    def compare_text(self, node: Compare) -> str:
        """Text, users and lookups: blank is '' in a formula, so blanks are ruled out explicitly."""
        sides = (node.left, node.right)
        comparison = f"{self.as_text(node.left)} {_OPS[node.op]} {self.as_text(node.right)}"
        names_a_value = any(isinstance(s, Literal) and s.value != "" for s in sides)
        if node.op is Op.EQ and names_a_value:  # a blank never equals a non-empty value
            return comparison
        guards = [
            self.not_blank(side) for side in sides if not isinstance(side, Literal) and self.kind(side) not in _REQUIRED
        ]
        return f"AND({', '.join([*guards, comparison])})" if guards else comparison

    def gen_in(self, node: In) -> str:
        tests = [self.gen(Compare(item.span, Op.EQ, node.operand, item)) for item in node.options.items]
        found = "FALSE" if not tests else tests[0] if len(tests) == 1 else f"OR({', '.join(tests)})"
        if not node.negated:
            return found
        guard = ""
        if not isinstance(node.operand, Literal) and self.kind(node.operand) not in {Kind.BOOLEAN, *_REQUIRED}:
            guard = self.not_blank(node.operand)  # the evaluator's `not in` is false for a blank
        if not tests:
            return guard or "TRUE"
        return f"AND({guard}, NOT({found}))" if guard else f"NOT({found})"

    def is_blank(self, arg: Expr) -> str:
        if self.kind(arg) is Kind.BOOLEAN:  # a checkbox is never blank; unchecked counts as blank
            return f"NOT({self.gen(arg)})"
        if self.is_percent(arg):
            return f"ISBLANK({self.reference(arg)})"
        return f"ISBLANK({self.gen(arg)})"

    def includes(self, node: Call) -> str:
        field, value = node.args
        if _field_read(field) is None:
            return self.unsupported(field, "INCLUDES needs a multi-select picklist field")
        if not (isinstance(value, Literal) and isinstance(value.value, str)):
            return self.unsupported(value, "INCLUDES needs the value written in the rule, in quotes")
        return f"INCLUDES({self.reference(field)}, {quote(value.value)})"


def _field_read(node: Expr) -> Name | None:
    """The field `node` reads, now (`f`) or before the save (`prior(f)`); None for anything computed."""
    match node:
        case Name():
            return node
        case Call(func="prior", args=(Name() as field,)):
            return field
    return None


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.value is None
