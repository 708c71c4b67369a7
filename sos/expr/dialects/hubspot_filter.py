"""The HubSpot search dialect: a check's condition → the `filterGroups` of a CRM search (an OR of groups, each an
AND of filters), so HubSpot finds the records that break it and sos reads only those.

Every filter here stands for "the property has a value and …": HubSpot's EQ, IN, LT … match no record without the
property (the search guide: HAS_PROPERTY / NOT_HAS_PROPERTY are how blanks are found), and NEQ / NOT_IN are always
sent beside HAS_PROPERTY, so HubSpot's undocumented reading of NEQ for a blank property never matters. A negation
becomes the blanks or the complement (`not (amount > 5)` is NOT_HAS_PROPERTY amount, or amount LTE 5), as the
evaluator reads it. The condition is normalised to disjunctive normal form.

HubSpot compares text without regard to case, so EQ / IN on text find a superset of the evaluator's matches (the
caller evaluates what comes back); NEQ, NOT_IN and orderings on text would find fewer, and are refused.

Sources: developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm ("Filter search results": operators
EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN;
"Limits": "a maximum of five filterGroups with up to six filters in each group, with a maximum of 18 filters in
total"; date values as milliseconds since the epoch, a date property holding midnight UTC); booleans are the strings
"true" / "false" (the properties guide, `bool` type). The 2024 changelog's 10 a group and 25 in all are not used: the
stricter limits hold everywhere.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import product
from typing import Any

from sos.errors import Diagnostic, SosError
from sos.expr.annotate import TypedExpr
from sos.expr.ast import Arith, ArithOp, Attribute, BoolOp, Call, Compare, Expr, In, ListExpr, Literal, Logic, \
    Name, Op, Unary, UnaryOp
from sos.expr.dialects.base import MIRRORED, expand_stage_order, plain
from sos.expr.typecheck import infer_type
from sos.expr.types import STAGE_OUTCOMES, Kind, Scope

MAX_GROUPS, MAX_GROUP_FILTERS, MAX_FILTERS = 5, 6, 18

Filter = tuple[str, str, tuple[str, ...]]   # (propertyName, operator, values): one value, several (IN) or none
Group = frozenset[Filter]                    # filters that all hold
Dnf = list[Group]                            # groups any of which holds; [] never holds, [frozenset()] always

_OPS = {Op.EQ: "EQ", Op.NE: "NEQ", Op.LT: "LT", Op.LE: "LTE", Op.GT: "GT", Op.GE: "GTE"}
_COMPLEMENT = {"EQ": "NEQ", "NEQ": "EQ", "IN": "NOT_IN", "NOT_IN": "IN", "LT": "GTE", "GTE": "LT", "LTE": "GT",
               "GT": "LTE"}
# Kinds whose stored values HubSpot compares exactly as the evaluator does (numbers, instants, ids, option values).
_EXACT = frozenset({Kind.NUMBER, Kind.DATE, Kind.DATETIME, Kind.BOOLEAN, Kind.STAGE, Kind.LEAD_STATUS})
_WIDEST = 64   # groups an intermediate form may reach before the condition is refused as too large


@dataclass(frozen=True)
class FilterNaming:
    """What the portal calls what a condition reads. A stage key names one stage in each pipeline that has it, and
    a lead status key may stand for several stored option values, so both map to every stored value."""

    fields: Mapping[str, str]                                                 # field key → property name
    stage_ids: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # stage key → dealstage ids
    status_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # status key → hs_lead_status values


class HubSpotFilter:
    """A condition on `scope`'s object → filterGroups, or SosError saying why the search cannot say it."""

    def __init__(self, scope: Scope, naming: FilterNaming, *, today: datetime.date) -> None:
        self.scope, self.naming, self.today = scope, naming, today
        self.problems: list[Diagnostic] = []
        self.kinds: dict[str, Kind] = {}     # property name → the kind of the field it holds

    def filter_groups(self, condition: Expr | TypedExpr, *,
                      within: tuple[Filter, ...] = ()) -> list[dict[str, Any]] | None:
        """The filterGroups matching the records where `condition` holds (and every filter of `within`): [] for every
        record (HubSpot's search without filters), None when no record can match (no search at all)."""
        self.problems = []
        found = self.dnf(expand_stage_order(plain(condition), self.scope))
        groups = _simplified([group | frozenset(within) for group in found])
        if not self.problems:
            self.check_limits(condition, groups)
        if self.problems:
            raise SosError(sorted(self.problems, key=Diagnostic.sort_key))
        if not groups:
            return None
        return [{"filters": [_filter(f) for f in sorted(group)]} for group in groups if group]

    def check_limits(self, condition: Expr | TypedExpr, groups: Dnf) -> None:
        span = plain(condition).span
        if len(groups) > MAX_GROUPS or any(len(g) > MAX_GROUP_FILTERS for g in groups) \
                or sum(map(len, groups)) > MAX_FILTERS:
            self.unsupported(span, f"it needs {len(groups)} filter groups of {sum(map(len, groups))} filters; "
                                   f"HubSpot's search takes at most {MAX_GROUPS} groups of {MAX_GROUP_FILTERS}, "
                                   f"{MAX_FILTERS} in all")
        for group in groups:
            for name, operator, _ in group:
                if self.kinds.get(name, Kind.TEXT) not in _EXACT and operator not in ("EQ", "IN", "HAS_PROPERTY",
                                                                                        "NOT_HAS_PROPERTY"):
                    self.unsupported(span, f"HubSpot compares text without regard to case, so its {operator} on "
                                           f"{name} would miss records the check counts")
                    return

    def unsupported(self, span: Any, message: str) -> Dnf:
        self.problems.append(Diagnostic(span, message, "unsupported"))
        return []

    def kind(self, node: Expr) -> Kind | None:
        found = infer_type(node, self.scope)
        return None if found is None else found.kind

    # -- the condition's parts ------------------------------------------------------------

    def dnf(self, node: Expr) -> Dnf:  # noqa: C901 - one arm per expression node type
        match node:
            case Literal(value=bool() as holds):
                return [frozenset()] if holds else []
            case Name() if self.kind(node) is Kind.BOOLEAN:
                return [frozenset({(self.property(node), "EQ", ("true",))})]
            case Unary(op=UnaryOp.NOT, operand=operand):
                return self.negated(self.dnf(operand))
            case BoolOp(op=Logic.AND, operands=operands):
                return self.conjunction([self.dnf(o) for o in operands], node)
            case BoolOp(operands=operands):
                return _simplified([g for o in operands for g in self.dnf(o)])
            case Attribute(value=Name() as value, attr=attr):
                return self.dnf(In(node.span, value, ListExpr(node.span, tuple(
                    Literal(node.span, key) for key in self.keys_with(attr)))))
            case Compare():
                return self.compare(node)
            case In():
                return self.within(node)
            case Call(func="is_blank", args=[Name() as arg]):
                if self.kind(arg) is Kind.BOOLEAN:
                    return self.negated(self.dnf(arg))
                return [frozenset({(self.property(arg), "NOT_HAS_PROPERTY", ())})]
            case Call(func="is_blank"):
                return self.unsupported(node.span, "HubSpot's search can only test a property for a blank value")
            case Call(func=func):
                return self.unsupported(node.span, f"HubSpot's search has no {func}()")
        return self.unsupported(node.span, "HubSpot's search compares a property with a value")

    def keys_with(self, attr: str) -> list[str]:
        if attr == "is_converted":
            return [status.key for status in self.scope.statuses if status.converted]
        return [stage.key for stage in self.scope.stages if stage.outcome in STAGE_OUTCOMES.get(attr, ())]

    def negated(self, found: Dnf) -> Dnf:
        """not (g1 or g2 …) = (not g1) and (not g2) …, each `not g` the OR of its filters' negations."""
        return self.conjunction([[g for f in group for g in _negated(f)] for group in found], None)

    def conjunction(self, parts: list[Dnf], node: Expr | None) -> Dnf:
        result: Dnf = [frozenset()]
        for part in parts:
            result = _simplified([a | b for a, b in product(result, part)])
            if len(result) > _WIDEST:
                return self.unsupported(node.span if node else None, "this condition has too many alternatives "
                                        "for HubSpot's search")
        return result

    def property(self, node: Name) -> str:
        name = self.naming.fields.get(node.name)
        if name is None:
            self.unsupported(node.span, f"HubSpot holds no property for '{node.name}'")
            return "?"
        kind = self.kind(node)
        self.kinds[name] = kind if kind is not None else Kind.TEXT
        return name

    def compare(self, node: Compare) -> Dnf:
        left, right, op = node.left, node.right, node.op
        if not isinstance(left, Name) and isinstance(right, Name):
            left, right, op = right, left, MIRRORED[op]
        if not isinstance(left, Name):
            return self.unsupported(node.span, _not_a_property(left))
        if isinstance(right, Literal) and right.value is None:
            return self.blank(node, left, op)
        if self.kind(left) is Kind.BOOLEAN:
            return self.checkbox(node, left, op, right)
        if isinstance(right, Name):
            return self.unsupported(node.span, "HubSpot's search cannot compare two properties")
        if self.kind(left) in (Kind.STAGE, Kind.LEAD_STATUS):
            return self.keyed(node, left, op, right)
        if self.kind(left) in (Kind.DATE, Kind.DATETIME):
            return self.on_days(node, left, op, right)
        value = self.value(right, left)
        if value is None:
            return []
        name = self.property(left)
        if op is Op.NE:
            return [frozenset({(name, "NEQ", (value,)), (name, "HAS_PROPERTY", ())})]
        return [frozenset({(name, _OPS[op], (value,))})]

    def blank(self, node: Compare, field: Name, op: Op) -> Dnf:
        """`x == null` is is_blank(x), `x != null` its negation; ordering against null never holds."""
        found = self.dnf(Call(node.span, "is_blank", (field,), node.span))
        return found if op is Op.EQ else self.negated(found) if op is Op.NE else []

    def checkbox(self, node: Compare, field: Name, op: Op, value: Expr) -> Dnf:
        if not (isinstance(value, Literal) and isinstance(value.value, bool) and op in (Op.EQ, Op.NE)):
            return self.unsupported(node.span, "HubSpot's search compares a checkbox only with true or false")
        holds = self.dnf(field)
        return holds if (op is Op.EQ) == value.value else self.negated(holds)

    def keyed(self, node: Compare, field: Name, op: Op, value: Expr) -> Dnf:
        """A stage or lead status against a key: any of the stored values the key stands for."""
        if op not in (Op.EQ, Op.NE):   # a stage (lead statuses are not ordered) that expand_stage_order left:
            return []                   # no stage of the scope, so never before or after one
        found = self.within(In(node.span, field, ListExpr(node.span, (value,))))
        return found if op is Op.EQ else self.conjunction([self.negated(found), self.has(field)], node)

    def has(self, field: Name) -> Dnf:
        return [frozenset({(self.property(field), "HAS_PROPERTY", ())})]

    def on_days(self, node: Compare, field: Name, op: Op, day: Expr) -> Dnf:
        """A date or a date and time against a day compares days (the evaluator): `created < d` is before d's
        midnight UTC, `created <= d` before the next one. A date property holds midnight UTC, but closedate is a
        date and time in HubSpot, so a day is always a range of instants."""
        found = self.day(day)
        if found is None:
            return []
        name = self.property(field)
        if found == datetime.date.max:
            return self.unsupported(day.span, "this day is past the calendar HubSpot's search reads")
        start, end = (_millis(found), _millis(found + datetime.timedelta(days=1)))
        on_day = frozenset({(name, "GTE", (start,)), (name, "LT", (end,))})
        by_op: dict[Op, Dnf] = {
            Op.LT: [frozenset({(name, "LT", (start,))})], Op.LE: [frozenset({(name, "LT", (end,))})],
            Op.GT: [frozenset({(name, "GTE", (end,))})], Op.GE: [frozenset({(name, "GTE", (start,))})],
            Op.EQ: [on_day], Op.NE: [frozenset({(name, "LT", (start,))}), frozenset({(name, "GTE", (end,))})]}
        return by_op[op]

    def within(self, node: In) -> Dnf:
        if not isinstance(node.operand, Name):
            return self.unsupported(node.span, "HubSpot's search tests a property for a list of values")
        operand = node.operand
        if self.kind(operand) is Kind.BOOLEAN:
            return self.unsupported(node.span, "HubSpot's search compares a checkbox only with true or false")
        values = tuple(dict.fromkeys(v for item in node.options.items for v in self.values(item, operand)))
        if self.problems:
            return []
        name = self.property(operand)
        found: Dnf = [frozenset({(name, "IN", values)})] if values else []
        return self.conjunction([self.negated(found), self.has(operand)], node) if node.negated else found

    def values(self, item: Expr, field: Name) -> tuple[str, ...]:
        """The stored values a list item stands for: every dealstage id of a stage key, every option of a status."""
        kind = self.kind(field)
        if kind in (Kind.STAGE, Kind.LEAD_STATUS) and isinstance(item, Literal) and isinstance(item.value, str):
            stored = self.naming.stage_ids if kind is Kind.STAGE else self.naming.status_values
            return stored.get(item.value, (item.value,))
        value = self.value(item, field)
        return () if value is None else (value,)

    def value(self, node: Expr, field: Name) -> str | None:
        """A value compared with `field`, as HubSpot stores and compares it."""
        kind = self.kind(field)
        if kind in (Kind.DATE, Kind.DATETIME):
            self.unsupported(node.span, "HubSpot's search compares a date with <, <=, ==, !=, >= or >, not a list")
            return None
        match node:
            case Literal(value=bool()):
                pass
            case Literal(value=int() | float() as number) if kind is Kind.NUMBER:
                return _number(number)
            case Unary(op=UnaryOp.NEG, operand=Literal(value=int() | float() as number)) \
                    if kind is Kind.NUMBER and not isinstance(number, bool):
                return _number(-number)
            case Literal(value=""):
                self.unsupported(node.span, "HubSpot's search cannot tell empty text from a blank property; "
                                            "use is_blank(...)")
                return None
            case Literal(value=str() as text) if kind not in (Kind.NUMBER, Kind.MULTI_PICKLIST):
                return text
            case Arith() | Unary() | Call():
                self.unsupported(node.span, _not_a_property(node))
                return None
        self.unsupported(node.span, "HubSpot's search compares a property with a value of its own type")
        return None

    def day(self, node: Expr) -> datetime.date | None:
        """today(), a date, or today() plus or minus whole days (the evaluator drops a fraction of a day)."""
        match node:
            case Call(func="today"):
                return self.today
            case Literal(value=datetime.date() as day) if not isinstance(day, datetime.datetime):
                return day
            case Arith(op=ArithOp.ADD | ArithOp.SUB as op, left=Call(func="today"),
                       right=Literal(value=int() | float() as days)) if not isinstance(days, bool):
                try:
                    return self.today + datetime.timedelta(days=int(days) if op is ArithOp.ADD else -int(days))
                except OverflowError:
                    pass
        self.unsupported(node.span, "HubSpot's search compares a date with today(), today() plus or minus days, "
                                    "or a date")
        return None


def _not_a_property(node: Expr) -> str:
    match node:
        case Call(func=func):
            return f"HubSpot's search has no {func}()"
        case Arith() | Unary():
            return "HubSpot's search cannot do arithmetic"
    return "HubSpot's search compares a property with a value"


def _negated(found: Filter) -> Dnf:
    name, operator, values = found
    if operator == "HAS_PROPERTY":
        return [frozenset({(name, "NOT_HAS_PROPERTY", ())})]
    if operator == "NOT_HAS_PROPERTY":
        return [frozenset({(name, "HAS_PROPERTY", ())})]
    complement = frozenset({(name, _COMPLEMENT[operator], values)})
    if _COMPLEMENT[operator] in ("NEQ", "NOT_IN"):
        complement |= {(name, "HAS_PROPERTY", ())}
    return [frozenset({(name, "NOT_HAS_PROPERTY", ())}), complement]


def _simplified(groups: Dnf) -> Dnf:
    """Without contradictory groups (a property both blank and not), duplicates, or groups another one covers."""
    kept = {g for g in groups if not _contradictory(g)}
    return sorted((g for g in kept if not any(other < g for other in kept)), key=lambda g: sorted(g))


def _contradictory(group: Group) -> bool:
    blank = {name for name, operator, _ in group if operator == "NOT_HAS_PROPERTY"}
    return any(name in blank for name, operator, _ in group if operator != "NOT_HAS_PROPERTY")


def _filter(found: Filter) -> dict[str, Any]:
    name, operator, values = found
    spec: dict[str, Any] = {"propertyName": name, "operator": operator}
    if operator in ("IN", "NOT_IN"):
        spec["values"] = list(values)
    elif values:
        spec["value"] = values[0]
    return spec


def _millis(day: datetime.date) -> str:
    return str(int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp() * 1000))


def _number(number: int | float) -> str:
    return format(Decimal(str(number)).normalize(), "f")
