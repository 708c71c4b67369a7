"""Every History reads the CRM's dates and times through one parser (backends.base.utc_moment): the forms the APIs
write — Salesforce's `…T10:00:00.000+0000` (REST API Developer Guide, "Valid Date and DateTime Formats"), HubSpot's
and Pipedrive v2's `…T10:00:00.000Z`, Pipedrive v1's `2026-12-04 10:00:00` in UTC (reference/pipedrive.md) — are one
moment, timezone-aware UTC, whatever the time zone of the machine sos runs on."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest

from sos.backends.base import utc_moment


@pytest.fixture
def in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("in_new_york")
@pytest.mark.parametrize("text", ["2026-12-04T10:00:00.000+0000", "2026-12-04T10:00:00.000Z", "2026-12-04T10:00:00Z",
                                  "2026-12-04 10:00:00", "2026-12-04T11:00:00+01:00"])
def test_each_crms_form_of_a_moment_is_the_same_utc_moment(text: str) -> None:
    moment = utc_moment(text)
    assert moment == datetime.datetime(2026, 12, 4, 10, 0, tzinfo=datetime.UTC)
    assert moment.tzinfo is datetime.UTC
