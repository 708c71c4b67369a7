"""Whatever text users write, parse fails only with SosError, and what parses can be checked."""

from __future__ import annotations

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sos.errors import SosError
from sos.expr.dialects.base import expand_stage_order
from sos.expr.dialects.canonical import to_text
from sos.expr.dialects.evaluate import evaluate
from sos.expr.typecheck import check_expression, infer_type
from tests.expr.helpers import ACCOUNT, LEAD, OPPORTUNITY, parse, shape

VALID = [
    "stage.is_open and close_date >= today()",
    "stage >= 'proposal' and not budget_confirmed or amount > 1000",
    "loss_reason in ['Price', 'Timing'] and is_blank(next_step)",
    "days_since(created_date) > 30 and len(name) < 3",
    "includes(competitors, 'Acme') or close_date - today() <= 14",
    "amount * (1 - discount / 100) >= 5000.50 and owner != null",
    "status == 'working' and status.is_converted",
    "-amount < 0 and stage not in ['won', 'lost'] and \"x\" == pain",
]
PIECES = [
    "(", ")", "[", "]", ",", ".", "'", '"', "\\", " ", "==", "=", "!=", "<", ">=", "+", "-", "*", "/",
    "and", "or", "not", "in", "true", "null", "stage", "amount", "today()", "is_blank(", "1", "2.5", "'won'",
    "&", "@", "\n", "é", "0" * 25,
]
SCOPES = (OPPORTUNITY, LEAD, ACCOUNT)
TODAY = datetime.date(2024, 6, 1)
DEAL = {
    "amount": 1200, "discount": 10, "close_date": "2024-06-30", "created_date": "2024-05-01T09:30:00Z",
    "stage": "proposal", "name": "Acme", "competitors": ["Acme"], "owner": "rep@example.com",
}
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_all_the_way(text: str) -> None:
    try:
        expr = parse(text)
    except SosError as error:
        [diagnostic] = error.diagnostics
        assert diagnostic.code == "expr-syntax" and diagnostic.span is not None
        return
    assert shape(parse(to_text(expr))) == shape(expr)
    for scope in SCOPES:
        problems = check_expression(expr, scope)
        assert all(problem.span is not None for problem in problems)
        infer_type(expr, scope)
        if scope is OPPORTUNITY and not problems:
            for record in (DEAL, {}):
                evaluate(expr, record, scope, today=TODAY)


@FUZZ
@given(st.text(alphabet="abnotds_ .()[],'\"=!<>+-*/0159\\\n&", max_size=40))
def test_random_text(text: str) -> None:
    check_all_the_way(text)


@FUZZ
@given(st.text(max_size=30))
def test_random_unicode(text: str) -> None:
    check_all_the_way(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text: str = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 6))
        text = text[:at] + draw(st.sampled_from(["", *PIECES])) + text[at + cut :]
    return text


@FUZZ
@given(mutated())
def test_mutated_expressions(text: str) -> None:
    check_all_the_way(text)


def well_typed() -> st.SearchStrategy[str]:
    """Conditions over OPPORTUNITY that are well typed by construction."""
    number: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from(["amount", "discount", "0", "7", "2.5", "len(name)", "days_since(close_date)"]),
            st.tuples(number, st.sampled_from(["+", "-", "*", "/"]), number).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(day, day).map(lambda t: f"({t[0]} - {t[1]})"),
            number.map(lambda n: f"-{n}"),
        )
    )
    day: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from(["close_date", "signed_on", "today()", "created_date", "now()"]),
            st.tuples(day, st.sampled_from(["+", "-"]), number).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        )
    )
    comparison = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    condition: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from([
                "stage.is_open", "stage.is_won", "stage.is_closed", "budget_confirmed", "is_blank(next_step)",
                "includes(competitors, 'Globex')", "loss_reason in ['Price', 'Timing']", "amount == null",
                "stage not in ['won']", "owner != 'rep@example.com'",
            ]),
            st.tuples(number, comparison, number).map(" ".join),
            st.tuples(day, comparison, day).map(" ".join),
            st.tuples(comparison, st.sampled_from([s.key for s in OPPORTUNITY.stages])).map(
                lambda t: f"stage {t[0]} '{t[1]}'"
            ),
            condition.map(lambda c: f"not ({c})"),
            st.tuples(condition, st.sampled_from(["and", "or"]), condition).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        )
    )
    return condition


def records() -> st.SearchStrategy[dict[str, object]]:
    blank = st.sampled_from([None, "", []])
    return st.fixed_dictionaries(
        {},
        optional={
            "amount": st.one_of(blank, st.integers(-10**6, 10**6), st.floats(-1e6, 1e6)),
            "discount": st.one_of(blank, st.integers(0, 100)),
            "close_date": st.one_of(blank, st.dates().map(str)),
            "signed_on": st.one_of(blank, st.dates()),
            "created_date": st.one_of(blank, st.datetimes().map(datetime.datetime.isoformat)),
            "stage": st.one_of(blank, st.sampled_from(["discovery", "proposal", "won", "lost", "archived"])),
            "budget_confirmed": st.one_of(st.none(), st.booleans()),
            "loss_reason": st.one_of(blank, st.sampled_from(["Price", "Timing"])),
            "competitors": st.one_of(blank, st.lists(st.sampled_from(["Acme", "Globex"]))),
            "name": st.one_of(blank, st.text(max_size=5)),
            "next_step": st.one_of(blank, st.text(max_size=5)),
        },
    )


@FUZZ
@given(well_typed(), records())
def test_well_typed_conditions_check_clean_and_evaluate(text: str, record: dict[str, object]) -> None:
    expr = parse(text)
    assert check_expression(expr, OPPORTUNITY) == []
    value = evaluate(expr, record, OPPORTUNITY, today=TODAY)
    assert isinstance(value, bool)
    assert evaluate(expand_stage_order(expr, OPPORTUNITY), record, OPPORTUNITY, today=TODAY) == value
