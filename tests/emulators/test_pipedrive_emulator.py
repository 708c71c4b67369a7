"""The Pipedrive emulator (auth, pipelines, fields, records, rate limits, faults) over real HTTP with `requests`,
the client a Pipedrive backend will use.

Pipedrive has no official Python SDK (its SDKs are Node and PHP); the community packages checked —
`pipedrive-python-lib` 1.2.3 (2023, API v1 only) and `pipedrive-api` (v2 coverage unclear) — do not cover the v2
pipelines, stages and deal fields a backend needs, so a plain `requests.Session` is the faithful client
(reference/pipedrive.md §2).

One emulator serves the module; `pipedrive` resets it (a fresh company, no faults, no counts) for every test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulators.pipedrive import ManualClock, PipedriveEmulator

ROOT = Path(__file__).resolve().parents[2]
CLOCK = ManualClock()
ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
UNAUTHORIZED = {"success": False, "error": "unauthorized access", "errorCode": 401,
                "error_info": "Please check developers.pipedrive.com"}


class Api:
    """A requests session against the emulator, authenticated the way a backend would be."""

    def __init__(self, emulator: PipedriveEmulator, token: str | None = None, *, bearer: bool = False) -> None:
        self.base = emulator.api_url
        self.session = requests.Session()
        if bearer:
            self.session.headers["Authorization"] = f"Bearer {token}"
        else:
            self.session.headers["x-api-token"] = token or emulator.api_token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=5, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        body = response.json()
        assert response.status_code == 200 and body["success"] is True, (response.status_code, body)
        return body["data"]

    def refused(self, method: str, path: str, status: int, error: str, **kwargs: Any) -> dict[str, Any]:
        """The call fails with the error envelope of reference §3, this status and this message."""
        response = self.call(method, path, **kwargs)
        body = response.json()
        assert (response.status_code, body.get("error")) == (status, error), body
        assert body == {"success": False, "error": error, "error_info": ERROR_INFO, "data": None,
                        "additional_data": None, **{k: body[k] for k in ("code",) if k in body}}
        return body


@pytest.fixture(scope="module")
def running() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator(clock=CLOCK) as emulator:
        yield emulator


@pytest.fixture
def pipedrive(running: PipedriveEmulator) -> Iterator[PipedriveEmulator]:
    running.reset()
    yield running
    assert running.internal_errors == []


@pytest.fixture
def api(pipedrive: PipedriveEmulator) -> Api:
    return Api(pipedrive)


def too_many(response: requests.Response, error: str) -> None:
    assert response.status_code == 429
    assert response.json() == {"success": False, "error": error, "errorCode": 429,
                               "error_info": "Please check developers.pipedrive.com", "data": None,
                               "additional_data": None}


def new_pipeline(api: Api, name: str = "New Business", stages: tuple[str, ...] = ("Discovery", "Evaluation"),
                 ) -> tuple[int, list[int]]:
    pipeline = api.ok("POST", "/api/v2/pipelines", json={"name": name, "is_deal_probability_enabled": True})
    stage_ids = [api.ok("POST", "/api/v2/stages", json={"name": s, "pipeline_id": pipeline["id"],
                                                         "deal_probability": 10 * (n + 1)})["id"]
                 for n, s in enumerate(stages)]
    return pipeline["id"], stage_ids


# -- auth, company, scopes ----------------------------------------------------------------


def test_a_token_is_accepted_from_the_header_the_query_or_as_a_bearer(pipedrive: PipedriveEmulator) -> None:
    url = f"{pipedrive.api_url}/v1/users/me"
    by_header = requests.get(url, headers={"x-api-token": pipedrive.api_token}, timeout=5).json()
    by_query = requests.get(url, params={"api_token": pipedrive.api_token}, timeout=5).json()
    oauth = pipedrive.oauth_token({"deals:read"})
    by_bearer = requests.get(url, headers={"Authorization": f"Bearer {oauth}"}, timeout=5).json()
    assert by_header == by_query == by_bearer
    assert by_header["data"]["company_domain"] == "acme" and by_header["data"]["company_id"] == 1
    # The company-domain form of the URL answers the same (reference §2).
    assert Api(pipedrive).ok("GET", "/api/v1/users/me")["company_domain"] == "acme"


@pytest.mark.parametrize("headers", [{}, {"x-api-token": "0" * 40}, {"Authorization": "Bearer nope"}],
                         ids=["missing", "unknown", "bad bearer"])
def test_a_missing_or_unknown_token_gets_the_gateway_401(pipedrive: PipedriveEmulator,
                                                         headers: dict[str, str]) -> None:
    response = requests.get(f"{pipedrive.api_url}/api/v2/pipelines", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["x-401-by-gw"] == "true"
    assert pipedrive.tokens_spent == 0


def test_unknown_paths_and_removed_v1_writes_look_like_the_gateway_401(api: Api) -> None:
    for method, path in (("GET", "/api/v2/nothing"), ("POST", "/v1/pipelines"), ("PUT", "/v1/stages/2"),
                         ("GET", "/api/v3/pipelines")):
        response = api.call(method, path, json={"name": "x"})
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), (method, path)


def test_a_token_for_another_company_sees_that_company_only(pipedrive: PipedriveEmulator, api: Api) -> None:
    other, token = pipedrive.add_company("globex")
    other_api = Api(pipedrive, token)
    assert other_api.ok("GET", "/v1/users/me")["company_domain"] == "globex"
    api.ok("POST", "/api/v2/pipelines", json={"name": "Acme only"})
    assert [p["name"] for p in other_api.ok("GET", "/api/v2/pipelines")] == ["Pipeline"]
    assert [p.name for p in other.pipelines.values()] == ["Pipeline"]


def test_a_revoked_token_stops_working(pipedrive: PipedriveEmulator, api: Api) -> None:
    api.ok("GET", "/v1/users/me")
    pipedrive.revoke(pipedrive.api_token)
    assert api.call("GET", "/v1/users/me").status_code == 401


def test_an_oauth_token_without_the_scope_gets_scope_and_url_mismatch(pipedrive: PipedriveEmulator) -> None:
    reader = Api(pipedrive, pipedrive.oauth_token({"deals:read"}), bearer=True)
    assert len(reader.ok("GET", "/api/v2/stages")) == 5
    for method, path, body in (("POST", "/api/v2/stages", {"name": "X", "pipeline_id": 1}),
                               ("POST", "/api/v2/dealFields", {"field_name": "X", "field_type": "varchar"}),
                               ("GET", "/api/v2/persons", None)):
        response = reader.call(method, path, json=body)
        assert response.status_code == 403
        assert response.json() == {"success": False, "error": "Scope and URL mismatch", "errorCode": 403,
                                   "error_info": "Please check developers.pipedrive.com"}
    fields_admin = Api(pipedrive, pipedrive.oauth_token({"deal-fields:full"}), bearer=True)
    fields_admin.ok("POST", "/api/v2/dealFields", json={"field_name": "Budget", "field_type": "double"})
    assert [f.name for f in pipedrive.account.fields["deal"] if f.custom] == ["Budget"]


# -- pipelines and stages -----------------------------------------------------------------


def test_a_fresh_company_has_the_default_pipeline_and_system_fields(api: Api) -> None:
    [pipeline] = api.ok("GET", "/api/v2/pipelines")
    assert (pipeline["id"], pipeline["name"], pipeline["order_nr"], pipeline["is_deleted"]) == (1, "Pipeline", 0,
                                                                                               False)
    stages = api.ok("GET", "/api/v2/stages", params={"pipeline_id": 1, "sort_by": "order_nr"})
    assert [s["order_nr"] for s in stages] == [1, 2, 3, 4, 5]
    fields = api.ok("GET", "/api/v2/dealFields")
    system = {f["field_code"] for f in fields if not f["is_custom_field"]}
    assert system == {"title", "value", "currency", "stage_id", "pipeline_id", "status", "probability", "lost_reason",
                      "expected_close_date", "user_id", "org_id", "person_id"}


def test_stages_round_trip_with_probability_rotting_and_appended_order(api: Api) -> None:
    pipeline_id, (discovery, evaluation) = new_pipeline(api)
    rotting = api.ok("PATCH", f"/api/v2/stages/{evaluation}", json={"is_deal_rot_enabled": True, "days_to_rotten": 30})
    assert (rotting["is_deal_rot_enabled"], rotting["days_to_rotten"], rotting["order_nr"]) == (True, 30, 2)
    stages = api.ok("GET", "/api/v2/stages", params={"pipeline_id": pipeline_id, "sort_by": "order_nr"})
    assert [(s["name"], s["deal_probability"], s["days_to_rotten"]) for s in stages] == [
        ("Discovery", 10, None), ("Evaluation", 20, 30)]
    # The legacy v1 read carries the v1 names (reference §5).
    legacy = api.ok("GET", f"/v1/stages/{evaluation}")
    assert (legacy["rotten_flag"], legacy["rotten_days"], legacy["active_flag"]) == (True, 30, True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", legacy["add_time"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stages[0]["add_time"])
    moved = api.ok("PATCH", f"/api/v2/stages/{evaluation}", json={"order_nr": 1})
    assert moved["order_nr"] == 1 and api.ok("GET", f"/api/v2/stages/{discovery}")["order_nr"] == 2
    renamed = api.ok("PATCH", f"/api/v2/pipelines/{pipeline_id}", json={"name": "Renewals"})
    assert renamed["name"] == "Renewals"


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"pipeline_id": 1}, 400, "Name must be given."),
    ({"name": "X"}, 400, "pipeline_id must be given."),
    ({"name": "X", "pipeline_id": 999}, 404, "Pipeline not found"),
    ({"name": "X", "pipeline_id": 1, "deal_probability": 101}, 400,
     "deal_probability must be an integer between 0 and 100"),
    ({"name": "X", "pipeline_id": 1, "days_to_rotten": 5}, 400,
     "days_to_rotten is used only when is_deal_rot_enabled is true"),
    ({"name": "X", "pipeline_id": 1, "is_deal_rot_enabled": True}, 400,
     "days_to_rotten must be given when is_deal_rot_enabled is true"),
    ({"name": "X", "pipeline_id": 1, "order_nr": 1}, 400, "Invalid field(s) in the payload: order_nr"),
    ({"name": "X", "pipeline_id": 1, "color": "red"}, 400, "Invalid field(s) in the payload: color"),
], ids=["no name", "no pipeline", "unknown pipeline", "probability", "rot days alone", "rot without days",
        "order on create", "unknown key"])
def test_a_bad_stage_is_refused_and_nothing_is_created(pipedrive: PipedriveEmulator, api: Api, body: dict[str, Any],
                                                       status: int, error: str) -> None:
    api.refused("POST", "/api/v2/stages", status, error, json=body)
    assert len(pipedrive.account.stages) == 5


def test_a_stage_holding_deals_is_not_deleted_and_an_empty_one_is(pipedrive: PipedriveEmulator, api: Api) -> None:
    _, (discovery, evaluation) = new_pipeline(api)
    pipedrive.account.seed_deal("Big one", discovery)
    pipedrive.account.seed_deal("Small one", discovery)
    api.refused("DELETE", f"/api/v2/stages/{discovery}", 400,
                f"Stage {discovery} holds 2 deal(s); move or delete them first")
    assert api.ok("DELETE", f"/api/v2/stages/{evaluation}") == {"id": evaluation}
    assert api.ok("GET", f"/api/v2/stages/{evaluation}")["is_deleted"] is True
    api.refused("PATCH", f"/api/v2/stages/{evaluation}", 404, "Stage not found", json={"name": "Back"})


# -- fields ---------------------------------------------------------------------------------


def test_a_custom_field_gets_a_40_hex_code_and_cannot_change_type(api: Api) -> None:
    created = api.ok("POST", "/api/v2/dealFields", json={
        "field_name": "Loss reason", "field_type": "enum", "description": "sos: managed",
        "options": [{"label": "Price"}, {"label": "Timing"}]})
    code = created["field_code"]
    assert re.fullmatch(r"[0-9a-f]{40}", code) and created["is_custom_field"] is True
    assert [o["label"] for o in created["options"]] == ["Price", "Timing"]
    assert created["description"] == "sos: managed"
    assert api.ok("PATCH", f"/api/v2/dealFields/{code}", json={"description": "Why we lost"})["description"] == \
        "Why we lost"
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400, "field_type cannot be changed", json={"field_type": "set"})
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400, "Invalid field(s) in the payload: options",
                json={"options": [{"label": "X"}]})
    assert api.ok("PATCH", f"/api/v2/dealFields/{code}", json={"field_name": "Why lost"})["field_code"] == code
    api.refused("PATCH", "/api/v2/dealFields/title", 403, "Field title is a system field and cannot be changed",
                json={"field_name": "Name"})
    api.refused("DELETE", "/api/v2/dealFields/stage_id", 403, "Field stage_id is a system field and cannot be changed")


@pytest.mark.parametrize(("body", "error"), [
    ({"field_name": "X", "field_type": "boolean"}, "field_type must be one of: address, date, daterange, double, "
     "enum, monetary, org, people, phone, set, text, time, timerange, user, varchar, varchar_auto"),
    ({"field_name": "X", "field_type": "enum"}, "options must be given for enum fields"),
    ({"field_name": "X", "field_type": "set", "options": []}, "options must be given for set fields"),
    ({"field_name": "X", "field_type": "varchar", "options": [{"label": "A"}]},
     "options are allowed only for enum and set fields, not varchar"),
    ({"field_type": "varchar"}, "Name must be given."),
    ({"field_name": "X", "field_type": "enum", "options": [{"id": 4, "label": "A"}]},
     "Inserting ID with POST request is not allowed. Please remove the option id(s)."),
], ids=["no boolean type", "enum without options", "set with none", "options on text", "no name", "option id"])
def test_a_bad_field_is_refused(pipedrive: PipedriveEmulator, api: Api, body: dict[str, Any], error: str) -> None:
    api.refused("POST", "/api/v2/dealFields", 400, error, json=body)
    assert pipedrive.account.custom_field_count() == 0


def test_custom_fields_over_the_plan_cap_are_refused(pipedrive: PipedriveEmulator, api: Api) -> None:
    pipedrive.account.custom_fields_limit = 1
    api.ok("POST", "/api/v2/personFields", json={"field_name": "Twitter", "field_type": "varchar"})
    body = api.refused("POST", "/api/v2/dealFields", 403, "Couldn't add the field. Custom fields limit reached.",
                       json={"field_name": "Budget", "field_type": "double"})
    assert body["code"] == "feature_capping_custom_fields_limit"
    assert [f.name for f in pipedrive.account.fields["deal"] if f.custom] == []


def test_person_fields_take_no_stage_requirements(api: Api) -> None:
    api.refused("POST", "/api/v2/personFields", 400, "Invalid field(s) in the payload: stage_ids",
                json={"field_name": "Role", "field_type": "varchar",
                      "required_fields": {"enabled": True, "stage_ids": [2]}})
    created = api.ok("POST", "/api/v2/personFields", json={"field_name": "Role", "field_type": "varchar",
                                                            "required_fields": {"enabled": True}})
    assert created["required_fields"] == {"enabled": True}


def test_required_fields_per_stage_and_status_are_set_and_read_back(api: Api) -> None:
    pipeline_id, (discovery, evaluation) = new_pipeline(api)
    required = {"enabled": True, "stage_ids": [evaluation], "statuses": {str(pipeline_id): ["won"]}}
    code = api.ok("POST", "/api/v2/dealFields", json={"field_name": "Budget", "field_type": "double",
                                                       "required_fields": required})["field_code"]
    plain = api.ok("GET", f"/api/v2/dealFields/{code}")
    assert "required_fields" not in plain   # only on request (include_fields)
    shown = api.ok("GET", f"/api/v2/dealFields/{code}", params={"include_fields": "required_fields,ui_visibility"})
    assert shown["required_fields"] == required
    assert shown["ui_visibility"]["show_in_pipelines"] == {"show_in_all": True, "pipeline_ids": []}
    # Visible only in the default pipeline: a stage of the new pipeline can no longer be required.
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400,
                f"required_fields.stage_ids must be active stages of pipelines where the field is visible: "
                f"[{evaluation}]", json={"ui_visibility": {"show_in_pipelines": {"show_in_all": False,
                                                                                  "pipeline_ids": [1]}},
                                         "required_fields": required})
    assert api.ok("GET", f"/api/v2/dealFields/{code}", params={"include_fields": "required_fields"})[
        "required_fields"] == required   # the refused PATCH changed nothing
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400, "required_fields.statuses values must be lists of: won, "
                "lost", json={"required_fields": {"enabled": True, "statuses": {str(pipeline_id): ["open"]}}})
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400, "required_fields.statuses: 999 is not an active pipeline",
                json={"required_fields": {"enabled": True, "statuses": {"999": ["lost"]}}})
    api.refused("PATCH", f"/api/v2/dealFields/{code}", 400, "Invalid field(s) in the payload: mode",
                json={"required_fields": {"enabled": True, "mode": "strict"}})


def test_v2_options_are_added_renamed_and_deleted_by_id(api: Api) -> None:
    field = api.ok("POST", "/api/v2/dealFields", json={"field_name": "Source", "field_type": "set",
                                                        "options": [{"label": "Web"}, {"label": "Event"}]})
    code, (web, event) = field["field_code"], [o["id"] for o in field["options"]]
    [added] = api.ok("POST", f"/api/v2/dealFields/{code}/options", json=[{"label": "Referral"}])
    api.refused("POST", f"/api/v2/dealFields/{code}/options", 400, "Option 'web' already exists",
                json=[{"label": "web"}])
    api.ok("PATCH", f"/api/v2/dealFields/{code}/options", json=[{"id": web, "label": "Website"}])
    assert api.ok("DELETE", f"/api/v2/dealFields/{code}/options", json=[{"id": event}]) == [{"id": event}]
    options = api.ok("GET", f"/api/v2/dealFields/{code}")["options"]
    assert [(o["id"], o["label"]) for o in options] == [(web, "Website"), (added["id"], "Referral")]
    api.refused("DELETE", f"/api/v2/dealFields/{code}/options", 404, f"Option(s) [{event}] of field {code} not found",
                json=[{"id": event}])


def test_v1_put_replaces_the_whole_option_list(api: Api) -> None:
    created = api.ok("POST", "/v1/dealFields", json={"name": "Tier", "field_type": "enum",
                                                     "options": [{"label": "Gold"}, {"label": "Silver"}]})
    assert re.fullmatch(r"[0-9a-f]{40}", created["key"]) and created["edit_flag"] is True
    gold, silver = created["options"]
    updated = api.ok("PUT", f"/v1/dealFields/{created['id']}",
                     json={"options": [{"id": gold["id"], "label": "Gold"}, {"label": "Bronze"}]})
    assert [o["label"] for o in updated["options"]] == ["Gold", "Bronze"]
    assert updated["options_deleted"] == [silver]
    api.refused("POST", "/v1/dealFields", 400, "Invalid field(s) in the payload: field_name",
                json={"field_name": "Tier", "field_type": "varchar"})


def test_v1_lists_page_by_start_and_limit(api: Api) -> None:
    for n in range(3):
        api.ok("POST", "/v1/personFields", json={"name": f"Extra {n}", "field_type": "varchar"})
    response = api.call("GET", "/v1/personFields", params={"start": 4, "limit": 3}).json()
    assert [f["name"] for f in response["data"]] == ["Owner", "Extra 0", "Extra 1"]
    assert response["additional_data"] == {"pagination": {"start": 4, "limit": 3, "more_items_in_collection": True,
                                                          "next_start": 7}}
    last = api.call("GET", "/v1/personFields", params={"start": 7, "limit": 3}).json()
    assert [f["name"] for f in last["data"]] == ["Extra 2"]
    assert last["additional_data"]["pagination"]["more_items_in_collection"] is False
    api.refused("GET", "/v1/personFields", 400, "limit must be between 1 and 500", params={"limit": 501})


def test_lead_labels_are_listed_created_renamed_and_deleted(api: Api) -> None:
    assert [(label["name"], label["color"]) for label in api.ok("GET", "/v1/leadLabels")] == [
        ("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue")]
    created = api.ok("POST", "/v1/leadLabels", json={"name": "Nurture", "color": "dark-gray"})
    assert re.fullmatch(r"[0-9a-f-]{36}", created["id"])
    assert api.ok("PATCH", f"/v1/leadLabels/{created['id']}", json={"name": "Nurturing"})["name"] == "Nurturing"
    api.refused("POST", "/v1/leadLabels", 400, "color must be one of: blue, brown, dark-gray, gray, green, orange, "
                "pink, purple, red, yellow", json={"name": "New", "color": "teal"})
    api.refused("POST", "/v1/leadLabels", 400, "Invalid field(s) in the payload: is_default",
                json={"name": "New", "color": "red", "is_default": True})
    assert api.ok("DELETE", f"/v1/leadLabels/{created['id']}") == {"id": created["id"]}
    api.refused("DELETE", f"/v1/leadLabels/{created['id']}", 404, "Lead label not found")


# -- records ----------------------------------------------------------------------------------


def test_deals_persons_and_organizations_round_trip_with_custom_fields(api: Api) -> None:
    pipeline_id, (discovery, evaluation) = new_pipeline(api)
    field = api.ok("POST", "/api/v2/dealFields", json={"field_name": "Tier", "field_type": "enum",
                                                        "options": [{"label": "Gold"}]})
    gold = field["options"][0]["id"]
    organization = api.ok("POST", "/api/v2/organizations", json={"name": "Initech"})
    person = api.ok("POST", "/api/v2/persons", json={"name": "Peter", "org_id": organization["id"],
                                                      "emails": [{"value": "peter@initech.example", "primary": True}]})
    deal = api.ok("POST", "/api/v2/deals", json={"title": "Printers", "stage_id": discovery, "value": 5000,
                                                  "person_id": person["id"], "org_id": organization["id"],
                                                  "custom_fields": {field["field_code"]: gold}})
    assert (deal["status"], deal["pipeline_id"], deal["custom_fields"]) == ("open", pipeline_id,
                                                                            {field["field_code"]: gold})
    CLOCK.advance(3600)
    moved = api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"stage_id": evaluation})
    assert moved["stage_change_time"] > deal["stage_change_time"]
    won = api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"status": "won"})
    assert won["won_time"] is not None and won["close_time"] is not None
    assert api.ok("GET", f"/api/v2/deals/{deal['id']}") == won
    assert [p["name"] for p in api.ok("GET", "/api/v2/persons", params={"org_id": organization["id"]})] == ["Peter"]


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"stage_id": 2}, 400, "Title must be given."),
    ({"title": "X", "stage_id": 999}, 404, "Stage not found"),
    ({"title": "X", "stage_id": 2, "pipeline_id": 7}, 400, "Stage 2 does not belong to pipeline 7"),
    ({"title": "X", "status": "closed"}, 400, "status must be one of: open, won, lost"),
    ({"title": "X", "lost_reason": "Price"}, 400, "lost_reason can be set only on a lost deal"),
    ({"title": "X", "person_id": 999}, 404, "Person not found"),
    ({"title": "X", "custom_fields": {"0" * 40: 1}}, 400, f"Invalid field(s) in the payload: custom_fields.{'0' * 40}"),
    ({"title": "X", "id": 5}, 400, "Inserting ID with POST request is not allowed. Please remove the ID from the "
     "payload."),
    ({"title": "X", "stage": 2}, 400, "Invalid field(s) in the payload: stage"),
], ids=["no title", "unknown stage", "stage of another pipeline", "status", "lost reason on open", "unknown person",
        "unknown custom field", "id on create", "unknown key"])
def test_a_bad_deal_is_refused_and_not_stored(pipedrive: PipedriveEmulator, api: Api, body: dict[str, Any],
                                              status: int, error: str) -> None:
    api.refused("POST", "/api/v2/deals", status, error, json=body)
    assert pipedrive.account.records["deal"] == {}


def test_a_custom_value_must_match_its_field_type(api: Api) -> None:
    budget = api.ok("POST", "/api/v2/dealFields", json={"field_name": "Budget", "field_type": "monetary"})
    code = budget["field_code"]
    api.refused("POST", "/api/v2/deals", 400, f"Invalid value for custom field {code} of type monetary",
                json={"title": "X", "custom_fields": {code: 100}})
    deal = api.ok("POST", "/api/v2/deals", json={"title": "X", "custom_fields": {code: {"value": 100,
                                                                                           "currency": "EUR"}}})
    assert deal["custom_fields"] == {code: {"value": 100, "currency": "EUR"}}


def test_a_required_field_blocks_entering_its_stage_and_winning(api: Api) -> None:
    pipeline_id, (discovery, evaluation) = new_pipeline(api)
    api.ok("POST", "/api/v2/dealFields", json={
        "field_name": "Budget", "field_type": "double",
        "required_fields": {"enabled": True, "stage_ids": [evaluation], "statuses": {str(pipeline_id): ["won"]}}})
    deal = api.ok("POST", "/api/v2/deals", json={"title": "X", "stage_id": discovery})
    for change in ({"stage_id": evaluation}, {"status": "won"}):
        api.refused("PATCH", f"/api/v2/deals/{deal['id']}", 400,
                    "Required field(s) missing for this stage or status: Budget", json=change)
    assert api.ok("GET", f"/api/v2/deals/{deal['id']}")["stage_id"] == discovery
    assert api.ok("PATCH", f"/api/v2/deals/{deal['id']}", json={"status": "lost", "lost_reason": "Price"})[
        "lost_reason"] == "Price"


def test_v2_lists_page_by_cursor_and_filter(pipedrive: PipedriveEmulator, api: Api) -> None:
    deals = pipedrive.account.seed_sample(7)
    pipedrive.account.seed_deal("Closed", deals[0]["stage_id"], status="won")
    seen, cursor, pages = [], None, 0
    while True:
        response = api.call("GET", "/api/v2/deals", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        body = response.json()
        seen += [d["title"] for d in body["data"]]
        pages += 1
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, [f"Deal {n}" for n in range(1, 8)] + ["Closed"])
    in_stage = api.ok("GET", "/api/v2/deals", params={"stage_id": deals[0]["stage_id"], "status": "open"})
    assert [d["title"] for d in in_stage] == ["Deal 1", "Deal 6"]
    assert [d["title"] for d in api.ok("GET", "/api/v2/deals", params={"status": "won"})] == ["Closed"]
    by_ids = api.ok("GET", "/api/v2/deals", params={"ids": f"{deals[1]['id']},{deals[2]['id']}"})
    assert [d["title"] for d in by_ids] == ["Deal 2", "Deal 3"]
    CLOCK.advance(60)
    touched = api.ok("PATCH", f"/api/v2/deals/{deals[4]['id']}", json={"value": 1})
    since = api.ok("GET", "/api/v2/deals", params={"updated_since": touched["update_time"]})
    assert [d["title"] for d in since] == ["Deal 5"]
    newest = api.ok("GET", "/api/v2/persons", params={"sort_by": "id", "sort_direction": "desc", "limit": 1})
    assert newest[0]["name"] == "Contact 7"
    api.refused("GET", "/api/v2/deals", 400, "Invalid cursor", params={"cursor": "not-a-cursor"})
    api.refused("GET", "/api/v2/deals", 400, "sort_by must be one of: id, update_time, add_time",
                params={"sort_by": "title"})


def test_open_deals_over_the_plan_cap_are_refused_with_the_documented_body(pipedrive: PipedriveEmulator,
                                                                         api: Api) -> None:
    pipedrive.account.open_deals_limit = 1
    api.ok("POST", "/api/v2/deals", json={"title": "First"})
    body = api.refused("POST", "/api/v2/deals", 403, "Couldn't add the deal. Open deals limit reached.",
                       json={"title": "Second"})
    assert body["code"] == "feature_capping_deals_limit"


# -- rate limits ------------------------------------------------------------------------------


def test_every_answer_carries_the_burst_window_and_each_call_its_token_cost(pipedrive: PipedriveEmulator,
                                                                           api: Api) -> None:
    first = api.call("GET", "/api/v2/stages")
    second = api.call("GET", "/api/v2/stages/2")
    third = api.call("POST", "/api/v2/pipelines", json={"name": "P"})
    assert [r.headers["x-ratelimit-remaining"] for r in (first, second, third)] == ["19", "18", "17"]
    assert first.headers["x-ratelimit-limit"] == "20" and first.headers["x-ratelimit-reset"] == "2"
    assert [r.headers["x-daily-requests-left"] for r in (first, second, third)] == ["10000", "10000", "9999"]
    assert pipedrive.costs == {"GET /api/v2/stages": 5, "GET /api/v2/stages/{id}": 1, "POST /api/v2/pipelines": 5}
    assert pipedrive.calls == {"GET /api/v2/stages": 1, "GET /api/v2/stages/{id}": 1, "POST /api/v2/pipelines": 1}
    assert pipedrive.limits.tokens_spent == {"acme": 11}


def test_the_burst_window_refuses_the_21st_call_until_it_passes(pipedrive: PipedriveEmulator, api: Api) -> None:
    for _ in range(20):
        api.ok("GET", "/api/v2/stages/2")
    refused = api.call("GET", "/api/v2/stages/2")
    too_many(refused, "Rate limit exceeded")
    assert refused.headers["Retry-After"] == "2" and refused.headers["x-ratelimit-remaining"] == "0"
    assert pipedrive.tokens_spent == 20   # a refused call costs nothing
    CLOCK.advance(2)
    assert api.call("GET", "/api/v2/stages/2").headers["x-ratelimit-remaining"] == "19"


def test_the_daily_budget_refuses_calls_until_midnight_utc(pipedrive: PipedriveEmulator, api: Api) -> None:
    pipedrive.limits.daily_budget = 200
    CLOCK.now = CLOCK.now.replace(hour=23, minute=0, second=0)
    # A budget of 200 tokens: 19 lists (10 each) and 5 single reads (1 each) leave 5.
    for path in ["/api/v2/deals"] * 19 + ["/api/v2/stages/2"] * 5:
        api.ok("GET", path)
        CLOCK.advance(2)
    refused = api.call("GET", "/api/v2/deals")
    too_many(refused, "Daily token budget exceeded")
    assert refused.headers["Retry-After"] == str(3600 - 2 * 24)
    assert api.ok("GET", "/api/v2/stages/2")["id"] == 2   # a 1-token call still fits: the budget is in tokens
    assert pipedrive.tokens_spent == 196
    CLOCK.advance(3600)
    assert api.ok("GET", "/api/v2/deals") == []


# -- faults and counters ------------------------------------------------------------------------


def test_scheduled_faults_fail_the_next_calls_in_order(pipedrive: PipedriveEmulator, api: Api) -> None:
    pipedrive.faults.unauthorized()
    pipedrive.faults.rate_limit(daily=True)
    pipedrive.faults.server_error(times=2, status=503)
    first = api.call("GET", "/api/v2/pipelines")
    assert first.status_code == 401 and first.json()["error"] == "unauthorized access"
    daily = api.call("GET", "/api/v2/pipelines")
    too_many(daily, "Daily token budget exceeded")
    assert int(daily.headers["Retry-After"]) > 0
    for _ in range(2):
        api.refused("GET", "/api/v2/pipelines", 503, "Internal server error")
    assert len(api.ok("GET", "/api/v2/pipelines")) == 1
    assert pipedrive.calls == {"GET /api/v2/pipelines": 5}


def test_the_nth_write_fails_and_the_earlier_ones_stay_applied(pipedrive: PipedriveEmulator, api: Api) -> None:
    pipedrive.faults.server_error(after=2, writes_only=True)
    created = [api.call("POST", "/api/v2/pipelines", json={"name": f"P{n}"}) for n in range(3)]
    api.ok("GET", "/api/v2/pipelines")   # reads do not count towards the Nth write
    assert [r.status_code for r in created] == [200, 200, 500]
    assert [p.name for p in pipedrive.account.pipelines.values()] == ["Pipeline", "P0", "P1"]
    assert api.call("POST", "/api/v2/pipelines", json={"name": "P2"}).status_code == 200


def test_a_burst_fault_carries_retry_after(pipedrive: PipedriveEmulator, api: Api) -> None:
    pipedrive.faults.rate_limit(times=1)
    refused = api.call("GET", "/api/v2/stages")
    too_many(refused, "Rate limit exceeded")
    assert refused.headers["Retry-After"] == "2"
    assert api.call("GET", "/api/v2/stages").status_code == 200


# -- standalone ---------------------------------------------------------------------------------


def test_run_alone_it_prints_what_a_target_needs_and_serves_seeded_deals() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.pipedrive", "--port", "0", "--seed-deals", "3"],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().rstrip("\n").split(": ", 1) for _ in range(3))
        assert set(lines) == {"api_url", "api_token", "company_domain"} and lines["company_domain"] == "acme"
        response = requests.get(f"{lines['api_url']}/api/v2/deals", headers={"x-api-token": lines["api_token"]},
                                timeout=5)
        assert [d["title"] for d in response.json()["data"]] == ["Deal 1", "Deal 2", "Deal 3"]
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_verbose_logs_never_show_the_token() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.pipedrive", "--port", "0", "--verbose"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().rstrip("\n").split(": ", 1) for _ in range(3))
        response = requests.get(f"{lines['api_url']}/v1/users/me", params={"api_token": lines["api_token"]},
                                timeout=5)
        assert response.json()["data"]["company_domain"] == "acme"
    finally:
        process.terminate()
        _, log = process.communicate(timeout=60)
    assert "GET /v1/users/me?api_token=*** " in log
    assert lines["api_token"] not in log
