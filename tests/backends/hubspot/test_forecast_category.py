"""A HubSpot deal's forecast category, the rep's call, is the property hs_manual_forecast_category, labelled
"Forecast category", with the values OMIT, PIPELINE, BEST_CASE, COMMIT and CLOSED (reference/hubspot.md, row "stage
forecast"; HubSpot's knowledge base, "Forecast category", for its options). The weekly reports read it and its
history from there, through the History sos builds on the portal."""

from __future__ import annotations

from datetime import UTC, datetime

from sos.backends.base import FieldChange
from sos.backends.hubspot.client import HubSpotClient
from sos.backends.hubspot.history import PortalHistory
from sos.model.resources import Model
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.loader import load_record


def test_a_deals_forecast_category_and_its_changes_are_read_from_the_reps_call(hub: HubSpotEmulator,
                                                                                client: HubSpotClient) -> None:
    owner, user = hub.portal.add_owner("ana@example.com")
    deal = load_record(hub.portal, "deals", {"dealname": "Acme", "dealstage": "qualifiedtobuy",
                                             "hubspot_owner_id": owner, "hs_manual_forecast_category": "BEST_CASE"},
                       created="2026-11-02T09:00:00Z", by=user,
                       updates=[("2026-11-30T15:00:00Z", user, {"hs_manual_forecast_category": "COMMIT"})])
    history = PortalHistory(client)

    [row] = history.rows("opportunity", ["forecast_category"], Model())
    assert (row["id"], row["forecast_category"]) == (deal, "commit")

    timeline = history.changes("opportunity", ["forecast_category"], datetime(2026, 11, 27, tzinfo=UTC), Model())
    assert timeline.unavailable == {}
    assert timeline.changes == (FieldChange(deal, "forecast_category", "best_case", "commit",
                                            datetime(2026, 11, 30, 15, tzinfo=UTC), "ana@example.com"),)
