"""The hygiene standard fields in the Salesforce dialects: days_in_stage (counted from LastStageChangeDate),
forecast_category (ForecastCategoryName) and last_activity_date (LastActivityDate). Each compiled formula is run
by the emulator's formula engine and each WHERE clause by its SOQL engine, on records that must pass and fail,
and both must agree with the evaluator."""

from __future__ import annotations

import datetime

import pytest

from sos.errors import SosError
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.soql import Soql
from sos.backends.salesforce.standard_fields import expression_naming
from tests.emulators.salesforce import soql as soql_engine
from tests.emulators.salesforce.formula import Context, check, fires
from tests.emulators.salesforce.formula import evaluate as evaluate_formula
from tests.emulators.salesforce.formula_types import check_condition
from tests.emulators.salesforce.org import FieldInfo
from tests.emulators.salesforce.rest import _getter as rest_getter
from tests.expr.dialects.test_sf_formula import (
    API_NAMES, FIELDS, NOW, STAGE_VALUES, STATUS_VALUES, USER_FIELDS, USER_OFFSET, generator, salesforce_record,
)
from tests.expr.helpers import OPPORTUNITY, parse

UTC_NOW = NOW.replace(tzinfo=datetime.UTC)   # 03:00 GMT on 2 June; the user's day (8 hours west) is still 1 June
GMT_TODAY = NOW.date()
EMULATOR_FIELDS = {**FIELDS,
                   "forecastcategoryname": FieldInfo("ForecastCategoryName", "Forecast Category", "Picklist", False),
                   "lastactivitydate": FieldInfo("LastActivityDate", "Last Activity", "Date", False)}
MIDNIGHT = datetime.datetime.combine(GMT_TODAY, datetime.time())
# When deals entered their stage: around midnight GMT and the user's midnight, from 3 days ago to tomorrow.
ENTERED = [MIDNIGHT + datetime.timedelta(days=days, seconds=seconds)
           for days in (-3, -2, -1, 0, 1) for seconds in (-1, 0, 1, 8 * 3600)]


def held(record: dict[str, object], entered: datetime.datetime | None, created: datetime.datetime,
         **more: object) -> dict[str, object]:
    """The deal as the REST API holds it: LastStageChangeDate and CreatedDate as ISO text in GMT."""
    return {"Id": "006Em0000000001AAA", **salesforce_record(record),
            "LastStageChangeDate": f"{entered:%Y-%m-%dT%H:%M:%S}.000+0000" if entered else None,
            "CreatedDate": f"{created:%Y-%m-%dT%H:%M:%S}.000+0000", **more}


def deployable(formula: str) -> str:
    def fields_of(obj: str) -> dict[str, FieldInfo]:
        return EMULATOR_FIELDS if obj == "Opportunity" else USER_FIELDS
    assert check(formula, "Opportunity", fields_of) == [] and check_condition(formula, "Opportunity", fields_of) == []
    return formula


def formula_fires(formula: str, row: dict[str, object]) -> bool:
    return fires(deployable(formula), Context(row, EMULATOR_FIELDS, UTC_NOW, USER_OFFSET))


def soql_finds(where: str, row: dict[str, object]) -> bool:
    query = soql_engine.parse(f"SELECT Id FROM Opportunity WHERE {where}")
    return bool(soql_engine.run(query, [row], rest_getter, UTC_NOW.astimezone(datetime.timezone(USER_OFFSET))))


def soql(text: str, today: datetime.date | None = GMT_TODAY) -> str:
    naming = expression_naming("opportunity", API_NAMES, STAGE_VALUES, STATUS_VALUES)
    return Soql(OPPORTUNITY, naming, today=today).generate(parse(text))


@pytest.mark.parametrize("text", [f"days_in_stage {op} {n}" for op in ("==", "!=", "<", "<=", ">", ">=")
                                  for n in (0, 1, 2, 2.5, -1)] + ["2 < days_in_stage", "days_in_stage > -0.5"])
@pytest.mark.parametrize("entered", [*ENTERED, None])
def test_days_in_stage_counts_gmt_days_since_the_stage_was_entered(text: str,
                                                                   entered: datetime.datetime | None) -> None:
    created = MIDNIGHT - datetime.timedelta(days=2, seconds=1)   # a deal never moved is in its stage since then
    days = (GMT_TODAY - (entered or created).date()).days
    expected = evaluate(parse(text), {"stage": "proposal", "days_in_stage": days}, OPPORTUNITY, today=GMT_TODAY)
    row = held({"stage": "proposal"}, entered, created)
    formula = generator("sf_formula", OPPORTUNITY).generate(parse(text))
    assert (formula_fires(formula, row), soql_finds(soql(text), row)) == (expected, expected), (formula, soql(text))


def test_days_in_stage_is_written_from_last_stage_change_date() -> None:
    assert generator("sf_formula", OPPORTUNITY).generate(parse("days_in_stage > 30")) == (
        "(DATEVALUE(NOW()) - DATEVALUE(BLANKVALUE(LastStageChangeDate, CreatedDate))) > 30")
    assert soql("days_in_stage > 30") == (
        "(LastStageChangeDate < 2024-05-03T00:00:00Z OR "
        "(LastStageChangeDate = null AND CreatedDate < 2024-05-03T00:00:00Z))")


@pytest.mark.parametrize(("text", "message"), [
    ("days_in_stage > amount", "SOQL cannot compare two fields"),
    ("days_in_stage + 1 > 3", "SOQL cannot do arithmetic"),
    ("days_in_stage in [1, 2]", "SOQL compares days_in_stage only with a number"),
])
def test_days_in_stage_beyond_a_number_is_unsupported_in_soql(text: str, message: str) -> None:
    with pytest.raises(SosError) as raised:
        soql(text)
    assert message in [d.message for d in raised.value.diagnostics]


def test_days_in_stage_in_soql_needs_the_clock() -> None:
    with pytest.raises(SosError, match="SOQL needs today's date to count days in stage"):
        soql("days_in_stage > 3", today=None)


FORECASTS = {"pipeline": "Pipeline", "best_case": "Best Case", "commit": "Commit", "closed": "Closed",
             "omitted": "Omitted"}


@pytest.mark.parametrize("text", ["forecast_category == 'commit'", "forecast_category != 'best_case'",
                                  "forecast_category in ['pipeline', 'best_case']",
                                  "forecast_category not in ['omitted']", "is_blank(forecast_category)"])
@pytest.mark.parametrize("category", [*FORECASTS, None])
def test_forecast_category_compares_salesforce_category_names(text: str, category: str | None) -> None:
    expected = evaluate(parse(text), {"stage": "proposal", "forecast_category": category}, OPPORTUNITY,
                        today=GMT_TODAY)
    row = held({"stage": "proposal"}, None, MIDNIGHT, ForecastCategoryName=FORECASTS.get(category or ""))
    formula = generator("sf_formula", OPPORTUNITY).generate(parse(text))
    assert (formula_fires(formula, row), soql_finds(soql(text), row)) == (expected, expected), (formula, soql(text))


def test_an_unknown_forecast_category_is_refused_at_its_span() -> None:
    expr = parse("forecast_category == 'upside'")
    with pytest.raises(SosError) as raised:
        generator("sf_formula", OPPORTUNITY).generate(expr)
    (problem,) = raised.value.diagnostics
    assert (problem.span, problem.message) == (
        expr.right.span,
        "Salesforce has no forecast_category 'upside'; it has 'pipeline', 'best_case', 'commit', 'closed', 'omitted'")


@pytest.mark.parametrize("text", ["last_activity_date < today()", "is_blank(last_activity_date)",
                                  "last_activity_date >= today()"])
@pytest.mark.parametrize("days_ago", [None, 0, 1, 30, 31])
def test_last_activity_date_is_last_activity(text: str, days_ago: int | None) -> None:
    user_today = (NOW + USER_OFFSET).date()   # today() and TODAY are the user's day in Salesforce
    last = None if days_ago is None else user_today - datetime.timedelta(days=days_ago)
    expected = evaluate(parse(text), {"stage": "proposal", "last_activity_date": last}, OPPORTUNITY, today=user_today)
    row = held({"stage": "proposal"}, None, MIDNIGHT, LastActivityDate=last.isoformat() if last else None)
    formula, where = generator("sf_formula", OPPORTUNITY).generate(parse(text)), soql(text, today=user_today)
    assert (formula_fires(formula, row), soql_finds(where, row)) == (expected, expected), (formula, where)
    assert evaluate_formula(deployable(formula), Context(row, EMULATOR_FIELDS, UTC_NOW, USER_OFFSET)) is expected
