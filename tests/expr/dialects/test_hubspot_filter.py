"""HubSpot search filterGroups that find a check's violators: the groups written for a condition, what is refused and
why, and (generated) that the emulator's search finds exactly the records the evaluator says break the condition."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sos.errors import SosError
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.hubspot_filter import FilterNaming, HubSpotFilter
from sos.expr.typecheck import check_expression
from sos.expr.types import BOOLEAN, DATE, TEXT, StageInfo, scope_for
from tests.emulators.hubspot import records as emulated
from tests.emulators.hubspot.limits import ManualClock
from tests.emulators.hubspot.portal import Portal, _built_in
from tests.emulators.hubspot.request import Request
from tests.expr.helpers import parse

TODAY = datetime.date(2026, 12, 4)
# The default pipeline's stages, keyed by their ids as `sos import` would key them.
DEALS = scope_for("opportunity", {"budget_confirmed": BOOLEAN, "competitor": TEXT, "signed_on": DATE}, stages=(
    StageInfo("appointmentscheduled"), StageInfo("qualifiedtobuy"), StageInfo("contractsent"),
    StageInfo("closedwon", "won"), StageInfo("closedlost", "lost")))
NAMING = FilterNaming({"amount": "amount", "close_date": "closedate", "created_date": "createdate",
                       "stage": "dealstage", "budget_confirmed": "budget_confirmed", "competitor": "competitor",
                       "signed_on": "signed_on", "name": "dealname"},
                      stage_ids={"closedwon": ("closedwon", "1038"), "closedlost": ("closedlost",)})
MIDNIGHT = 1796342400000    # 2026-12-04T00:00Z in milliseconds (`date -u -d 2026-12-04 +%s`)
DAY = 86_400_000


def groups(text: str, **options: Any) -> list[dict[str, Any]] | None:
    expr = parse(text)
    assert check_expression(expr, DEALS) == []
    return HubSpotFilter(DEALS, NAMING, today=TODAY).filter_groups(expr, **options)


def f(name: str, operator: str, value: Any = None) -> dict[str, Any]:
    found: dict[str, Any] = {"propertyName": name, "operator": operator}
    if isinstance(value, list):
        found["values"] = value
    elif value is not None:
        found["value"] = value
    return found


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("amount > 10000 and not budget_confirmed", [
        [f("amount", "GT", "10000"), f("budget_confirmed", "HAS_PROPERTY"), f("budget_confirmed", "NEQ", "true")],
        [f("amount", "GT", "10000"), f("budget_confirmed", "NOT_HAS_PROPERTY")]],
        id="checkbox-unchecked-or-blank"),
    pytest.param("not (amount > 5)", [[f("amount", "LTE", "5")], [f("amount", "NOT_HAS_PROPERTY")]],
                 id="negation-counts-blanks"),
    pytest.param("amount != 5", [[f("amount", "HAS_PROPERTY"), f("amount", "NEQ", "5")]], id="neq-needs-a-value"),
    pytest.param("stage == 'closedwon'", [[f("dealstage", "IN", ["closedwon", "1038"])]], id="stage-every-id"),
    pytest.param("stage.is_closed", [[f("dealstage", "IN", ["closedwon", "1038", "closedlost"])]],
                 id="stage-outcome"),
    pytest.param("stage >= 'contractsent' or is_blank(competitor)", [
        [f("competitor", "NOT_HAS_PROPERTY")], [f("dealstage", "IN", ["contractsent", "closedwon", "1038"])]],
        id="stage-order-or-blank"),
    pytest.param("created_date <= today() - 1.5", [[f("createdate", "LT", str(MIDNIGHT))]], id="datetime-by-day"),
    pytest.param("close_date == today()", [[f("closedate", "GTE", str(MIDNIGHT)),
                                            f("closedate", "LT", str(MIDNIGHT + DAY))]], id="date-is-a-day"),
    pytest.param("is_blank(competitor) and competitor == 'acme'", None, id="contradiction-needs-no-search"),
    pytest.param("true or amount > 1", [], id="always-searches-everything"),
    pytest.param("competitor in ['acme', 'globex']", [[f("competitor", "IN", ["acme", "globex"])]], id="text-in"),
])
def test_filter_groups(text: str, expected: list[list[dict[str, Any]]] | None) -> None:
    found = groups(text)
    assert found == (None if expected is None else [{"filters": group} for group in expected])


def test_a_pipeline_filter_joins_every_group() -> None:
    assert groups("amount > 1 or budget_confirmed", within=(("pipeline", "EQ", ("77",)),)) == [
        {"filters": [f("amount", "GT", "1"), f("pipeline", "EQ", "77")]},
        {"filters": [f("budget_confirmed", "EQ", "true"), f("pipeline", "EQ", "77")]}]


@pytest.mark.parametrize(("text", "messages"), [
    pytest.param("amount > signed_on_days", None, id="unknown"),
    pytest.param("competitor != 'acme'", ["HubSpot compares text without regard to case, so its NEQ on competitor "
                                          "would miss records the check counts"], id="text-neq"),
    pytest.param("days_since(close_date) > 3", ["HubSpot's search has no days_since()"], id="days-since"),
    pytest.param("amount > 1 + 3", ["HubSpot's search cannot do arithmetic"], id="arithmetic"),
    pytest.param("close_date < signed_on", ["HubSpot's search cannot compare two properties"], id="two-properties"),
    pytest.param("(amount == 1 or amount == 2) and (amount == 3 or amount == 4) and (amount == 5 or amount == 6)",
                 ["it needs 8 filter groups of 24 filters; HubSpot's search takes at most 5 groups of 6, 18 in all"],
                 id="too-many-groups"),
])
def test_what_the_search_cannot_say(text: str, messages: list[str] | None) -> None:
    expr = parse(text)
    with pytest.raises(SosError) as info:
        HubSpotFilter(DEALS, NAMING, today=TODAY).filter_groups(expr)
    assert {d.code for d in info.value.diagnostics} == {"unsupported"}
    if messages is not None:
        assert [d.message for d in info.value.diagnostics] == messages


# -- generated: the emulator's search agrees with the evaluator ----------------------------------------------------

ATOMS = ["amount > 10000", "amount <= 5", "amount == 0", "amount != 5", "amount == null", "amount not in [5, 0]",
         "is_blank(competitor)", "competitor == 'acme'", "competitor in ['acme', 'globex']", "competitor != null",
         "budget_confirmed", "budget_confirmed == false", "budget_confirmed == null", "stage == 'closedwon'",
         "stage != 'closedlost'", "stage in ['appointmentscheduled', 'contractsent']", "stage.is_open",
         "stage >= 'contractsent'", "stage < 'qualifiedtobuy'", "close_date < today()", "close_date >= today() - 3",
         "close_date <= today()", "created_date < today()", "created_date == today()", "created_date > today() + 1",
         "signed_on != today()", "signed_on == null", "true", "false"]


def conditions() -> st.SearchStrategy[str]:
    return st.recursive(st.sampled_from(ATOMS), lambda inner: st.one_of(
        inner.map(lambda c: f"not ({c})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})")),
        max_leaves=4)


def deal_values() -> st.SearchStrategy[dict[str, str]]:
    day = st.integers(-4, 4).map(lambda d: TODAY + datetime.timedelta(days=d))
    moment = st.tuples(day, st.sampled_from(["00:00:00", "00:00:01", "15:00:00", "23:59:59"])).map(
        lambda t: f"{t[0]}T{t[1]}Z")
    values = st.fixed_dictionaries({
        "dealname": st.just("deal"), "dealstage": st.sampled_from(["appointmentscheduled", "qualifiedtobuy",
                                                                   "contractsent", "closedwon", "closedlost"]),
        "amount": st.sampled_from(["", "0", "5", "10000", "20000.5"]), "closedate": st.one_of(st.just(""), moment),
        "createdate": moment, "budget_confirmed": st.sampled_from(["", "true", "false"]),
        "competitor": st.sampled_from(["", "acme", "globex", "initech"]),
        "signed_on": st.one_of(st.just(""), day.map(str))})
    return values.map(lambda v: {k: x for k, x in v.items() if x != ""})


def portal_with(deals: list[dict[str, str]]) -> Portal:
    portal = Portal(62515, ManualClock())
    for name, kind in (("budget_confirmed", ("bool", "booleancheckbox")), ("competitor", ("string", "text")),
                       ("signed_on", ("date", "date"))):
        options = (("true", "Yes"), ("false", "No")) if kind[0] == "bool" else None
        portal.properties["deals"][name] = _built_in(name, name, kind, False, options, group="dealinformation")
    for values in deals:
        emulated.store(portal, "deals", values)
    return portal


def as_evaluated(values: dict[str, str]) -> dict[str, object]:
    """A deal as records.py hands it to the evaluator (dates cut to the day, checkboxes as booleans)."""
    return {"amount": float(values["amount"]) if "amount" in values else None,
            "close_date": values["closedate"][:10] if "closedate" in values else None,
            "created_date": values["createdate"].replace("Z", "+00:00"), "stage": values["dealstage"],
            "budget_confirmed": values["budget_confirmed"] == "true" if "budget_confirmed" in values else None,
            "competitor": values.get("competitor"), "signed_on": values.get("signed_on")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=conditions(), deals=st.lists(deal_values(), min_size=1, max_size=12))
def test_the_emulators_search_finds_what_the_evaluator_counts(condition: str, deals: list[dict[str, str]]) -> None:
    expr = parse(condition)
    portal = portal_with(deals)
    try:
        found = HubSpotFilter(DEALS, NAMING, today=TODAY).filter_groups(expr)
    except SosError as error:   # only the search's limits and its case-blind text refuse these conditions
        assert all(d.message.startswith(("it needs", "HubSpot compares text")) for d in error.diagnostics), error
        return
    stored = list(portal.records["deals"].values())
    expected = {r["id"] for r in stored if evaluate(expr, as_evaluated(r["properties"]), DEALS, today=TODAY) is True}
    if found is None:
        assert expected == set()
        return
    status, reply = emulated.search(Request(portal, {"objectType": "deals"}, {},
                                            {"filterGroups": found, "limit": 200}))
    assert status == 200
    assert ({r["id"] for r in reply["results"]}, reply["total"]) == (expected, len(expected))
