from __future__ import annotations

import pytest

from sos.expr.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    LEAD_STATUS,
    NUMBER,
    PERCENT,
    STAGE,
    STANDARD_FIELDS,
    TEXT,
    USER,
    ExprType,
    StageInfo,
    multi_picklist,
    picklist,
    reference,
    scope_for,
    type_for_field,
)


@pytest.mark.parametrize(
    ("field_type", "expected"),
    [
        pytest.param("text", TEXT, id="text"),
        pytest.param("long_text", TEXT, id="long_text"),
        pytest.param("email", TEXT, id="email"),
        pytest.param("phone", TEXT, id="phone"),
        pytest.param("url", TEXT, id="url"),
        pytest.param("number", NUMBER, id="number"),
        pytest.param("currency", NUMBER, id="currency"),
        pytest.param("percent", PERCENT, id="percent"),
        pytest.param("checkbox", BOOLEAN, id="checkbox"),
        pytest.param("date", DATE, id="date"),
        pytest.param("datetime", DATETIME, id="datetime"),
        pytest.param("stage", STAGE, id="stage"),
        pytest.param("lead_status", LEAD_STATUS, id="lead_status"),
        pytest.param("user", USER, id="user"),
    ],
)
def test_type_for_field(field_type: str, expected: ExprType) -> None:
    assert type_for_field(field_type) == expected


def test_types_that_carry_more() -> None:
    assert type_for_field("picklist", values=["Price", "Timing"]) == picklist(["Price", "Timing"])
    assert type_for_field("multi_picklist", values=("a",)) == multi_picklist(["a"])
    assert type_for_field("lookup", to="contact") == reference("contact")
    assert reference("contact").describe() == "a reference to contact"


def test_unknown_field_type_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown field type 'string'"):
        type_for_field("string")


def test_standard_fields_match_the_spec() -> None:
    assert list(STANDARD_FIELDS["opportunity"]) == [
        "name", "amount", "close_date", "stage", "owner", "created_date", "next_step", "probability",
        "forecast_category", "days_in_stage", "last_activity_date", "lead_source", "account", "description", "type",
    ]
    assert list(STANDARD_FIELDS["lead"]) == [
        "first_name", "last_name", "name", "company", "email", "phone", "title", "status", "last_activity_date",
        "lead_source", "industry", "country", "state", "city", "employees", "annual_revenue", "website", "owner",
        "created_date", "description",
    ]
    assert list(STANDARD_FIELDS["account"]) == [
        "name", "industry", "employees", "annual_revenue", "country", "state", "type", "website", "owner",
        "created_date", "description",
    ]
    assert list(STANDARD_FIELDS["contact"]) == [
        "first_name", "last_name", "name", "email", "phone", "title", "account", "lead_source", "owner",
        "created_date", "description",
    ]
    opportunity = STANDARD_FIELDS["opportunity"]
    assert (opportunity["stage"], opportunity["account"], opportunity["probability"]) == (
        STAGE,
        reference("account"),
        PERCENT,
    )
    assert STANDARD_FIELDS["lead"]["status"] == LEAD_STATUS


def test_scope_for_merges_standard_and_custom_fields() -> None:
    scope = scope_for("opportunity", {"pain": TEXT}, stages=[StageInfo("won", "won")])
    assert scope.fields["pain"] == TEXT
    assert scope.fields["amount"] == NUMBER
    assert scope.stages == (StageInfo("won", "won"),)
    assert "stage" not in scope_for("lead", {}).fields
