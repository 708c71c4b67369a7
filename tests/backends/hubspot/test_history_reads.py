"""How the HubSpot client reads property history for the weekly reports (client.history_since), against the emulator
over real HTTP: when few records changed since the date, a search for their ids and a batch read of them; else every
record, listed. Both answer every record with a version at or after the date (the objects guides:
"propertiesWithHistory"; the search guide: filters on hs_lastmodifieddate), in the calls counted here."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hubspot.crm.deals import SimplePublicObjectInput

from sos.backends.hubspot.client import HubSpotClient
from tests.emulators.hubspot import HubSpotEmulator, ManualClock

LIST = "GET /crm/v3/objects/{objectType}"
SEARCH = "POST /crm/v3/objects/{objectType}/search"
BATCH_READ = "POST /crm/v3/objects/{objectType}/batch/read"


def test_the_few_deals_changed_since_a_date_are_searched_and_read_in_a_batch(hub: HubSpotEmulator,
                                                                           client: HubSpotClient) -> None:
    clock = hub.clock
    assert isinstance(clock, ManualClock)
    deals = hub.seed("deals", [{"dealname": f"Deal {n}", "dealstage": "qualifiedtobuy"} for n in range(120)])
    clock.advance(seconds=3 * 86400)
    since = clock()
    moved = deals[5], deals[70], deals[119]
    for deal in moved:
        hub.client().crm.deals.basic_api.update(deal_id=deal, simple_public_object_input=SimplePublicObjectInput(
            properties={"dealstage": "contractsent"}))
    client.whoami()
    client.calls.clear()
    found = {r["id"]: [v["value"] for v in r["propertiesWithHistory"]["dealstage"]]
             for r in client.history_since("deals", int(since.timestamp() * 1000), ["dealstage"])}
    assert found == {deal: ["contractsent", "qualifiedtobuy"] for deal in moved}
    # two counts (the changed ones, all), one page of the search, one batch read
    assert client.calls == Counter({SEARCH: 3, BATCH_READ: 1})

    client.calls.clear()
    every = list(client.history_since("deals", int((since - timedelta(days=4)).timestamp() * 1000), ["dealstage"]))
    assert sorted(r["id"] for r in every) == sorted(deals)
    assert client.calls == Counter({SEARCH: 2, LIST: 3})    # all changed since: listed, 50 a page
