"""The emulator's SOQL engine, where its strictness guards the generated WHERE clauses."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest

from tests.emulators.salesforce import soql
from tests.emulators.salesforce.rest import _getter

ROWS = [{"Id": "006Em0000000001AAA", "Channels__c": "Email;Phone", "Amount": 5},
        {"Id": "006Em0000000002AAA", "Channels__c": None, "Amount": None}]


def found(where: str) -> list[str]:
    query = soql.parse(f"SELECT Id FROM Opportunity WHERE {where}")
    return [str(row["Id"])[-4:] for row in soql.run(query, ROWS, _getter, datetime(2024, 6, 1, tzinfo=UTC))]


@pytest.mark.parametrize(("where", "ids"), [
    # SOQL and SOSL Reference, "Querying Multi-Select Picklists": any listed entry matches; 'a;b' needs both
    pytest.param("Channels__c INCLUDES ('Phone')", ["1AAA"], id="includes"),
    pytest.param("Channels__c INCLUDES ('Fax', 'email;phone')", ["1AAA"], id="includes-both-of-an-entry"),
    pytest.param("Channels__c INCLUDES ('Email;Fax')", [], id="includes-needs-every-part"),
    pytest.param("Channels__c EXCLUDES ('Fax')", ["1AAA", "2AAA"], id="excludes"),
    pytest.param("Amount > 1 AND (Amount < 3 OR Amount = 5)", ["1AAA"], id="parenthesised-mix"),
])
def test_where_clauses(where: str, ids: list[str]) -> None:
    assert found(where) == ids


def test_and_and_or_mixed_without_parentheses_are_refused() -> None:
    with pytest.raises(soql.SoqlError) as refused:
        found("Amount > 1 AND Amount < 3 OR Amount = 5")
    assert refused.value.code == "MALFORMED_QUERY"
    assert refused.value.message.endswith("unexpected token: 'OR'")


MOMENTS = [{"Id": "006Em0000000001AAA", "LastStageChangeDate": "2024-05-31T00:00:00.000+0000"},
           {"Id": "006Em0000000002AAA", "LastStageChangeDate": "2024-05-30T23:59:59.000Z"}]


@pytest.mark.parametrize(("where", "ids"), [
    pytest.param("LastStageChangeDate >= 2024-05-31T00:00:00Z", ["1AAA"], id="at-the-moment"),
    pytest.param("LastStageChangeDate < 2024-05-31T00:00:00Z", ["2AAA"], id="before-the-moment"),
    pytest.param("LastStageChangeDate = 2024-05-31T02:00:00+02:00", ["1AAA"], id="same-moment-other-offset"),
])
def test_dates_and_times_compare_as_moments_whatever_their_spelling(where: str, ids: list[str]) -> None:
    query = soql.parse(f"SELECT Id FROM Opportunity WHERE {where}")
    assert [str(r["Id"])[-4:] for r in soql.run(query, MOMENTS, _getter, datetime(2024, 6, 1, tzinfo=UTC))] == ids
