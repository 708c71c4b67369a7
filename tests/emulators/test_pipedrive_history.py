"""The Pipedrive emulator's history side over real HTTP: a deal's changelog written by API saves, activities, leads
and users, with their paging, filters and errors (sources in tests/emulators/pipedrive/history.py)."""

from __future__ import annotations

import pytest

from tests.emulators.pipedrive import PipedriveEmulator
from tests.emulators.pipedrive.loader import add_activity, add_lead, load_deal
from tests.emulators.test_pipedrive_emulator import CLOCK, Api, api, pipedrive, running  # noqa: F401 - fixtures


def test_each_save_through_the_api_writes_the_changelog_of_the_fields_it_changed(
        pipedrive: PipedriveEmulator, api: Api) -> None:  # noqa: F811
    stages = [s.id for s in pipedrive.account.ordered_stages(1)]
    deal = api.ok("POST", "/api/v2/deals", json={"title": "Acme", "value": 1000, "stage_id": stages[0]})
    assert api.ok("GET", f"/v1/deals/{deal['id']}/changelog") == []        # its creation is no item
    CLOCK.advance(3600)
    api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"stage_id": stages[1], "value": 1500})
    api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"value": 1500})    # nothing changes: nothing logged
    CLOCK.advance(60)
    api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"status": "won", "expected_close_date": "2026-12-31"})
    moved = CLOCK().strftime("%Y-%m-%d %H:%M:%S")
    logged = api.ok("GET", f"/v1/deals/{deal['id']}/changelog")
    assert [(i["field_key"], i["old_value"], i["new_value"]) for i in logged] == [
        ("value", "1000", "1500"), ("stage_id", str(stages[0]), str(stages[1])),
        ("status", "open", "won"), ("expected_close_date", None, "2026-12-31")]
    assert {i["actor_user_id"] for i in logged} == {pipedrive.account.user["id"]}
    assert logged[-1]["time"] == moved and logged[-1]["change_source"] == "api"
    first = api.call("GET", f"/v1/deals/{deal['id']}/changelog", params={"limit": 3}).json()
    rest = api.call("GET", f"/v1/deals/{deal['id']}/changelog",
                    params={"cursor": first["additional_data"]["next_cursor"]}).json()
    assert len(first["data"]) == 3 and rest["data"] == logged[3:] and rest["additional_data"]["next_cursor"] is None
    api.refused("GET", "/v1/deals/999999/changelog", 404, "Deal not found")
    token = pipedrive.oauth_token({"deals:read"})
    response = Api(pipedrive, token, bearer=True).call("GET", f"/v1/deals/{deal['id']}/changelog")
    assert (response.status_code, response.json()["error"]) == (403, "Scope and URL mismatch")   # recents:read


def test_a_loaded_deal_keeps_its_past_in_the_changelog(pipedrive: PipedriveEmulator, api: Api) -> None:  # noqa: F811
    account = pipedrive.account
    rep = account.add_user("rep@example.com")
    first, second = (s.id for s in account.ordered_stages(1)[:2])
    deal = load_deal(account, {"title": "Old", "stage_id": first, "value": 10, "owner_id": rep["id"]},
                     created="2026-10-01T09:00:00Z",
                     updates=[("2026-10-05T10:00:00Z", rep["id"], {"stage_id": second}),
                              ("2026-10-09T11:00:00Z", rep["id"], {"status": "lost"})])
    shown = api.ok("GET", f"/api/v2/deals/{deal}")
    assert (shown["add_time"], shown["stage_change_time"], shown["status"], shown["lost_time"]) == (
        "2026-10-01T09:00:00Z", "2026-10-05T10:00:00Z", "lost", "2026-10-09T11:00:00Z")
    assert [(i["field_key"], i["new_value"], i["time"], i["actor_user_id"])
            for i in api.ok("GET", f"/v1/deals/{deal}/changelog")] == [
        ("stage_id", str(second), "2026-10-05 10:00:00", rep["id"]),
        ("status", "lost", "2026-10-09 11:00:00", rep["id"])]


def test_activities_are_filtered_by_deal_lead_done_and_update_time(
        pipedrive: PipedriveEmulator, api: Api) -> None:  # noqa: F811
    account = pipedrive.account
    owner = account.user["id"]
    [deal] = account.seed_sample(1)
    lead = add_lead(account, "Jo", owner=owner, created="2026-12-01T08:00:00Z", label_ids=[], source_name="Web")
    add_activity(account, "Call", owner=owner, created="2026-11-01T09:00:00Z", due="2026-11-02",
                 done="2026-11-02T10:00:00Z", deal_id=deal["id"])
    add_activity(account, "Demo", owner=owner, created="2026-12-02T09:00:00Z", due="2026-12-09T15:30Z",
                 deal_id=deal["id"])
    add_activity(account, "First touch", owner=owner, created="2026-12-01T08:00:00Z", due="2026-12-02", lead_id=lead)
    subjects = lambda **params: [a["subject"] for a in api.ok("GET", "/api/v2/activities", params=params)]  # noqa: E731
    assert subjects(deal_id=deal["id"]) == ["Call", "Demo"]
    assert subjects(lead_id=lead) == ["First touch"]
    assert subjects(done="true") == ["Call"]
    assert subjects(updated_since="2026-12-01T00:00:00Z") == ["Demo", "First touch"]
    demo = api.ok("GET", "/api/v2/activities", params={"deal_id": deal["id"], "done": "false"})[0]
    assert (demo["due_date"], demo["due_time"], demo["marked_as_done_time"]) == ("2026-12-09", "15:30", None)
    page = api.call("GET", "/api/v2/activities", params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["additional_data"]["next_cursor"]
    api.refused("GET", "/api/v2/activities", 400, "done must be a boolean", params={"done": "yes"})
    api.refused("GET", "/api/v2/activities", 400, "updated_since must be an RFC 3339 time, e.g. 2025-01-01T10:20:00Z",
                params={"updated_since": "2026-12-01"})


@pytest.mark.parametrize(("status", "expected"), [({}, ["A", "B", "C"]), ({"archived_status": "archived"}, ["B"]),
                                                  ({"archived_status": "not_archived"}, ["A", "C"])])
def test_leads_page_by_start_and_limit_and_filter_on_archiving(pipedrive: PipedriveEmulator, api: Api,  # noqa: F811
                                                               status: dict[str, str], expected: list[str]) -> None:
    account = pipedrive.account
    label = next(iter(account.lead_labels))
    for day, title in enumerate("ABC", start=1):
        add_lead(account, title, owner=account.user["id"], created=f"2026-12-0{day}T08:00:00Z", label_ids=[label],
                 source_name=None)
    next(lead for lead in account.leads.values() if lead["title"] == "B")["is_archived"] = True
    first = api.call("GET", "/v1/leads", params={**status, "limit": 2}).json()
    titles = [lead["title"] for lead in first["data"]]
    if first["additional_data"]["pagination"]["more_items_in_collection"]:
        titles += [lead["title"] for lead in api.ok("GET", "/v1/leads", params={**status, "limit": 2, "start": 2})]
    assert titles == expected
    assert first["data"][0]["label_ids"] == [label]
    api.refused("GET", "/v1/leads", 400, "archived_status must be one of: archived, not_archived, all",
                params={"archived_status": "old"})


def test_users_are_listed_and_may_own_deals(pipedrive: PipedriveEmulator, api: Api) -> None:  # noqa: F811
    rep = pipedrive.account.add_user("rep@example.com")
    assert [u["email"] for u in api.ok("GET", "/v1/users")] == ["admin@acme.example", "rep@example.com"]
    deal = api.ok("POST", "/api/v2/deals", json={"title": "Theirs", "owner_id": rep["id"]})
    assert deal["owner_id"] == rep["id"]
    api.refused("POST", "/api/v2/deals", 404, "User not found", json={"title": "Nobody's", "owner_id": 424242})
