"""The HubSpot client through hubspot-api-client over real HTTP against the emulator: the token's portal and scopes
first, every call it makes, paging, pacing under the burst limit, each fault HubSpot answers with, the counts, and
the token kept out of everything it says."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sos.backends.hubspot.auth import connection
from sos.backends.hubspot.client import HubSpotApiError, HubSpotClient
from sos.errors import SosError
from tests.backends.hubspot.conftest import MakeClient, hubspot_target
from tests.emulators.hubspot import ALL_SCOPES, HubSpotEmulator

PIPELINES = "GET /crm/v3/pipelines/{objectType}"
TOKEN_INFO = "POST /oauth/v2/private-apps/get/access-token-info"
BATCH_CREATE = "POST /crm/v3/properties/{objectType}/batch/create"
SEARCH = "POST /crm/v3/objects/{objectType}/search"
NEW_BUSINESS = {"label": "New Business", "displayOrder": 1, "stages": [
    {"label": "Discovery", "displayOrder": 0, "metadata": {"probability": "0.1"}},
    {"label": "Won", "displayOrder": 1, "metadata": {"probability": "1.0", "isClosed": "true"}},
    {"label": "Lost", "displayOrder": 2, "metadata": {"probability": "0.0", "isClosed": "true"}}]}


def failure(exc: pytest.ExceptionInfo[Any]) -> tuple[str, str, str]:
    """The headline, fix and why of the one diagnostic a SosError carries."""
    [diagnostic] = exc.value.diagnostics
    return diagnostic.headline(), diagnostic.fix, diagnostic.why


def field(name: str, group: str = "sos") -> dict[str, Any]:
    return {"name": name, "label": name.replace("_", " "), "type": "string", "fieldType": "text",
            "groupName": group}


# -- who the token is ---------------------------------------------------------------------


def test_whoami_names_the_tokens_portal_and_scopes_in_one_call(hub: HubSpotEmulator,
                                                               client: HubSpotClient) -> None:
    account = client.whoami()
    assert (account.portal_id, account.scopes) == (62515, ALL_SCOPES)
    assert client.whoami() is account
    assert hub.calls == {TOKEN_INFO: 1} == client.calls


def test_a_token_for_another_portal_is_refused_before_anything_else_is_read(hub: HubSpotEmulator,
                                                                            make_client: MakeClient) -> None:
    other = make_client(token=hub.add_token(portal_id=99001), portal_id=62515)
    with pytest.raises(SosError) as refused:
        other.pipelines("deals")
    headline, fix, _ = failure(refused)
    assert headline == ("error: the token in HUBSPOT_ACCESS_TOKEN belongs to HubSpot portal 99001, not to portal "
                        "62515 (the target's portal_id); nothing was read or changed [hs-wrong-portal]")
    assert fix == "export the token of portal 62515's app in HUBSPOT_ACCESS_TOKEN, or correct portal_id"
    assert hub.calls == {TOKEN_INFO: 1}


def test_without_a_portal_id_any_portal_is_accepted_and_checked_once(hub: HubSpotEmulator,
                                                                     make_client: MakeClient) -> None:
    anyone = make_client()
    anyone.pipelines("deals")
    anyone.pipelines("deals")
    assert hub.calls == {TOKEN_INFO: 1, PIPELINES: 2}


def test_missing_scopes_are_all_named_with_the_fix_before_a_call_needs_them(hub: HubSpotEmulator,
                                                                            make_client: MakeClient) -> None:
    reader = make_client(token=hub.add_token(["oauth", "crm.schemas.deals.read", "crm.objects.deals.read"]))
    reader.require_scopes({"crm.schemas.deals.read"}, "sos plan")
    with pytest.raises(SosError) as refused:
        reader.require_scopes({"crm.schemas.deals.read", "crm.schemas.deals.write", "crm.schemas.contacts.write"},
                              "sos apply")
    headline, fix, _ = failure(refused)
    assert headline == ("error: the HubSpot app whose token is in HUBSPOT_ACCESS_TOKEN lacks the scopes "
                        "crm.schemas.contacts.write, crm.schemas.deals.write, needed for sos apply "
                        "[hs-missing-scopes]")
    assert fix == ("add crm.schemas.contacts.write, crm.schemas.deals.write to the app's scopes (a private app: its "
                   "Scopes tab, then commit the change; a developer-platform app: its configuration, then upload the "
                   "project again) and run the command again")
    assert hub.calls == {TOKEN_INFO: 1}


def test_a_403_for_a_missing_scope_names_the_scope_hubspot_asked_for(hub: HubSpotEmulator,
                                                                     make_client: MakeClient) -> None:
    reader = make_client(token=hub.add_token(["oauth", "crm.schemas.deals.read"]))
    with pytest.raises(SosError) as refused:
        reader.create_pipeline("deals", NEW_BUSINESS)
    assert failure(refused)[0] == (
        "error: the HubSpot app whose token is in HUBSPOT_ACCESS_TOKEN lacks the scope "
        "crm.schemas.deals.write, needed for POST /crm/v3/pipelines/deals [hs-missing-scopes]")
    assert [p["id"] for p in hub.portal.live_pipelines("deals")] == ["default"]


def test_a_wrong_token_is_refused_plainly(hub: HubSpotEmulator, make_client: MakeClient) -> None:
    wrong = make_client(token="pat-na1-00000000-0000-0000-0000-000000000000")
    with pytest.raises(SosError) as refused:
        wrong.pipelines("deals")
    headline, fix, _ = failure(refused)
    assert headline == ("error: HubSpot refused the access token in HUBSPOT_ACCESS_TOKEN (401 INVALID_AUTHENTICATION: "
                        "The access token is not valid for any account. Check the private app's access token.): it "
                        "is wrong, or its app's token was rotated or the app deleted [hs-auth-failed]")
    assert fix == ("copy the app's access token again from its Auth tab in HubSpot (Development → Legacy apps, or "
                   "Projects, → the app → Auth) and `export HUBSPOT_ACCESS_TOKEN=<the token>`")
    assert hub.calls == {TOKEN_INFO: 1}


def test_a_token_revoked_during_a_command_stops_it_without_retrying(hub: HubSpotEmulator,
                                                                    client: HubSpotClient) -> None:
    client.pipelines("deals")
    hub.faults.expire_token()
    with pytest.raises(SosError) as refused:
        client.properties("deals")
    assert failure(refused)[0].startswith("error: HubSpot refused the access token in HUBSPOT_ACCESS_TOKEN "
                                          "(401 EXPIRED_AUTHENTICATION")
    assert client.calls["GET /crm/v3/properties/{objectType}"] == 1


# -- pipelines, stages, groups, properties ----------------------------------------------------------


def test_pipelines_and_stages_are_read_created_changed_and_archived(hub: HubSpotEmulator,
                                                                    client: HubSpotClient) -> None:
    assert [(p["id"], len(p["stages"])) for p in client.pipelines("deals")] == [("default", 7)]
    created = client.create_pipeline("deals", NEW_BUSINESS)
    assert [(s["label"], s["metadata"]) for s in created["stages"]] == [
        ("Discovery", {"probability": "0.1", "isClosed": "false"}),
        ("Won", {"probability": "1.0", "isClosed": "true"}), ("Lost", {"probability": "0.0", "isClosed": "true"})]
    pipeline_id = created["id"]
    proposal = client.create_stage("deals", pipeline_id, {"label": "Proposal", "displayOrder": 1,
                                                          "metadata": {"probability": "0.6"}})
    client.update_stage("deals", pipeline_id, proposal["id"], {"label": "Proposal sent",
                                                               "metadata": {"probability": "0.7"}})
    client.archive_stage("deals", pipeline_id, created["stages"][0]["id"])
    assert client.update_pipeline("deals", pipeline_id, {"label": "New Logos"})["label"] == "New Logos"
    stored = hub.portal.pipelines["deals"][pipeline_id]
    assert sorted((s["label"], s["metadata"]["probability"], s["archived"]) for s in stored["stages"].values()) == [
        ("Discovery", "0.1", True), ("Lost", "0.0", False), ("Proposal sent", "0.7", False), ("Won", "1.0", False)]
    client.archive_pipeline("deals", pipeline_id)
    assert [p["id"] for p in client.pipelines("deals")] == ["default"]


def test_a_stage_or_pipeline_that_deals_are_in_is_never_archived(hub: HubSpotEmulator, client: HubSpotClient) -> None:
    # v3 archives them anyway unless the call asks HubSpot to check (its default): deals between plan and apply.
    created = client.create_pipeline("deals", NEW_BUSINESS)
    pipeline_id, discovery = created["id"], created["stages"][0]["id"]
    hub.seed("deals", [{"dealname": "Held", "pipeline": pipeline_id, "dealstage": discovery}])
    with pytest.raises(HubSpotApiError) as stage:
        client.archive_stage("deals", pipeline_id, discovery)
    assert failure(stage)[0].startswith(f"error: HubSpot refused DELETE /crm/v3/pipelines/deals/{pipeline_id}/stages/"
                                        f"{discovery}: 409 ")
    with pytest.raises(HubSpotApiError) as pipeline:
        client.archive_pipeline("deals", pipeline_id)
    assert pipeline.value.status == 409
    stored = hub.portal.pipelines["deals"][pipeline_id]
    assert not stored["archived"] and not stored["stages"][discovery]["archived"]

def test_groups_and_properties_are_read_created_in_batches_of_100_changed_and_archived(
        hub: HubSpotEmulator, client: HubSpotClient) -> None:
    client.create_group("deals", {"name": "sos", "label": "sos", "displayOrder": -1})
    assert {g["name"] for g in client.groups("deals")} == {"dealinformation", "sos"}
    names = [f"sos_field_{n:03}" for n in range(250)]
    created = client.create_properties("deals", [field(name) for name in names])
    assert sorted(p["name"] for p in created) == names
    assert hub.calls[BATCH_CREATE] == 3
    assert {p["name"] for p in client.properties("deals")} >= set(names) | {"dealname", "amount"}
    client.update_property("contacts", "hs_lead_status", {"options": [
        {"label": "New", "value": "NEW", "displayOrder": 0}, {"label": "Nurture", "value": "NURTURE",
                                                              "displayOrder": 1}]})
    lead_status = client.property("contacts", "hs_lead_status")
    assert [(o["value"], o["label"]) for o in lead_status["options"]] == [("NEW", "New"), ("NURTURE", "Nurture")]
    client.archive_properties("deals", names[:150])
    assert hub.calls["POST /crm/v3/properties/{objectType}/batch/archive"] == 2
    live = {name for name, p in hub.portal.properties["deals"].items() if not p["archived"]}
    assert live & set(names) == set(names[150:])


def test_a_refusal_keeps_hubspots_status_category_and_message_for_the_backend(hub: HubSpotEmulator,
                                                                              client: HubSpotClient) -> None:
    client.create_group("deals", {"name": "sos", "label": "sos"})
    client.create_properties("deals", [field("sos_budget")])
    with pytest.raises(HubSpotApiError) as refused:
        client.create_properties("deals", [field("sos_budget")])
    assert (refused.value.status, refused.value.category) == (409, "OBJECT_ALREADY_EXISTS")
    assert failure(refused)[0].startswith(
        "error: HubSpot refused POST /crm/v3/properties/deals/batch/create: 409 OBJECT_ALREADY_EXISTS: ")
    assert "sos_budget" in failure(refused)[0]
    assert failure(refused)[2].startswith("HubSpot's correlation id for this answer is ")
    assert hub.calls[BATCH_CREATE] == 2


# -- records and search --------------------------------------------------------------------------------


def test_records_are_read_page_after_page(hub: HubSpotEmulator, client: HubSpotClient) -> None:
    hub.seed("deals", [{"dealname": f"Deal {n}", "dealstage": "appointmentscheduled"} for n in range(230)])
    deals = list(client.records("deals", ["dealname", "dealstage"]))
    assert [d["properties"]["dealname"] for d in deals] == [f"Deal {n}" for n in range(230)]
    assert hub.calls["GET /crm/v3/objects/{objectType}"] == 3


def test_search_pages_through_every_match_and_count_takes_one_call(hub: HubSpotEmulator,
                                                                   client: HubSpotClient) -> None:
    hub.seed("deals", [{"dealname": f"Won {n}", "dealstage": "closedwon"} for n in range(205)])
    hub.seed("deals", [{"dealname": "Open", "dealstage": "appointmentscheduled"}])
    won = [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}]
    found = list(client.search("deals", {"filterGroups": won, "properties": ["dealname"]}))
    assert len(found) == 205 and {d["properties"]["dealname"] for d in found} == {f"Won {n}" for n in range(205)}
    assert hub.calls[SEARCH] == 2
    assert client.count("deals", won) == 205
    assert hub.calls[SEARCH] == 3


# -- limits and faults -----------------------------------------------------------------------------------


def test_the_client_paces_itself_under_the_burst_limit_and_never_meets_a_429(
        hub: HubSpotEmulator, client: HubSpotClient, progress: list[str]) -> None:
    started = hub.clock()
    for _ in range(250):
        client.pipelines("deals")
    assert hub.calls == client.calls == {TOKEN_INFO: 1, PIPELINES: 250}   # a 429 would have been retried: more
    assert 20 <= (hub.clock() - started).total_seconds() < 21              # 251 calls: three 10 s windows
    assert progress[0].startswith("Pacing under HubSpot's limit of 100 requests per 10 s: waiting ")


def test_searches_are_paced_under_their_own_five_a_second(hub: HubSpotEmulator, client: HubSpotClient) -> None:
    stage = [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}]
    started = hub.clock()
    counts = [client.count("deals", stage) for _ in range(12)]
    assert counts == [0] * 12
    assert hub.calls[SEARCH] == client.calls[SEARCH] == 12   # a SECONDLY 429 would have been retried: more
    assert 2 <= (hub.clock() - started).total_seconds() < 3    # 12 searches: three 1 s windows


def test_a_429_over_the_burst_limit_is_waited_out_and_retried(hub: HubSpotEmulator, client: HubSpotClient,
                                                              progress: list[str]) -> None:
    client.whoami()
    hub.faults.rate_limit(times=2)
    started = hub.clock()
    assert client.pipelines("deals")[0]["id"] == "default"
    assert progress == ["HubSpot is limiting requests (TEN_SECONDLY_ROLLING) on GET /crm/v3/pipelines/deals; "
                        f"retrying in 10 s (retry {n} of 5)…" for n in (1, 2)]
    assert (hub.clock() - started).total_seconds() == pytest.approx(20)
    assert hub.calls == client.calls == {TOKEN_INFO: 1, PIPELINES: 3}


def test_a_429_over_searchs_own_limit_waits_a_second(hub: HubSpotEmulator, client: HubSpotClient,
                                                     progress: list[str]) -> None:
    client.whoami()
    hub.faults.rate_limit(policy="SECONDLY", operations={SEARCH})
    started = hub.clock()
    assert client.count("deals", []) == 0
    assert progress == ["HubSpot is limiting requests (SECONDLY) on POST /crm/v3/objects/deals/search; retrying in 1 s "
                        "(retry 1 of 5)…"]
    assert (hub.clock() - started).total_seconds() == pytest.approx(1)


def test_a_burst_limit_that_never_lifts_gives_up_after_bounded_retries(hub: HubSpotEmulator,
                                                                       client: HubSpotClient) -> None:
    client.whoami()
    hub.faults.rate_limit(times=None)
    with pytest.raises(SosError) as refused:
        client.pipelines("deals")
    assert failure(refused)[0] == ("error: HubSpot kept refusing GET /crm/v3/pipelines/deals over its "
                                   "TEN_SECONDLY_ROLLING limit; gave up after 6 tries [hs-rate-limited]")
    assert hub.calls[PIPELINES] == 6


def test_the_daily_limit_stops_at_once_without_retrying(hub: HubSpotEmulator, client: HubSpotClient,
                                                        progress: list[str]) -> None:
    client.whoami()
    hub.faults.rate_limit(policy="DAILY", times=None)
    started = hub.clock()
    with pytest.raises(SosError) as stopped:
        client.create_pipeline("deals", NEW_BUSINESS)
    headline, fix, why = failure(stopped)
    assert headline == ("error: the HubSpot portal's daily API limit is used up (HubSpot answered POST "
                        "/crm/v3/pipelines/deals with 429 DAILY: You have reached your daily limit.); sos "
                        "stopped at once [hs-daily-limit]")
    assert "resets at midnight in the portal's time zone" in why and fix.startswith("run the command again after")
    assert (hub.calls["POST /crm/v3/pipelines/{objectType}"], progress, hub.clock()) == (1, [], started)


def test_a_server_error_is_retried_with_growing_waits(hub: HubSpotEmulator, client: HubSpotClient,
                                                     progress: list[str]) -> None:
    client.whoami()
    hub.faults.server_error(times=2, status=502)
    started = hub.clock()
    created = client.create_pipeline("deals", NEW_BUSINESS)
    assert [p["id"] for p in hub.portal.live_pipelines("deals")] == ["default", created["id"]]
    assert [line.split("; ")[1] for line in progress] == ["retrying in 1 s (retry 1 of 4)…",
                                                         "retrying in 2 s (retry 2 of 4)…"]
    assert progress[0].startswith("HubSpot answered POST /crm/v3/pipelines/deals with 502 INTERNAL_ERROR")
    assert (hub.clock() - started).total_seconds() == pytest.approx(3)


def test_a_server_error_that_persists_gives_up_after_bounded_retries(hub: HubSpotEmulator,
                                                                     client: HubSpotClient) -> None:
    client.whoami()
    hub.faults.server_error(times=None, status=503)
    started = hub.clock()
    with pytest.raises(SosError) as failed:
        client.properties("deals")
    headline, fix, _ = failure(failed)
    assert headline.startswith("error: HubSpot answered GET /crm/v3/properties/deals with 503 INTERNAL_ERROR")
    assert headline.endswith(" 5 times in a row; gave up [hs-unavailable]")
    assert "status.hubspot.com" in fix
    assert (hub.calls["GET /crm/v3/properties/{objectType}"], (hub.clock() - started).total_seconds()) == (5, 15)


def test_hubspot_out_of_reach_is_one_clear_error_and_nothing_on_stdout(
        make_client: MakeClient, running: HubSpotEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    client = make_client()
    running.stop()
    try:
        with pytest.raises(SosError) as unreachable:
            client.pipelines("deals")
    finally:
        running.start()
    assert failure(unreachable)[0] == (f"error: no answer from HubSpot at {running.api_url} to {TOKEN_INFO} "
                                       "(ConnectionError) [hs-unreachable]")
    assert capsys.readouterr().out == ""


def test_a_call_hubspot_does_not_answer_in_time_is_given_up() -> None:
    # An emulator of its own: the answers the client gave up on arrive late, and must not reach another test's portal.
    with HubSpotEmulator() as slow:
        client = HubSpotClient(connection(hubspot_target(api_url=slow.api_url),
                                          {"HUBSPOT_ACCESS_TOKEN": slow.access_token}), timeout=(1.0, 0.05))
        client.whoami()
        slow.latency_ms = 500
        serving = set(threading.enumerate())
        with pytest.raises(SosError) as stalled:
            client.pipelines("deals")
        for late in set(threading.enumerate()) - serving:
            late.join(timeout=5)   # the answer given up on is written (to a closed connection) within this test
    assert slow.calls[PIPELINES] == client.calls[PIPELINES] == 1   # urllib3 retried nothing behind the client's back
    assert failure(stalled)[0] == (f"error: no answer from HubSpot at {slow.api_url} to GET /crm/v3/pipelines/deals "
                                   "(ReadTimeoutError) [hs-unreachable]")



def test_a_token_check_hubspot_does_not_answer_in_time_is_given_up() -> None:
    with HubSpotEmulator() as slow:
        client = HubSpotClient(connection(hubspot_target(api_url=slow.api_url),
                                          {"HUBSPOT_ACCESS_TOKEN": slow.access_token}), timeout=(1.0, 0.05))
        slow.latency_ms = 500
        serving = set(threading.enumerate())
        with pytest.raises(SosError) as stalled:
            client.whoami()
        for late in set(threading.enumerate()) - serving:
            late.join(timeout=5)
    assert failure(stalled)[0] == (f"error: no answer from HubSpot at {slow.api_url} to {TOKEN_INFO} "
                                   "(ReadTimeout) [hs-unreachable]")

# -- counts and secrets -----------------------------------------------------------------------------------


def test_calls_are_counted_per_endpoint_retries_included_as_hubspot_counts_them(
        hub: HubSpotEmulator, client: HubSpotClient) -> None:
    hub.faults.server_error(times=1, operations={"GET /crm/v3/properties/{objectType}/groups"})
    client.groups("deals")
    client.pipelines("deals")
    client.pipelines("tickets")
    client.property("contacts", "hs_lead_status")
    assert client.calls == hub.calls == {TOKEN_INFO: 1, "GET /crm/v3/properties/{objectType}/groups": 2,
                                         PIPELINES: 2, "GET /crm/v3/properties/{objectType}/{propertyName}": 1}


def test_the_token_never_appears_in_errors_or_progress_lines(hub: HubSpotEmulator, make_client: MakeClient,
                                                             progress: list[str]) -> None:
    wrong = "pat-na1-99999999-9999-4999-8999-999999999999"
    other_portals = hub.add_token(portal_id=99001)
    scenarios = [  # (token, portal_id, fault)
        (wrong, None, lambda: None),
        (hub.access_token, None, lambda: hub.faults.expire_token(times=None)),
        (hub.access_token, None, lambda: hub.faults.rate_limit(policy="DAILY", times=None)),
        (hub.access_token, None, lambda: hub.faults.server_error(times=None)),
        (other_portals, 62515, lambda: None),
    ]
    said: list[str] = []
    for token, portal_id, fault in scenarios:
        hub.faults.clear()
        fault()
        with pytest.raises(SosError) as failed:
            make_client(token=token, portal_id=portal_id).pipelines("deals")
        said += [str(failed.value), repr(failed.value), *(d.fix + d.why for d in failed.value.diagnostics)]
    text = "\n".join(said + progress)
    assert all(f"[{code}]" in text for code in ("hs-auth-failed", "hs-daily-limit", "hs-unavailable",
                                                "hs-wrong-portal"))
    assert "retrying in 8 s" in text
    for token in (wrong, hub.access_token, other_portals):
        assert token not in text
    assert "pat-na1-" not in text
