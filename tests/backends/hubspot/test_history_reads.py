"""How the HubSpot client reads property history (client.history_since) and tasks (client.created_since) for the
weekly reports, against the emulator over real HTTP: when few records changed (or were made) since the date, a
search for them and a batch read of their history (or associations); else every record, listed. Both answer every
record with a version at or after the date (the objects guides: "propertiesWithHistory"; the search guide: filters
on hs_lastmodifieddate; the associations v4 guide), in the calls counted here."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hubspot.crm.deals import SimplePublicObjectInput

import pytest

from sos.backends.hubspot import client as client_module
from sos.backends.hubspot.client import HubSpotClient
from tests.emulators.hubspot import HubSpotEmulator, ManualClock
from tests.emulators.hubspot.loader import load_record

LIST = "GET /crm/v3/objects/{objectType}"
SEARCH = "POST /crm/v3/objects/{objectType}/search"
BATCH_READ = "POST /crm/v3/objects/{objectType}/batch/read"
ASSOCIATIONS = "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"


def three_moved(hub: HubSpotEmulator) -> tuple[list[str], datetime, tuple[str, ...]]:
    """120 deals, three of them moved to another stage three days later: (the deals, when, the three)."""
    clock = hub.clock
    assert isinstance(clock, ManualClock)
    deals = hub.seed("deals", [{"dealname": f"Deal {n}", "dealstage": "qualifiedtobuy"} for n in range(120)])
    clock.advance(seconds=3 * 86400)
    since = clock()
    moved = deals[5], deals[70], deals[119]
    for deal in moved:
        hub.client().crm.deals.basic_api.update(deal_id=deal, simple_public_object_input=SimplePublicObjectInput(
            properties={"dealstage": "contractsent"}))
    return deals, since, moved


def test_the_few_deals_changed_since_a_date_are_searched_and_read_in_a_batch(hub: HubSpotEmulator,
                                                                           client: HubSpotClient) -> None:
    deals, since, moved = three_moved(hub)
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


def test_changes_that_outgrow_what_a_search_pages_through_are_listed(hub: HubSpotEmulator, client: HubSpotClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot pages no further than 10,000 results of a search: if more records changed than it pages through
    (here, a ceiling of 2 stands for it, reached between the count and the search), they are all listed."""
    deals, since, _ = three_moved(hub)
    monkeypatch.setattr(client_module, "SEARCH_CEILING", 2)
    client.whoami()
    client.calls.clear()
    found = list(client.history_since("deals", int(since.timestamp() * 1000), ["dealstage"]))
    assert sorted(r["id"] for r in found) == sorted(deals)
    assert client.calls == Counter({SEARCH: 3, LIST: 3})    # the counts, the search refused at its first page


def test_the_few_tasks_created_since_a_date_are_searched_with_their_deals(hub: HubSpotEmulator,
                                                                         client: HubSpotClient) -> None:
    (deal, other) = hub.seed("deals", [{"dealname": "Acme", "dealstage": "qualifiedtobuy"},
                                       {"dealname": "Globex", "dealstage": "qualifiedtobuy"}])
    tasks = {load_record(hub.portal, "tasks", {"hs_task_subject": f"Task {n}", "hs_timestamp": "2026-11-30"},
                         created=f"2026-11-{1 + n % 28:02d}T09:00:00Z", by=None,
                         associations={"deals": [deal, other] if n == 110 else [deal]}): n for n in range(250)}
    client.whoami()
    client.calls.clear()
    since = int(datetime(2026, 11, 27, tzinfo=UTC).timestamp() * 1000)
    found = {t["id"]: (t["properties"]["hs_task_subject"], [a["id"] for a in t["associations"]["deals"]["results"]])
             for t in client.created_since("tasks", since, ["hs_task_subject"], "deals")}
    assert found == {task: (f"Task {n}", [deal, other] if n == 110 else [deal])
                     for task, n in tasks.items() if 1 + n % 28 >= 27}
    # two counts, one page of the search, one read of their associations
    assert client.calls == Counter({SEARCH: 3, ASSOCIATIONS: 1})

    client.calls.clear()
    assert len(list(client.created_since("tasks", 0, ["hs_task_subject"], "deals"))) == 250
    assert client.calls == Counter({SEARCH: 2, LIST: 3})     # all created since: listed, 100 a page
