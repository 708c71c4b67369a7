"""SOQL WHERE clauses that find a rule's violators; the shared table is in test_sf_formula.py.

The clause must match exactly the records the evaluator says it should, checked through a
small interpreter of the SOQL the generator writes (below). How it models SOQL:
- a blank field is null (text too); `= null` / `!= null` test for it;
- `=`, `IN`, `<`, `<=`, `>`, `>=`, INCLUDES never match null; `!=` and `NOT IN` do
  (SOQL returns records whose field is null for `Field != 'x'`);
- NOT negates, AND and OR combine (two-valued logic); mixing AND and OR needs parentheses;
- text compares without regard to case, as in SOQL; the generated data is all lower case
  (picklist values exactly as defined), so the evaluator, which minds case, agrees.
"""

from __future__ import annotations

import datetime
import re
from typing import Any
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings

from sos.backends.salesforce.standard_fields import api_names_for, expression_naming
from sos.errors import SosError
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.soql import ALWAYS, Soql
from sos.expr.typecheck import check_expression
from sos.expr.types import Kind
from tests.expr.dialects.test_sf_formula import (
    API_NAMES,
    NOW,
    OUTCOMES,
    STAGE_VALUES,
    STATUS_VALUES,
    TODAY,
    check_all,
    conditions,
    records,
)
from tests.expr.helpers import OPPORTUNITY, parse


def soql() -> Soql:
    return Soql(OPPORTUNITY, expression_naming("opportunity", API_NAMES, STAGE_VALUES, STATUS_VALUES))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("stage >= 'evaluation' and not budget_confirmed",
                     "StageName IN ('Evaluation', 'Proposal', 'Closed Won') AND NOT (Budget_Confirmed__c = true)",
                     id="stage-requirement"),
        pytest.param("stage <= 'lost' or stage < 'lost'", "StageName IN ('Closed Lost') OR Id = null",
                     id="lost-only-itself"),
        pytest.param("true", ALWAYS, id="true"),
        pytest.param("signed_on <= today()", "Signed_On__c <= TODAY", id="custom-date"),
        pytest.param("discount in [5, 2.5]", "Discount__c IN (5, 2.5)", id="numbers-in"),
        pytest.param("not budget_confirmed in [true, false]",
                     "NOT ((Budget_Confirmed__c = true OR Budget_Confirmed__c = false))", id="checkbox-in-both"),
        pytest.param("budget_confirmed not in [true]", "NOT (Budget_Confirmed__c = true)", id="checkbox-not-in"),
        pytest.param("amount != null and null == loss_reason", "Amount != null AND Loss_Reason__c = null",
                     id="nulls"),
        pytest.param("null == null", ALWAYS, id="null-is-null"),
        pytest.param("(amount > 0) != null", "Amount > 0", id="a-false-condition-is-blank"),
        pytest.param("budget_confirmed and (stage.is_won or amount > 5) == true",
                     "Budget_Confirmed__c = true AND (IsWon = true OR Amount > 5)", id="or-compared-inside-and"),
        pytest.param("stage.is_won or (budget_confirmed and amount > 5) != null",
                     "IsWon = true OR (Budget_Confirmed__c = true AND Amount > 5)", id="and-not-null-inside-or"),
    ],
)
def test_soql(text: str, expected: str) -> None:
    check_all(text, {"soql": expected})


@pytest.mark.parametrize(
    ("text", "headlines"),
    [
        pytest.param("amount > discount or len(name) > 3 or close_date < today() + 1", [
            "b.yaml:3:10: error: SOQL cannot compare two fields [unsupported]",
            "b.yaml:3:31: error: SOQL cannot measure the length of text [unsupported]",
            "b.yaml:3:61: error: SOQL cannot do arithmetic [unsupported]",
        ], id="all-at-once"),
        pytest.param("today() > today()", ["b.yaml:3:10: error: SOQL compares a field with a value [unsupported]"],
                     id="no-field"),
        pytest.param("2 in [1, 2]", ["b.yaml:3:10: error: SOQL's IN tests a field [unsupported]"], id="in-no-field"),
        pytest.param("amount + 1 in [1, 2]", ["b.yaml:3:10: error: SOQL cannot do arithmetic [unsupported]"],
                     id="in-arithmetic"),
        pytest.param("is_new() or is_changed(stage) or prior(amount) > 5", [
            "b.yaml:3:10: error: SOQL has no is_new(): a query reads records as they are, not a save in progress "
            "[unsupported]",
            "b.yaml:3:22: error: SOQL has no is_changed(): a query reads records as they are, not a save in "
            "progress [unsupported]",
            "b.yaml:3:43: error: SOQL has no prior(): a query reads records as they are, not a save in progress "
            "[unsupported]",
        ], id="save-in-progress"),
        pytest.param("prior(stage).is_open", [
            "b.yaml:3:10: error: SOQL has no prior(): a query reads records as they are, not a save in progress "
            "[unsupported]"], id="prior-stage-outcome"),
        pytest.param("is_blank(now())",
                     ["b.yaml:3:19: error: SOQL can only test a field for a blank value [unsupported]"],
                     id="blank-of-a-value"),
        pytest.param("stage == 'nope'", [], id="unknown-stage-is-for-the-checker"),
    ],
)
def test_what_soql_cannot_say(text: str, headlines: list[str]) -> None:
    if not headlines:  # check_expression reports it; the generator is never asked
        assert check_expression(parse(text), OPPORTUNITY)
        return
    with pytest.raises(SosError) as info:
        soql().generate(parse(text))
    assert [d.headline() for d in info.value.diagnostics] == headlines


def test_violators() -> None:
    assert soql().violators(parse("stage.is_open"), parse("close_date >= today()")) == (
        "(IsClosed = false) AND NOT (CloseDate >= TODAY)"
    )
    assert soql().violators(None, parse("amount > 0 or budget_confirmed")) == (
        "NOT (Amount > 0 OR Budget_Confirmed__c = true)"
    )


def test_violators_reports_both_expressions_together() -> None:
    with pytest.raises(SosError) as info:
        soql().violators(parse("len(name) > 1"), parse("amount > discount"))
    assert [d.message for d in info.value.diagnostics] == [  # both at b.yaml:3:10 here: sorted by message
        "SOQL cannot compare two fields",
        "SOQL cannot measure the length of text",
    ]


def test_unknown_names_are_reported() -> None:
    with pytest.raises(SosError) as info:
        Soql(OPPORTUNITY, expression_naming("opportunity", {}, {}, {})).generate(parse("pain == 'x' or stage == 'won'"))
    assert [d.message for d in info.value.diagnostics] == [
        "no Salesforce API name is known for field 'pain'",
        "no Salesforce stage value is known for stage 'won'",
    ]


# -- a tiny SOQL WHERE interpreter --------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:(?P<date>\d{4}-\d{2}-\d{2})|(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(?P<op>!=|<=|>=|=|<|>|\(|\)|,))""",
    re.X,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_KEYWORDS = {"AND", "OR", "NOT", "IN", "INCLUDES", "TRUE", "FALSE", "NULL", "TODAY"}


class SoqlError(Exception):
    """The clause would be MALFORMED_QUERY, or uses something this interpreter does not model."""


def _tokens(clause: str) -> list[tuple[str, Any]]:
    found, at = [], 0
    while clause[at:].strip():
        match = _TOKEN.match(clause, at)
        if match is None:
            raise SoqlError(f"cannot read {clause[at:at + 20]!r}")
        kind, text = match.lastgroup or "", match.group(match.lastgroup or "")
        if kind == "word" and text.upper() in _KEYWORDS:
            kind, text = "keyword", text.upper()
        found.append((kind, text))
        at = match.end()
    return found


class _Where:
    def __init__(self, clause: str, record: Mapping[str, object], today: datetime.date) -> None:
        self.tokens = _tokens(clause)
        self.at = 0
        self.record = record
        self.today = today

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, text: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token[0] == "end" or (text is not None and token[1] != text):
            raise SoqlError(f"expected {text}, got {token[1] or 'the end'}")
        self.at += 1
        return token

    def run(self) -> bool:
        result = self.condition()
        if self.peek()[0] != "end":
            raise SoqlError(f"unexpected {self.peek()[1]}")
        return result

    def condition(self) -> bool:
        results, joiner = [self.term()], None
        while self.peek()[1] in ("AND", "OR"):
            word = self.take()[1]
            if joiner not in (None, word):
                raise SoqlError("mixing AND and OR needs parentheses")
            joiner = word
            results.append(self.term())
        return all(results) if joiner == "AND" else any(results)

    def term(self) -> bool:
        if self.peek()[1] == "NOT":
            self.take()
            self.take("(")
            inner = self.condition()
            self.take(")")
            return not inner
        if self.peek()[1] == "(":
            self.take()
            inner = self.condition()
            self.take(")")
            return inner
        kind, name = self.take()
        if kind != "word":
            raise SoqlError(f"expected a field, got {name}")
        if name not in self.record:
            raise SoqlError(f"No such column '{name}'")
        field = self.record[name]
        op = self.take()[1]
        if op in ("IN", "NOT", "INCLUDES"):
            return self.member(field, op)
        value = self.value()
        if value is None or field is None:
            return {"=": field is value, "!=": (field is None) != (value is None)}.get(op, False)
        if op == "=":
            return _equal(field, value)
        if op == "!=":
            return not _equal(field, value)
        _same_kind(field, value)
        if isinstance(field, (str, bool)):
            raise SoqlError(f"cannot order {field!r}")
        ordered: Any = field  # a number, date or date and time, as _same_kind checked
        return bool({"<": ordered < value, "<=": ordered <= value, ">": ordered > value, ">=": ordered >= value}[op])

    def member(self, field: object, op: str) -> bool:
        """`field IN (…)`, `NOT IN (…)` or `INCLUDES (…)`, after the operator."""
        if op == "NOT":
            self.take("IN")
        values = self.values()
        if op == "INCLUDES":
            return field is not None and any(v in str(field).split(";") for v in values)
        inside = field is not None and any(_equal(field, v) for v in values)
        return inside if op == "IN" else not inside  # NOT IN matches null

    def values(self) -> list[object]:
        self.take("(")
        found = [self.value()]
        while self.peek()[1] == ",":
            self.take()
            found.append(self.value())
        self.take(")")
        return found

    def value(self) -> object:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "date":
            return datetime.date.fromisoformat(text)
        if text in ("TRUE", "FALSE"):
            return text == "TRUE"
        if text == "NULL":
            return None
        if text == "TODAY":
            return self.today
        raise SoqlError(f"expected a value, got {text}")


def _same_kind(field: object, value: object) -> None:
    def kind(v: object) -> str:
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, datetime.datetime):
            return "datetime"
        if isinstance(v, datetime.date):
            return "date"
        return "text"

    if kind(field) != kind(value):
        raise SoqlError(f"cannot compare {field!r} with {value!r}")


def _equal(field: object, value: object) -> bool:
    _same_kind(field, value)
    if isinstance(field, str) and isinstance(value, str):
        return field.lower() == value.lower()  # SOQL compares text without regard to case
    return field == value


def matches(clause: str, record: Mapping[str, object], *, today: datetime.date) -> bool:
    """Whether `record` (API name → value, blank is None) satisfies the WHERE `clause`."""
    return _Where(clause, record, today).run()


def soql_record(record: Mapping[str, object]) -> dict[str, object]:
    """`record` as SOQL sees it, by API name: every blank is null; a checkbox is never null."""
    names = api_names_for("opportunity", API_NAMES)
    held: dict[str, object] = {"Id": "006000000000001AAA"}
    for key, field_type in OPPORTUNITY.fields.items():
        raw = record.get(key)
        if key not in names:   # days_in_stage: counted from LastStageChangeDate
            continue
        if field_type.kind is Kind.BOOLEAN:
            held[names[key]] = bool(raw)
        elif raw in (None, "", []):
            held[names[key]] = None
        elif field_type.kind is Kind.STAGE:
            held[names[key]] = STAGE_VALUES[str(raw)]
        elif field_type.kind is Kind.MULTI_PICKLIST:
            held[names[key]] = ";".join(raw)  # type: ignore[arg-type]
        else:
            held[names[key]] = raw
    held["Owner.Username"] = held["OwnerId"]
    held["IsClosed"] = OUTCOMES[str(record["stage"])] in ("won", "lost")
    held["IsWon"] = OUTCOMES[str(record["stage"])] == "won"
    return held


@pytest.mark.parametrize(
    ("clause", "record", "expected"),
    [
        pytest.param("Name != 'a'", {"Name": None}, True, id="not-equal-matches-null"),
        pytest.param("Name NOT IN ('a')", {"Name": None}, True, id="not-in-matches-null"),
        pytest.param("Name = 'A'", {"Name": "a"}, True, id="text-ignores-case"),
        pytest.param("Amount > 1", {"Amount": None}, False, id="null-orders-false"),
        pytest.param("NOT (Amount > 1)", {"Amount": None}, True, id="not-negates"),
    ],
)
def test_the_interpreter_models_soql_nulls(clause: str, record: dict[str, object], expected: bool) -> None:
    assert matches(clause, record, today=TODAY) is expected


@pytest.mark.parametrize(
    "clause",
    [
        pytest.param("Amount > 1 AND Amount < 5 OR IsWon = true", id="and-or-without-parentheses"),
        pytest.param("Nope__c = 1", id="unknown-field"),
        pytest.param("Name > 'a'", id="text-ordered"),
        pytest.param("CloseDate > 'a'", id="date-vs-text"),
    ],
)
def test_the_interpreter_refuses_malformed_clauses(clause: str) -> None:
    record = {"Amount": 1, "IsWon": False, "Name": "a", "CloseDate": TODAY}
    with pytest.raises(SoqlError):
        matches(clause, record, today=TODAY)


AGREEMENT = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(conditions(soql=True), records())
def test_soql_agrees_with_the_evaluator(text: str, record: dict[str, object]) -> None:
    expr = parse(text)
    assert check_expression(expr, OPPORTUNITY) == []
    clause = soql().generate(expr)
    expected = evaluate(expr, record, OPPORTUNITY, today=TODAY, now=NOW)
    assert matches(clause, soql_record(record), today=TODAY) is expected, clause


@AGREEMENT
@given(conditions(soql=True), conditions(soql=True), records())
def test_violators_are_exactly_the_records_that_break_the_rule(
    when: str, require: str, record: dict[str, object]
) -> None:
    clause = soql().violators(parse(when), parse(require))
    violates = evaluate(parse(when), record, OPPORTUNITY, today=TODAY, now=NOW) is True and evaluate(
        parse(require), record, OPPORTUNITY, today=TODAY, now=NOW
    ) is not True
    assert matches(clause, soql_record(record), today=TODAY) is violates, clause
