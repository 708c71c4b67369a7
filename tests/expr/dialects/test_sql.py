"""SQL conditions over the sandbox's record store, checked in a real SQLite table against the evaluator.

Every record is written with `encode` into an in-memory table made by `create_table`; the
condition must select it exactly when `evaluate` says the expression holds.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import HealthCheck, given, settings

from sos.errors import SosError
from sos.expr.annotate import annotate
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sql import Sql, create_table, encode
from sos.expr.types import Scope
from tests.expr.dialects.test_sf_formula import NOW, TODAY, conditions, records
from tests.expr.helpers import LEAD, OPPORTUNITY, parse


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    for scope in (OPPORTUNITY, LEAD):
        connection.execute(create_table(scope))
    yield connection
    connection.close()


def sql(scope: Scope = OPPORTUNITY) -> Sql:
    return Sql(scope, today=TODAY, now=NOW)


def selects(
    db: sqlite3.Connection,
    condition: tuple[str, list[object]],
    record: Mapping[str, object],
    scope: Scope = OPPORTUNITY,
) -> bool:
    """Whether the condition selects `record`, alone in its table."""
    table = scope.object
    row = encode(record, scope, today=TODAY)
    db.execute(f"DELETE FROM {table}")
    db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    where, params = condition
    return db.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0] == 1


def holds(text: str, record: Mapping[str, object], scope: Scope = OPPORTUNITY) -> bool:
    return evaluate(parse(text), record, scope, today=TODAY, now=NOW) is True


AGREEMENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


TOO_DEEP = "SQLite cannot read a condition nested this deeply; split it into simpler conditions"


@AGREEMENT
@given(conditions(), records())
def test_sqlite_agrees_with_the_evaluator(db: sqlite3.Connection, text: str, record: dict[str, object]) -> None:
    try:
        condition = sql().where(parse(text))
    except SosError as error:  # hypothesis nests far deeper than rules do
        assert [d.message for d in error.diagnostics] == [TOO_DEEP]
        return
    assert selects(db, condition, record) is holds(text, record), condition


@AGREEMENT
@given(conditions(), conditions(), records())
def test_violators_are_exactly_the_records_that_break_the_rule(
    db: sqlite3.Connection, when: str, require: str, record: dict[str, object]
) -> None:
    try:
        condition = sql().violators(parse(when), parse(require))
    except SosError as error:
        assert [d.message for d in error.diagnostics] == [TOO_DEEP]
        return
    assert selects(db, condition, record) is (holds(when, record) and not holds(require, record)), condition


DEAL = {
    "stage": "proposal",
    "name": "Acme",
    "amount": 500,
    "close_date": "2024-05-30",
    "created_date": "2024-05-29T12:00:00",
    "budget_confirmed": True,
    "competitors": ["Acme", "Globex"],
}


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        # blanks: a comparison with a blank is false, and so is its `!=`, but `not` of it is true
        pytest.param("amount > 5", {"stage": "proposal"}, False, id="blank-compares-false"),
        pytest.param("not (amount > 5)", {"stage": "proposal"}, True, id="not-of-blank-comparison"),
        pytest.param("amount != 5", {"stage": "proposal"}, False, id="blank-not-equal-is-false"),
        pytest.param("pain not in ['a']", {"stage": "proposal"}, False, id="blank-is-out-of-no-list"),
        pytest.param("pain not in []", {"stage": "proposal"}, False, id="blank-not-in-nothing"),
        pytest.param("pain not in []", {"stage": "proposal", "pain": "x"}, True, id="value-not-in-nothing"),
        pytest.param("pain in []", {"stage": "proposal", "pain": "x"}, False, id="in-nothing"),
        pytest.param("is_blank(pain)", {"stage": "proposal", "pain": ""}, True, id="empty-text-is-blank"),
        pytest.param("pain == ''", {"stage": "proposal", "pain": ""}, False, id="empty-text-is-no-value"),
        pytest.param("is_blank(competitors)", {"stage": "proposal", "competitors": []}, True, id="empty-list-blank"),
        pytest.param(
            "is_blank(budget_confirmed)",
            {"stage": "proposal", "budget_confirmed": False},
            True,
            id="unchecked-is-blank",
        ),
        pytest.param("budget_confirmed == null", {"stage": "proposal"}, True, id="blank-checkbox-is-unchecked"),
        pytest.param("not budget_confirmed", {"stage": "proposal"}, True, id="not-blank-checkbox"),
        pytest.param("amount != null", {"stage": "proposal", "amount": 0}, True, id="zero-is-not-blank"),
        pytest.param("is_blank(amount / 0)", DEAL, True, id="division-by-zero-is-blank"),
        pytest.param("is_blank(close_date + 3000000)", DEAL, True, id="date-past-9999-is-blank"),
        pytest.param("is_blank(created_date - 800000)", DEAL, True, id="moment-before-year-1-is-blank"),
        pytest.param("amount / 1000 == 0.5", DEAL, True, id="division-is-not-integer-division"),
        # dates, clock and arithmetic (TODAY is 2024-06-01, NOW 2024-06-02T03:00)
        pytest.param("close_date + 2 == today()", DEAL, True, id="date-plus-days"),
        pytest.param("close_date + 2.9 == today()", DEAL, True, id="date-drops-fraction"),
        pytest.param("close_date - -2.9 == today()", DEAL, True, id="date-minus-negative-fraction"),
        pytest.param("days_since(close_date) == 2", DEAL, True, id="days-since-date"),
        pytest.param("days_since(created_date) == 4", DEAL, False, id="days-since-moment-whole-days"),
        pytest.param("days_since(created_date) == 3", DEAL, True, id="days-since-moment"),
        pytest.param(
            "days_since(created_date) == -1",
            {**DEAL, "created_date": "2024-06-02T03:00:01"},
            True,
            id="days-since-future-moment-floors",
        ),
        pytest.param("now() - created_date == 3.625", DEAL, True, id="moments-differ-by-fractions"),
        pytest.param("created_date + 0.5 == now() - 3.125", DEAL, True, id="moment-keeps-fraction"),
        pytest.param(
            "created_date + amount == now()",
            {**DEAL, "amount": 47741.66, "created_date": NOW - datetime.timedelta(days=47741.66)},
            True,
            id="moment-plus-days-to-the-microsecond",
        ),
        pytest.param("created_date < close_date", DEAL, True, id="moment-vs-date-by-date"),
        pytest.param("created_date >= close_date - 1", DEAL, True, id="moment-on-the-day"),
        pytest.param("created_date in [today() - 3]", DEAL, True, id="moment-in-dates"),
        pytest.param(
            "created_date == now()",
            {
                **DEAL,
                "created_date": datetime.datetime(
                    2024, 6, 2, 5, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
                ),
            },
            True,
            id="moment-in-utc",
        ),
        # stages, statuses, picklists, text
        pytest.param("stage >= 'evaluation'", DEAL, True, id="stage-order"),
        pytest.param("stage >= 'evaluation'", {**DEAL, "stage": "lost"}, False, id="lost-is-in-no-order"),
        pytest.param("stage <= 'lost'", {**DEAL, "stage": "lost"}, True, id="lost-only-itself"),
        pytest.param("stage.is_open and not stage.is_closed", DEAL, True, id="stage-open"),
        pytest.param("stage.is_won", {**DEAL, "stage": "won"}, True, id="stage-won"),
        pytest.param("stage.is_lost", {**DEAL, "stage": "lost"}, True, id="stage-lost"),
        pytest.param("includes(competitors, 'Globex')", DEAL, True, id="includes"),
        pytest.param("includes(competitors, 'Initech')", DEAL, False, id="includes-not"),
        pytest.param("includes(competitors, 'Acme')", {"stage": "proposal"}, False, id="includes-blank"),
        pytest.param("name == 'acme'", DEAL, False, id="text-minds-case"),
        pytest.param("len(name) == 4 and len(pain) == 0", DEAL, True, id="len"),
        pytest.param("(amount > 1) == (discount > 2)", {**DEAL, "discount": 3}, True, id="conditions-compared"),
        pytest.param("budget_confirmed in [true]", DEAL, True, id="checkbox-in"),
        pytest.param("amount not in [discount]", DEAL, True, id="a-blank-option-matches-nothing"),
        pytest.param("amount in [discount, 500]", DEAL, True, id="a-blank-option-beside-a-match"),
        pytest.param("-amount < -499.5 and amount * 2 == 1000", DEAL, True, id="numbers"),
        pytest.param("probability == 25", {**DEAL, "probability": 25}, True, id="percent-as-typed"),
        pytest.param("owner in ['rep@example.com']", {**DEAL, "owner": "rep@example.com"}, True, id="owner"),
        pytest.param("loss_reason not in ['Price']", {**DEAL, "loss_reason": "Timing"}, True, id="picklist-not-in"),
        pytest.param("days_in_stage > 30", {**DEAL, "days_in_stage": 31}, True, id="days-in-stage-over"),
        pytest.param("days_in_stage > 30", {**DEAL, "days_in_stage": 30}, False, id="days-in-stage-at-limit"),
        pytest.param("days_in_stage == 0", {**DEAL, "days_in_stage": 0}, True, id="entered-today"),
        pytest.param("not (days_in_stage > 30)", DEAL, True, id="days-in-stage-blank"),
        pytest.param("days_in_stage - days_since(close_date) == 28", {**DEAL, "days_in_stage": 30}, True,
                     id="days-in-stage-arithmetic"),
        pytest.param("is_blank(stage)", {"name": "no stage"}, True, id="blank-stage"),
        pytest.param(
            "stage.is_open or stage >= 'discovery'", {"name": "no stage"}, False, id="blank-stage-in-no-order"
        ),
    ],
)
def test_each_construct(db: sqlite3.Connection, text: str, record: dict[str, object], expected: bool) -> None:
    assert holds(text, record) is expected  # the evaluator's meaning, stated here
    assert selects(db, sql().where(parse(text)), record) is expected


@pytest.mark.parametrize(("status", "expected"), [("qualified", True), ("working", False), (None, False)])
def test_converted_status(db: sqlite3.Connection, status: str | None, expected: bool) -> None:
    record = {"last_name": "Doe", "status": status}
    assert selects(db, sql(LEAD).where(parse("status.is_converted")), record, LEAD) is expected


def test_days_in_stage_is_held_as_the_day_the_deal_entered_its_stage() -> None:
    assert encode({**DEAL, "days_in_stage": 12}, OPPORTUNITY, today=TODAY)["_stage_entered"] == "2024-05-20"
    assert sql().where(parse("days_in_stage > 10")) == (
        'IFNULL((julianday(?1) - julianday("_stage_entered")) > ?2, 0)', [TODAY.isoformat(), 10])
    with pytest.raises(SosError) as info:
        encode({**DEAL, "days_in_stage": 12}, OPPORTUNITY)
    assert [d.message for d in info.value.diagnostics] == [
        "days_in_stage counts days to today, and no date was given to count from"]


def test_values_are_bound_never_written() -> None:
    assert sql().violators(parse("stage.is_open"), parse("amount >= 1000 and next_step != 'n/a'")) == (
        '(IFNULL("stage" IN (?1, ?2, ?3), 0) AND (NOT (IFNULL("amount" >= ?4, 0) AND IFNULL("next_step" != ?5, 0))))',
        ["discovery", "evaluation", "proposal", 1000, "n/a"],
    )
    assert sql().violators(None, parse("close_date >= today()")) == (
        '(NOT IFNULL(julianday("close_date") >= julianday(?1), 0))',
        ["2024-06-01"],
    )


INJECTIONS = ["x'; DROP TABLE opportunity; --", "' OR 1=1 --", 'a"; DELETE FROM opportunity; --', "?1", "%'--"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_quotes_semicolons_and_comments_in_values_are_inert(db: sqlite3.Connection, value: str) -> None:
    text = "pain == " + "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert selects(db, sql().where(parse(text)), {"stage": "proposal", "pain": value}) is True
    assert selects(db, sql().where(parse(text)), {"stage": "proposal", "pain": "x"}) is False
    in_list = sql().where(parse(f"pain not in [{text.removeprefix('pain == ')}]"))
    assert selects(db, in_list, {"stage": "proposal", "pain": value}) is False
    assert db.execute("SELECT count(*) FROM opportunity").fetchone() == (1,)  # the table is still there


def test_a_typed_expression_is_read_by_its_types(db: sqlite3.Connection) -> None:
    typed, problems = annotate(parse("stage > 'discovery' and amount > 5"), OPPORTUNITY)
    assert problems == []
    assert selects(db, sql().where(typed), DEAL) is True


def test_what_sql_cannot_say_is_reported_at_its_span() -> None:
    with pytest.raises(SosError) as info:
        sql().violators(parse("stage > stage"), parse("is_changed(amount) or [1, 2]"))
    assert [d.headline() for d in info.value.diagnostics] == [
        "b.yaml:3:10: error: SQL compares a stage's order only with a stage written in the rule [unsupported]",
        "b.yaml:3:10: error: SQL has no is_changed() [unsupported]",
        "b.yaml:3:32: error: SQL has no lists outside 'in' [unsupported]",
    ]


def test_a_condition_too_deep_for_sqlite_is_refused_at_its_span() -> None:
    deep = "amount > " + "(discount + " * 40 + "1" + ")" * 40
    with pytest.raises(SosError) as info:
        sql().violators(parse("stage.is_open"), parse(deep))
    assert [d.headline() for d in info.value.diagnostics] == [f"b.yaml:3:10: error: {TOO_DEEP} [unsupported]"]
    assert sql().where(parse("amount > " + "(discount + " * 10 + "1" + ")" * 10))[0].count("discount") == 10


def test_a_value_that_does_not_fit_its_field_is_a_bad_record() -> None:
    with pytest.raises(SosError) as info:
        encode({"stage": "proposal", "amount": "lots"}, OPPORTUNITY)
    assert [(d.code, d.message) for d in info.value.diagnostics] == [
        ("bad-record", "field 'amount' holds 'lots', which is not a number")
    ]


def test_encoding() -> None:
    row = encode({**DEAL, "probability": 25, "pain": ""}, OPPORTUNITY)
    assert {
        key: row[key]
        for key in (
            "close_date",
            "created_date",
            "budget_confirmed",
            "competitors",
            "pain",
            "probability",
            "discount",
            "stage",
        )
    } == {
        "close_date": "2024-05-30",
        "created_date": "2024-05-29T12:00:00.000000Z",
        "budget_confirmed": 1,
        "competitors": '["Acme", "Globex"]',
        "pain": None,
        "probability": 25,
        "discount": None,
        "stage": "proposal",
    }
