from __future__ import annotations

import datetime

import pytest

from sos.errors import SosError
from sos.expr.dialects.base import expand_stage_order
from sos.expr.dialects.evaluate import evaluate
from sos.expr.types import Scope, StageInfo, scope_for
from tests.expr.helpers import LEAD, OPPORTUNITY, parse

TODAY = datetime.date(2024, 6, 1)

DEAL: dict[str, object] = {
    "name": "Acme renewal",
    "amount": 1200,
    "close_date": "2024-06-30",
    "stage": "proposal",
    "owner": "rep@example.com",
    "created_date": "2024-05-01T09:30:00Z",
    "next_step": "",
    "budget_confirmed": False,
    "discount": 10,
    "loss_reason": None,
    "competitors": ["Acme", "Globex"],
    "signed_on": datetime.date(2024, 5, 20),
}

A_LEAD: dict[str, object] = {"status": "working", "rating": "Hot", "employees": "250"}


def run(text: str, changes: dict[str, object], scope: Scope = OPPORTUNITY) -> object:
    base = DEAL if scope is OPPORTUNITY else A_LEAD
    return evaluate(parse(text), {**base, **changes}, scope, today=TODAY)


@pytest.mark.parametrize(
    ("text", "changes", "expected"),
    [
        pytest.param("stage.is_open", {}, True, id="open"),
        pytest.param("stage.is_open", {"stage": "won"}, False, id="won-is-not-open"),
        pytest.param("stage.is_won and stage.is_closed", {"stage": "won"}, True, id="won-is-closed"),
        pytest.param("stage.is_lost and stage.is_closed", {"stage": "lost"}, True, id="lost-is-closed"),
        pytest.param("stage.is_open or stage.is_closed", {"stage": None}, False, id="blank-stage"),
        pytest.param("stage.is_open or stage.is_closed", {"stage": "archived"}, False, id="unknown-stage"),
        pytest.param("stage >= 'proposal'", {}, True, id="stage-order-same"),
        pytest.param("stage >= 'proposal'", {"stage": "evaluation"}, False, id="stage-order-earlier"),
        pytest.param("stage >= 'proposal'", {"stage": "lost"}, False, id="stage-order-lost-is-never-later"),
        pytest.param("stage >= 'proposal'", {"stage": "won"}, True, id="stage-order-won-is-later"),
        pytest.param("stage < 'proposal'", {"stage": "lost"}, False, id="stage-order-lost-is-never-earlier"),
        pytest.param("stage < 'won'", {"stage": "proposal"}, True, id="stage-order-open-before-won"),
        pytest.param("stage >= 'lost'", {"stage": "lost"}, True, id="stage-order-lost-equals-itself"),
        pytest.param("stage <= 'lost'", {"stage": "lost"}, True, id="stage-order-lost-equals-itself-from-below"),
        pytest.param("stage > 'lost'", {"stage": "lost"}, False, id="stage-order-nothing-after-lost"),
        pytest.param("stage >= 'lost'", {"stage": "won"}, False, id="stage-order-won-is-not-after-lost"),
        pytest.param("stage >= stage", {"stage": "lost"}, True, id="stage-order-field-with-itself"),
        pytest.param("stage >= 'proposal'", {"stage": None}, False, id="stage-order-blank"),
        pytest.param("stage < 'proposal'", {"stage": "archived"}, False, id="stage-order-unknown"),
        pytest.param("'evaluation' < stage", {}, True, id="stage-order-reversed"),
        pytest.param("stage == 'proposal' and stage not in ['won', 'lost']", {}, True, id="stage-equality"),
        pytest.param("close_date >= today()", {}, True, id="date-vs-today"),
        pytest.param("close_date >= today()", {"close_date": "2024-05-31"}, False, id="date-in-the-past"),
        pytest.param("close_date >= today()", {"close_date": None}, False, id="blank-date-compares-false"),
        pytest.param("close_date < today()", {"close_date": None}, False, id="blank-date-compares-false-both-ways"),
        pytest.param("close_date - today()", {}, 29, id="date-minus-date"),
        pytest.param("close_date + 1", {}, datetime.date(2024, 7, 1), id="date-plus-days"),
        pytest.param("today() - 1", {}, datetime.date(2024, 5, 31), id="today-minus-days"),
        pytest.param("close_date + 99999999 > today()", {}, False, id="date-out-of-range-is-blank"),
        # whole days elapsed from 2024-05-01 09:30 UTC to now() (midnight 2024-06-01): 30, not the 31 days between dates
        pytest.param("days_since(created_date)", {}, 30, id="days-since-datetime-counts-whole-days"),
        # Salesforce Help, "Tips for Working with Date and Date/Time Formulas": a fraction of a day is dropped
        pytest.param("close_date - 1.5", {}, datetime.date(2024, 6, 29), id="date-minus-fraction"),
        pytest.param("close_date + -1.5", {}, datetime.date(2024, 6, 29), id="date-plus-negative-fraction"),
        pytest.param("created_date - 0.5", {}, datetime.datetime(2024, 4, 30, 21, 30), id="datetime-keeps-fraction"),
        pytest.param("not (amount > 5000)", {"amount": None}, True, id="not-of-a-blank-comparison"),
        pytest.param("budget_confirmed == null", {"budget_confirmed": False}, True, id="unchecked-equals-null"),
        pytest.param("budget_confirmed != null", {"budget_confirmed": True}, True, id="checked-is-not-null"),
        pytest.param("amount / 0", {}, None, id="division-by-zero-is-blank"),
        pytest.param("lead_source == ''", {"lead_source": None}, False, id="blank-equals-no-text"),
        pytest.param("days_since(signed_on)", {}, 12, id="days-since-date-object"),
        pytest.param("days_since(close_date)", {"close_date": None}, None, id="days-since-blank"),
        pytest.param("created_date >= today() - 31 and created_date < today()", {}, True, id="datetime-vs-date"),
        pytest.param("created_date >= today()", {"created_date": "2024-05-31T23:30:00-05:00"}, True,
                     id="datetime-in-utc"),
        pytest.param("close_date > created_date", {}, True, id="date-vs-datetime-field"),
        pytest.param("now() - created_date > 30.5", {}, True, id="datetime-difference-in-days"),
        pytest.param("amount * (1 - discount / 100)", {}, 1080.0, id="arithmetic"),
        pytest.param("amount / 0", {}, None, id="division-by-zero-is-blank"),
        pytest.param("amount + discount", {"amount": None}, None, id="blank-arithmetic"),
        pytest.param("amount > 1000", {"amount": "1200.50"}, True, id="number-from-text"),
        pytest.param("amount != 5", {"amount": None}, False, id="blank-not-equal-is-false"),
        pytest.param("amount == null", {"amount": None}, True, id="equals-null-when-blank"),
        pytest.param("amount == null", {}, False, id="equals-null-when-filled"),
        pytest.param("null != amount", {}, True, id="null-on-the-left"),
        pytest.param("next_step == null", {}, True, id="empty-text-is-blank"),
        pytest.param("is_blank(next_step)", {}, True, id="is-blank-empty-text"),
        pytest.param("is_blank(budget_confirmed)", {}, True, id="unchecked-checkbox-is-blank"),
        pytest.param("is_blank(competitors)", {"competitors": []}, True, id="empty-list-is-blank"),
        pytest.param("is_blank(name)", {}, False, id="filled"),
        pytest.param("not budget_confirmed", {}, True, id="not-unchecked"),
        pytest.param("not budget_confirmed", {"budget_confirmed": None}, True, id="blank-checkbox-is-unchecked"),
        pytest.param("budget_confirmed", {"budget_confirmed": None}, False, id="blank-checkbox-reads-false"),
        pytest.param("budget_confirmed", {"budget_confirmed": "TRUE"}, True, id="checkbox-from-text"),
        pytest.param("budget_confirmed or amount > 1000", {}, True, id="or"),
        pytest.param("budget_confirmed and amount > 1000", {}, False, id="and"),
        pytest.param("budget_confirmed == true", {"budget_confirmed": True}, True, id="checkbox-equals-true"),
        pytest.param("includes(competitors, 'Globex')", {}, True, id="includes"),
        pytest.param("includes(competitors, 'Initech')", {"competitors": "Acme;Initech"}, True,
                     id="includes-semicolon-text"),
        pytest.param("includes(competitors, 'Acme')", {"competitors": None}, False, id="includes-blank"),
        pytest.param("loss_reason in ['Price']", {}, False, id="blank-in"),
        pytest.param("loss_reason not in ['Price']", {}, False, id="blank-not-in"),
        pytest.param("loss_reason not in ['Price']", {"loss_reason": "Timing"}, True, id="not-in"),
        pytest.param("len(name)", {}, 12, id="len"),
        pytest.param("len(next_step)", {}, 0, id="len-blank"),
        pytest.param("owner == 'rep@example.com'", {}, True, id="user"),
        pytest.param("-amount < 0", {}, True, id="negation"),
    ],
)
def test_evaluate_deal(text: str, changes: dict[str, object], expected: object) -> None:
    assert run(text, changes) == expected


@pytest.mark.parametrize(
    ("text", "changes", "expected"),
    [
        pytest.param("status.is_converted", {}, False, id="not-converted"),
        pytest.param("status.is_converted", {"status": "qualified"}, True, id="converted"),
        pytest.param("status == 'working' and rating in ['Hot', 'Warm']", {}, True, id="status-and-picklist"),
        pytest.param("employees >= 250", {}, True, id="number-from-text"),
    ],
)
def test_evaluate_lead(text: str, changes: dict[str, object], expected: object) -> None:
    assert run(text, changes, LEAD) == expected


def test_now_can_be_given() -> None:
    noon = datetime.datetime(2024, 5, 2, 9, 30, tzinfo=datetime.UTC)
    assert evaluate(parse("now() - created_date"), DEAL, OPPORTUNITY, today=TODAY, now=noon) == 1.0


@pytest.mark.parametrize(
    ("changes", "headline"),
    [
        pytest.param({"close_date": "next week"},
                     "error: field 'close_date' holds 'next week', which is not a date [bad-record]", id="date"),
        pytest.param({"amount": True}, "error: field 'amount' holds True, which is not a number [bad-record]",
                     id="number"),
        pytest.param({"budget_confirmed": "yes"},
                     "error: field 'budget_confirmed' holds 'yes', which is not a true/false value [bad-record]",
                     id="checkbox"),
        pytest.param({"competitors": 3},
                     "error: field 'competitors' holds 3, which is not a multi-select picklist [bad-record]",
                     id="multi-picklist"),
    ],
)
def test_bad_record_values(changes: dict[str, object], headline: str) -> None:
    with pytest.raises(SosError) as info:
        run("budget_confirmed or close_date > today() and amount > 1 and includes(competitors, 'Acme')", changes)
    assert [d.headline() for d in info.value.diagnostics] == [headline]


INTERLEAVED = scope_for("opportunity", {}, stages=(
    StageInfo("qualify"), StageInfo("lost_early", "lost"), StageInfo("won", "won"), StageInfo("negotiate"),
    StageInfo("lost", "lost"),
))


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
@pytest.mark.parametrize(
    ("scope", "key"),
    [
        pytest.param(scope, stage.key, id=f"{name}-{stage.key}")
        for name, scope in (("pipeline", OPPORTUNITY), ("interleaved", INTERLEAVED))
        for stage in scope.stages
    ],
)
def test_expand_stage_order_agrees_with_the_evaluator(scope: Scope, key: str, op: str) -> None:
    expr = parse(f"stage {op} '{key}'")
    expanded = expand_stage_order(expr, scope)
    for stage in [*(s.key for s in scope.stages), None, "archived"]:
        record = {"stage": stage}
        assert evaluate(expanded, record, scope, today=TODAY) == evaluate(expr, record, scope, today=TODAY), stage


@pytest.mark.parametrize(
    ("text", "before", "expected"),
    [
        pytest.param("is_new()", None, True, id="new-on-insert"),
        pytest.param("is_new()", {}, False, id="not-new-on-update"),
        pytest.param("is_changed(stage)", None, False, id="nothing-changes-on-insert"),
        pytest.param("is_changed(stage)", {"stage": "discovery"}, True, id="stage-moved"),
        pytest.param("is_changed(stage)", {}, False, id="stage-kept"),
        pytest.param("is_changed(next_step)", {"next_step": "Call"}, True, id="blank-after-a-value"),
        pytest.param("is_changed(next_step)", {"next_step": ""}, False, id="blank-both-ways"),
        pytest.param("is_changed(amount)", {"amount": "1200"}, False, id="same-value-any-spelling"),
        pytest.param("prior(stage) == 'discovery'", {"stage": "discovery"}, True, id="prior-stage"),
        pytest.param("prior(stage) < stage", {"stage": "discovery"}, True, id="moved-forward"),
        pytest.param("prior(stage).is_open", {"stage": "lost"}, False, id="prior-stage-outcome"),
        pytest.param("prior(amount) > amount", {"amount": 200000}, True, id="amount-dropped"),
        pytest.param("prior(amount) == amount", None, True, id="prior-on-insert-is-the-value"),
        pytest.param("is_blank(prior(next_step))", {"next_step": None}, True, id="prior-blank"),
    ],
)
def test_a_save_in_progress(text: str, before: dict[str, object] | None, expected: object) -> None:
    """`before`: what the record held before the save, over DEAL (None: the save creates DEAL)."""
    prior = None if before is None else {**DEAL, **before}
    assert evaluate(parse(text), DEAL, OPPORTUNITY, today=TODAY, prior=prior) == expected
