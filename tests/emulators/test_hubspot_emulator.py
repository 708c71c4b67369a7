"""The HubSpot emulator through the real client (hubspot-api-client 12 over HTTP): auth and scopes, property
groups and properties, pipelines and stages, records and search, rate limits and injected faults, each rejection
with HubSpot's status and error JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import ApiException as ContactError
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearchRequest
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.deals import ApiException as DealError
from hubspot.crm.deals import PublicObjectSearchRequest, SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.pipelines import ApiException as PipelineError
from hubspot.crm.pipelines import PipelineInput, PipelinePatchInput, PipelineStageInput, PipelineStagePatchInput
from hubspot.crm.properties import ApiException as PropertyError
from hubspot.crm.properties import (
    BatchInputPropertyCreate,
    BatchInputPropertyName,
    BatchReadInputPropertyName,
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyName,
    PropertyUpdate,
)

from tests.emulators.hubspot import HubSpotEmulator, ManualClock

Client = Any   # hubspot.HubSpot: its APIs are attributes built on first use


@pytest.fixture(scope="module")
def running() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emulator:
        yield emulator


@pytest.fixture
def hub(running: HubSpotEmulator) -> Iterator[HubSpotEmulator]:
    running.reset()
    yield running
    assert running.internal_errors == []


@pytest.fixture
def hs(hub: HubSpotEmulator) -> Client:
    return hub.client()


def error(exc: Exception) -> dict[str, Any]:
    body = json.loads(exc.body)  # type: ignore[attr-defined]
    assert body["status"] == "error" and body["correlationId"]
    return body


def stage(label: str, order: int, probability: str, closed: str | None = None) -> PipelineStageInput:
    metadata = {"probability": probability, **({"isClosed": closed} if closed else {})}
    return PipelineStageInput(label=label, display_order=order, metadata=metadata)


NEW_BUSINESS = [stage("Discovery", 0, "0.1"), stage("Proposal", 1, "0.6"), stage("Won", 2, "1.0", "true"),
                stage("Lost", 3, "0.0", "true")]


def new_pipeline(hs: Client, label: str = "New Business", stages: list[PipelineStageInput] | None = None) -> Any:
    return hs.crm.pipelines.pipelines_api.create(
        object_type="deals", pipeline_input=PipelineInput(label=label, display_order=1,
                                                          stages=NEW_BUSINESS if stages is None else stages))


# -- auth, account, scopes ----------------------------------------------------------------


def test_a_call_without_a_token_is_refused_with_invalid_authentication(hub: HubSpotEmulator) -> None:
    reply = requests.get(f"{hub.api_url}/crm/v3/pipelines/deals", timeout=5)
    assert reply.status_code == 401
    body = reply.json()
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert "X-HubSpot-RateLimit-Remaining" not in reply.headers


def test_an_unknown_or_revoked_token_is_refused(hub: HubSpotEmulator) -> None:
    with pytest.raises(PipelineError) as unknown:
        hub.client(access_token="pat-na1-00000000-0000-0000-0000-000000000000").crm.pipelines.pipelines_api.get_all(
            object_type="deals")
    assert unknown.value.status == 401 and error(unknown.value)["category"] == "INVALID_AUTHENTICATION"
    token = hub.add_token()
    hub.client(access_token=token).crm.pipelines.pipelines_api.get_all(object_type="deals")
    hub.revoke_token(token)
    with pytest.raises(PipelineError) as revoked:
        hub.client(access_token=token).crm.pipelines.pipelines_api.get_all(object_type="deals")
    assert revoked.value.status == 401


def test_token_info_names_the_portal_and_scopes_so_a_token_for_another_portal_can_be_refused(
        hub: HubSpotEmulator, hs: Client) -> None:
    other = hub.add_token(["oauth", "crm.schemas.deals.read"], portal_id=99001)
    infos = [hs.api_request({"method": "POST", "path": "/oauth/v2/private-apps/get/access-token-info",
                             "body": {"tokenKey": token}}).json() for token in (hub.access_token, other)]
    assert [i["hubId"] for i in infos] == [62515, 99001]
    assert infos[1]["scopes"] == ["crm.schemas.deals.read", "oauth"]
    assert "crm.schemas.deals.write" in infos[0]["scopes"]
    details = hub.client(access_token=other).api_request({"method": "GET", "path": "/account-info/v3/details"})
    assert details.status_code == 200 and details.json()["portalId"] == 99001
    # The other portal is another account: it has its own default pipeline and none of this portal's changes.
    new_pipeline(hs)
    theirs = hub.client(access_token=other).crm.pipelines.pipelines_api.get_all(object_type="deals").results
    assert [p.label for p in theirs] == ["Sales Pipeline"]


def test_a_missing_scope_is_named_in_a_403(hub: HubSpotEmulator) -> None:
    reader = hub.client(access_token=hub.add_token(["oauth", "crm.objects.deals.read"]))
    assert len(reader.crm.pipelines.pipelines_api.get_all(object_type="deals").results) == 1  # objects.read reads
    with pytest.raises(PipelineError) as refused:
        new_pipeline(reader)
    assert refused.value.status == 403
    body = error(refused.value)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.schemas.deals.write"]
    assert hub.portal.live_pipelines("deals")[0]["id"] == "default" and len(hub.portal.live_pipelines("deals")) == 1
    account = reader.api_request({"method": "GET", "path": "/account-info/v3/details"})
    assert account.status_code == 200
    no_oauth = hub.client(access_token=hub.add_token(["tickets"]))
    assert no_oauth.api_request({"method": "GET", "path": "/account-info/v3/details"}).json()["errors"][0][
        "context"] == {"requiredGranularScopes": ["oauth"]}
    assert len(no_oauth.crm.pipelines.pipelines_api.get_all(object_type="tickets").results) == 1


def test_an_unknown_object_type_is_a_validation_error(hs: Client) -> None:
    with pytest.raises(PropertyError) as refused:
        hs.crm.properties.core_api.get_all(object_type="widgets")
    assert refused.value.status == 400
    assert error(refused.value)["message"] == "Unable to infer object type from: widgets"


# -- property groups and properties -------------------------------------------------------


def test_a_group_and_an_enumeration_property_round_trip(hs: Client) -> None:
    core, groups = hs.crm.properties.core_api, hs.crm.properties.groups_api
    group = groups.create(object_type="deals", property_group_create=PropertyGroupCreate(
        name="sos_blueprint", label="Sales blueprint", display_order=10))
    assert (group.name, group.label, group.display_order) == ("sos_blueprint", "Sales blueprint", 10)
    created = core.create(object_type="deals", property_create=PropertyCreate(
        name="sos_loss_reason", label="Loss reason", type="enumeration", field_type="select",
        group_name="sos_blueprint", description="sos: managed",
        options=[OptionInput(label="Price", value="price", display_order=0, hidden=False),
                 OptionInput(label="No decision", value="no_decision", display_order=1, hidden=False)]))
    assert created is not None, "a create answers 201, the only status the client deserialises"
    read = core.get_by_name(object_type="deals", property_name="sos_loss_reason")
    assert (read.type, read.field_type, read.group_name, read.hubspot_defined) == (
        "enumeration", "select", "sos_blueprint", False)
    assert [(o.value, o.label) for o in read.options] == [("price", "Price"), ("no_decision", "No decision")]
    assert read.modification_metadata.archivable is True
    assert "sos_loss_reason" in [p.name for p in core.get_all(object_type="deals").results]


@pytest.mark.parametrize(("changes", "status", "message"), [
    pytest.param({"name": "Budget"}, 400, "'Budget' is not a valid name", id="uppercase-name"),
    pytest.param({"name": "1budget"}, 400, "'1budget' is not a valid name", id="leading-digit"),
    pytest.param({"name": "b" * 100}, 400, "is not a valid name", id="100-characters"),
    pytest.param({"name": "hs_budget"}, 400, "reserved prefix hs_", id="hs-prefix"),
    pytest.param({"name": "dealname"}, 409, "Property named 'dealname' already exists.", id="duplicate"),
    pytest.param({"field_type": "select"}, 400, "fieldType select is not valid for type number", id="type-pair"),
    pytest.param({"type": "currency"}, 400, "currency is not a valid property type", id="unknown-type"),
    pytest.param({"group_name": "nowhere"}, 400, "Property group nowhere does not exist", id="unknown-group"),
    pytest.param({"type": "enumeration", "field_type": "select"}, 400, "need at least one option", id="no-options"),
    pytest.param({"type": "bool", "field_type": "booleancheckbox"}, 400, 'options "true" and "false"',
                 id="bool-without-options"),
])
def test_a_bad_property_is_refused(hub: HubSpotEmulator, hs: Client, changes: dict[str, str], status: int,
                                   message: str) -> None:
    fields = {"name": "sos_budget", "label": "Budget", "type": "number", "field_type": "number",
              "group_name": "dealinformation", **changes}
    with pytest.raises(PropertyError) as refused:
        hs.crm.properties.core_api.create(object_type="deals", property_create=PropertyCreate(**fields))
    assert refused.value.status == status
    body = error(refused.value)
    assert message in body["message"]
    assert body["category"] == ("OBJECT_ALREADY_EXISTS" if status == 409 else "VALIDATION_ERROR")
    assert "sos_budget" not in hub.portal.properties["deals"]


def test_a_property_without_a_required_field_is_refused_naming_it(hs: Client) -> None:
    reply = hs.api_request({"method": "POST", "path": "/crm/v3/properties/deals",
                            "body": {"name": "sos_budget", "label": "Budget", "type": "number", "fieldType": "number"}})
    assert reply.status_code == 400
    assert reply.json()["errors"] == [{"message": "groupName is required", "code": "REQUIRED_FIELD",
                                       "in": "groupName"}]


def test_an_option_list_sent_on_update_replaces_the_whole_list(hs: Client) -> None:
    core = hs.crm.properties.core_api
    before = [o.value for o in core.get_by_name(object_type="contacts", property_name="hs_lead_status").options]
    assert before[:3] == ["NEW", "OPEN", "IN_PROGRESS"] and len(before) == 8
    core.update(object_type="contacts", property_name="hs_lead_status", property_update=PropertyUpdate(
        options=[OptionInput(label="New", value="NEW", display_order=0, hidden=False),
                 OptionInput(label="Nurture", value="nurture", display_order=1, hidden=False)]))
    after = core.get_by_name(object_type="contacts", property_name="hs_lead_status")
    assert [o.value for o in after.options] == ["NEW", "nurture"]
    assert after.hubspot_defined is True


def test_hubspot_defined_properties_keep_their_definition_and_cannot_be_archived(hub: HubSpotEmulator,
                                                                                 hs: Client) -> None:
    core = hs.crm.properties.core_api
    with pytest.raises(PropertyError) as archive:
        core.archive(object_type="deals", property_name="dealstage")
    assert archive.value.status == 400 and "cannot be archived" in error(archive.value)["message"]
    with pytest.raises(PropertyError) as relabel:
        core.update(object_type="deals", property_name="amount", property_update=PropertyUpdate(label="Value"))
    assert relabel.value.status == 400 and "definition is read-only" in error(relabel.value)["message"]
    assert hub.portal.properties["deals"]["amount"]["label"] == "Amount"
    with pytest.raises(PropertyError) as lead_label:
        hs.crm.properties.core_api.update(object_type="contacts", property_name="hs_lead_status",
                                          property_update=PropertyUpdate(label="Status"))
    assert error(lead_label.value)["message"] == ("The property hs_lead_status is HubSpot-defined; its definition "
                                                  "is read-only except its options")
    assert not hub.portal.properties["deals"]["dealstage"]["archived"]


def test_an_archived_property_is_listed_only_with_archived_true_and_its_name_stays_taken(hs: Client) -> None:
    core = hs.crm.properties.core_api
    core.create(object_type="deals", property_create=PropertyCreate(
        name="sos_budget", label="Budget", type="number", field_type="number", group_name="dealinformation"))
    core.archive(object_type="deals", property_name="sos_budget")
    assert "sos_budget" not in [p.name for p in core.get_all(object_type="deals").results]
    assert [p.name for p in core.get_all(object_type="deals", archived=True).results] == ["sos_budget"]
    with pytest.raises(PropertyError) as again:
        core.create(object_type="deals", property_create=PropertyCreate(
            name="sos_budget", label="Budget", type="number", field_type="number", group_name="dealinformation"))
    assert again.value.status == 409


def test_a_propertys_type_changes_only_while_no_record_holds_a_value(hub: HubSpotEmulator, hs: Client) -> None:
    core = hs.crm.properties.core_api
    core.create(object_type="deals", property_create=PropertyCreate(
        name="sos_budget", label="Budget", type="string", field_type="text", group_name="dealinformation"))
    core.update(object_type="deals", property_name="sos_budget",
                property_update=PropertyUpdate(type="number", field_type="number"))
    hub.seed("deals", [{"dealname": "A", "dealstage": "closedwon", "sos_budget": "10"}])
    with pytest.raises(PropertyError) as refused:
        core.update(object_type="deals", property_name="sos_budget",
                    property_update=PropertyUpdate(type="string", field_type="text"))
    assert refused.value.status == 400 and error(refused.value)["errors"][0]["in"] == "type"
    assert core.get_by_name(object_type="deals", property_name="sos_budget").type == "number"


def test_batch_create_fails_a_taken_name_alone_and_batch_read_reports_missing_names(hub: HubSpotEmulator,
                                                                             hs: Client) -> None:
    batch = hs.crm.properties.batch_api

    def text(name: str) -> PropertyCreate:
        return PropertyCreate(name=name, label=name, type="string", field_type="text", group_name="dealinformation")

    with pytest.raises(PropertyError) as refused:
        batch.create(object_type="deals", batch_input_property_create=BatchInputPropertyCreate(
            inputs=[text("sos_a"), text("Bad Name")]))
    assert refused.value.status == 400
    assert "sos_a" not in hub.portal.properties["deals"]
    hub.portal.properties["deals"]["sos_taken"] = {**hub.portal.properties["deals"]["dealname"], "name": "sos_taken",
                                                   "archived": True}
    partly = batch.create(object_type="deals", batch_input_property_create=BatchInputPropertyCreate(
        inputs=[text("sos_a"), text("sos_taken")]))
    assert [p.name for p in partly.results] == ["sos_a"] and partly.num_errors == 1
    assert (partly.errors[0].category, partly.errors[0].context) == ("OBJECT_ALREADY_EXISTS", {"name": ["sos_taken"]})
    assert "sos_a" in hub.portal.properties["deals"]
    created = batch.create(object_type="deals", batch_input_property_create=BatchInputPropertyCreate(
        inputs=[text(f"sos_f{i}") for i in range(100)]))
    assert created.status == "COMPLETE" and len(created.results) == 100
    with pytest.raises(PropertyError) as too_many:
        batch.create(object_type="deals", batch_input_property_create=BatchInputPropertyCreate(
            inputs=[text(f"sos_g{i}") for i in range(101)]))
    assert "at most 100 inputs" in error(too_many.value)["message"]
    read = batch.read(object_type="deals", batch_read_input_property_name=BatchReadInputPropertyName(
        archived=False, inputs=[PropertyName(name="sos_f0"), PropertyName(name="sos_nothing")]))
    assert [p.name for p in read.results] == ["sos_f0"] and read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    with pytest.raises(PropertyError) as built_in:
        batch.archive(object_type="deals", batch_input_property_name=BatchInputPropertyName(
            inputs=[PropertyName(name="sos_f1"), PropertyName(name="dealname")]))
    assert built_in.value.status == 400 and not hub.portal.properties["deals"]["sos_f1"]["archived"]
    batch.archive(object_type="deals", batch_input_property_name=BatchInputPropertyName(
        inputs=[PropertyName(name="sos_f1"), PropertyName(name="sos_f2")]))
    archived = hs.crm.properties.core_api.get_all(object_type="deals", archived=True).results
    assert sorted(p.name for p in archived) == ["sos_f1", "sos_f2", "sos_taken"]


def test_a_group_that_holds_properties_cannot_be_archived(hs: Client) -> None:
    groups = hs.crm.properties.groups_api
    groups.create(object_type="deals", property_group_create=PropertyGroupCreate(name="sos_blueprint", label="S"))
    hs.crm.properties.core_api.create(object_type="deals", property_create=PropertyCreate(
        name="sos_budget", label="Budget", type="number", field_type="number", group_name="sos_blueprint"))
    with pytest.raises(PropertyError) as refused:
        groups.archive(object_type="deals", group_name="sos_blueprint")
    assert "still holds properties: sos_budget" in error(refused.value)["message"]
    with pytest.raises(PropertyError) as duplicate:
        groups.create(object_type="deals", property_group_create=PropertyGroupCreate(name="sos_blueprint", label="S"))
    assert duplicate.value.status == 409
    refused_patch = hs.api_request({"method": "PATCH", "path": "/crm/v3/properties/deals/groups/sos_blueprint",
                                    "body": {"label": "Renamed", "displayOrder": "first"}})
    assert refused_patch.status_code == 400 and refused_patch.json()["errors"][0]["in"] == "displayOrder"
    assert groups.get_by_name(object_type="deals", group_name="sos_blueprint").label == "S"
    hs.crm.properties.core_api.archive(object_type="deals", property_name="sos_budget")
    groups.archive(object_type="deals", group_name="sos_blueprint")
    assert [g.name for g in groups.get_all(object_type="deals").results] == ["dealinformation"]


# -- pipelines and stages -----------------------------------------------------------------


def test_the_default_deal_pipeline_is_seeded_with_string_metadata_and_epoch_timestamps(hs: Client) -> None:
    reply = hs.api_request({"method": "GET", "path": "/crm/v3/pipelines/deals"}).json()
    (default,) = reply["results"]
    assert default["id"] == "default" and default["label"] == "Sales Pipeline"
    assert [s["id"] for s in default["stages"]] == ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                                                    "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]
    assert default["stages"][5]["metadata"] == {"isClosed": "true", "probability": "1.0"}
    assert default["stages"][0]["createdAt"] == "1970-01-01T00:00:00Z"


def test_a_pipeline_is_created_with_string_ids_and_metadata_and_mirrored_in_dealstage(hs: Client) -> None:
    created = new_pipeline(hs, stages=[*NEW_BUSINESS[:3],
                                       PipelineStageInput(label="Lost", display_order=3, metadata={"probability": 0})])
    assert created.id.isdigit() and created.created_at is not None
    assert [(s.label, s.metadata) for s in created.stages] == [
        ("Discovery", {"isClosed": "false", "probability": "0.1"}),
        ("Proposal", {"isClosed": "false", "probability": "0.6"}),
        ("Won", {"isClosed": "true", "probability": "1.0"}),
        ("Lost", {"isClosed": "false", "probability": "0.0"})]
    options = hs.crm.properties.core_api.get_by_name(object_type="deals", property_name="dealstage").options
    assert {s.id for s in created.stages} <= {o.value for o in options}


@pytest.mark.parametrize(("stages", "message", "field"), [
    pytest.param([stage("A", 0, "")], "stages[0].metadata.probability is required", "stages[0].metadata.probability",
                 id="no-probability"),
    pytest.param([stage("A", 0, "1.5")], "probability 1.5 is outside 0.0-1.0", "stages[0].metadata.probability",
                 id="above-one"),
    pytest.param([stage("A", 0, "0.25")], "not in increments of 0.1", "stages[0].metadata.probability",
                 id="not-tenths"),
    pytest.param([stage("A", 0, "0.1"), stage("a", 1, "0.2")], "Stage label a is already used",
                 "stages[1].label", id="duplicate-stage-label"),
    pytest.param([stage("A", 0, "1.0", "yes")], 'isClosed must be the string "true" or "false"',
                 "stages[0].metadata.isClosed", id="isClosed-not-a-boolean-string"),
    pytest.param([], "A pipeline needs at least one stage", "stages", id="no-stages"),
])
def test_a_bad_pipeline_is_refused_naming_the_field(hub: HubSpotEmulator, hs: Client,
                                                    stages: list[PipelineStageInput], message: str,
                                                    field: str) -> None:
    with pytest.raises(PipelineError) as refused:
        new_pipeline(hs, stages=stages)
    body = error(refused.value)
    assert refused.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert message in body["message"] and body["errors"][0]["in"] == field
    assert len(hub.portal.live_pipelines("deals")) == 1


def test_pipeline_labels_are_unique_and_the_tier_caps_the_count(hub: HubSpotEmulator, hs: Client) -> None:
    new_pipeline(hs)
    with pytest.raises(PipelineError) as duplicate:
        new_pipeline(hs, label="new business")
    assert duplicate.value.status == 409 and "already exists" in error(duplicate.value)["message"]
    with pytest.raises(PipelineError) as capped:
        new_pipeline(hs, label="Renewals")
    assert capped.value.status == 400
    assert error(capped.value)["message"] == "This account (starter) can have at most 2 deal pipelines"
    assert [p["label"] for p in hub.portal.live_pipelines("deals")] == ["Sales Pipeline", "New Business"]


def test_archived_may_be_sent_only_to_restore(hs: Client) -> None:
    api = hs.crm.pipelines.pipelines_api
    created = new_pipeline(hs)
    with pytest.raises(PipelineError) as refused:
        api.update(object_type="deals", pipeline_id=created.id,
                   pipeline_patch_input=PipelinePatchInput(label="Renamed", archived=False))
    assert refused.value.status == 400 and error(refused.value)["errors"][0]["in"] == "archived"
    api.archive(object_type="deals", pipeline_id=created.id)
    assert [p.id for p in api.get_all(object_type="deals").results] == ["default"]
    with pytest.raises(PipelineError) as gone:
        api.get_by_id(object_type="deals", pipeline_id=created.id)
    assert gone.value.status == 404 and error(gone.value)["category"] == "OBJECT_NOT_FOUND"
    with pytest.raises(PipelineError) as bad_restore:
        api.update(object_type="deals", pipeline_id=created.id,
                   pipeline_patch_input=PipelinePatchInput(archived=False, label="Sales Pipeline"))
    assert bad_restore.value.status == 409
    with pytest.raises(PipelineError):
        api.get_by_id(object_type="deals", pipeline_id=created.id)
    restored = api.update(object_type="deals", pipeline_id=created.id,
                          pipeline_patch_input=PipelinePatchInput(archived=False))
    assert restored.archived is False and len(restored.stages) == 4


def test_stages_are_added_patched_and_archived_one_by_one(hs: Client) -> None:
    stages = hs.crm.pipelines.pipeline_stages_api
    created = new_pipeline(hs)
    added = stages.create(object_type="deals", pipeline_id=created.id,
                          pipeline_stage_input=stage("Negotiation", 2, "0.8"))
    assert added.metadata == {"isClosed": "false", "probability": "0.8"}
    patched = stages.update(object_type="deals", pipeline_id=created.id, stage_id=added.id,
                            pipeline_stage_patch_input=PipelineStagePatchInput(
                                label="Negotiating", metadata={"probability": "0.7"}))
    assert (patched.id, patched.label, patched.metadata["probability"]) == (added.id, "Negotiating", "0.7")
    with pytest.raises(PipelineError) as no_metadata:
        stages.update(object_type="deals", pipeline_id=created.id, stage_id=added.id,
                      pipeline_stage_patch_input=PipelineStagePatchInput(label="X"))
    assert error(no_metadata.value)["errors"][0] == {"message": "metadata is required", "code": "REQUIRED_FIELD",
                                                     "in": "metadata"}
    stages.archive(object_type="deals", pipeline_id=created.id, stage_id=added.id)
    assert "Negotiating" not in [s.label for s in stages.get_all(object_type="deals", pipeline_id=created.id).results]


def test_a_stage_that_deals_are_in_cannot_be_deleted_until_they_move(hub: HubSpotEmulator, hs: Client) -> None:
    created = new_pipeline(hs)
    discovery = created.stages[0].id
    path = f"/crm/v3/pipelines/deals/{created.id}/stages/{discovery}"
    hub.seed("deals", [{"dealname": f"Deal {i}", "pipeline": created.id, "dealstage": discovery} for i in range(2)])
    # hubspot-api-client 12.0.0 has no argument for the flag on a stage's archive: api_request sends it.
    refused = hs.api_request({"method": "DELETE", "path": path, "qs": {"validateDealStageUsagesBeforeDelete": True}})
    assert refused.status_code == 409
    assert refused.json()["message"] == (f"Cannot delete stage {discovery}: 2 deal(s) are in stage {discovery}. "
                                         "Move them to another stage first.")
    assert not hub.portal.pipelines["deals"][created.id]["stages"][discovery]["archived"]
    with pytest.raises(PipelineError) as whole:
        hs.crm.pipelines.pipelines_api.archive(object_type="deals", pipeline_id=created.id,
                                               validate_deal_stage_usages_before_delete=True)
    assert whole.value.status == 409
    for deal_id in hub.portal.records["deals"]:
        hs.crm.deals.basic_api.update(deal_id=deal_id, simple_public_object_input=SimplePublicObjectInput(
            properties={"dealstage": created.stages[1].id}))
    assert hs.api_request({"method": "DELETE", "path": path,
                           "qs": {"validateDealStageUsagesBeforeDelete": True}}).status_code == 204
    assert hub.portal.pipelines["deals"][created.id]["stages"][discovery]["archived"]


def test_without_validation_v3_deletes_a_stage_that_deals_are_in(hub: HubSpotEmulator, hs: Client) -> None:
    created = new_pipeline(hs)
    discovery = created.stages[0].id
    hub.seed("deals", [{"dealname": "Held", "pipeline": created.id, "dealstage": discovery}])
    hs.crm.pipelines.pipeline_stages_api.archive(object_type="deals", pipeline_id=created.id, stage_id=discovery)
    assert hub.portal.pipelines["deals"][created.id]["stages"][discovery]["archived"]


def test_the_last_pipeline_and_a_pipelines_last_stage_stay(hub: HubSpotEmulator, hs: Client) -> None:
    with pytest.raises(PipelineError) as last_pipeline:
        hs.crm.pipelines.pipelines_api.archive(object_type="deals", pipeline_id="default")
    assert "at least one pipeline" in error(last_pipeline.value)["message"]
    created = new_pipeline(hs, stages=[stage("Only", 0, "0.5")])
    with pytest.raises(PipelineError) as last_stage:
        hs.crm.pipelines.pipeline_stages_api.archive(object_type="deals", pipeline_id=created.id,
                                                     stage_id=created.stages[0].id)
    assert "at least one stage" in error(last_stage.value)["message"]


def test_a_put_replaces_the_stages_keeping_the_ids_it_names_unless_deals_hold_a_dropped_one(
        hub: HubSpotEmulator, hs: Client) -> None:
    api = hs.crm.pipelines.pipelines_api
    created = new_pipeline(hs)
    discovery, proposal = created.stages[0].id, created.stages[1].id
    # The client's PipelineStageInput has no stageId (the spec's does): api_request sends it.
    reply = hs.api_request({"method": "PUT", "path": f"/crm/v3/pipelines/deals/{created.id}", "body": {
        "label": "New Business", "displayOrder": 1, "stages": [
            {"label": "Discovery call", "displayOrder": 0, "metadata": {"probability": "0.1"}, "stageId": discovery},
            {"label": "Closed", "displayOrder": 1, "metadata": {"probability": "1.0", "isClosed": "true"}}]}})
    replaced = reply.json()["stages"]
    assert reply.status_code == 200 and [s["label"] for s in replaced] == ["Discovery call", "Closed"]
    assert replaced[0]["id"] == discovery and replaced[1]["id"] not in {s.id for s in created.stages}
    assert hub.portal.pipelines["deals"][created.id]["stages"][proposal]["archived"]
    hub.seed("deals", [{"dealname": "Held", "pipeline": created.id, "dealstage": discovery}])
    with pytest.raises(PipelineError) as refused:
        api.replace(object_type="deals", pipeline_id=created.id, validate_deal_stage_usages_before_delete=True,
                    pipeline_input=PipelineInput(label="New Business", display_order=1,
                                                 stages=[stage("Fresh", 0, "0.5")]))
    assert refused.value.status == 409
    assert error(refused.value)["message"] == (f"Cannot delete stages of pipeline {created.id}: 1 deal(s) are in "
                                               f"stage {discovery}. Move them to another stage first.")
    assert [s.label for s in api.get_by_id(object_type="deals", pipeline_id=created.id).stages] == [
        "Discovery call", "Closed"]


def test_ticket_stages_take_an_optional_ticket_state(hs: Client) -> None:
    api = hs.crm.pipelines.pipelines_api
    stages = [PipelineStageInput(label="Open", display_order=0, metadata={}),
              PipelineStageInput(label="Done", display_order=1, metadata={"ticketState": "CLOSED"})]
    created = api.create(object_type="tickets",
                         pipeline_input=PipelineInput(label="Onboarding", display_order=1, stages=stages))
    assert [s.metadata for s in created.stages] == [{}, {"ticketState": "CLOSED"}]
    with pytest.raises(PipelineError) as refused:
        api.create(object_type="tickets", pipeline_input=PipelineInput(label="Other", display_order=2, stages=[
            PipelineStageInput(label="Open", display_order=0, metadata={"ticketState": "PENDING"})]))
    assert error(refused.value)["errors"][0]["in"] == "stages[0].metadata.ticketState"
    with pytest.raises(PipelineError) as contacts:
        api.get_all(object_type="contacts")
    assert contacts.value.status == 400


def test_caller_chosen_ids_are_kept_and_must_be_unique(hs: Client) -> None:
    reply = hs.api_request({"method": "POST", "path": "/crm/v3/pipelines/deals", "body": {
        "label": "New Business", "displayOrder": 1, "pipelineId": "sos_new_business",
        "stages": [{"label": "Discovery", "displayOrder": 0, "stageId": "sos_discovery",
                    "metadata": {"probability": "0.1"}}]}})
    assert reply.status_code == 201
    assert (reply.json()["id"], reply.json()["stages"][0]["id"]) == ("sos_new_business", "sos_discovery")
    again = hs.api_request({"method": "POST", "path": "/crm/v3/pipelines/deals/sos_new_business/stages", "body": {
        "label": "Other", "displayOrder": 1, "stageId": "sos_discovery", "metadata": {"probability": "0.2"}}})
    assert again.status_code == 409 and again.json()["category"] == "OBJECT_ALREADY_EXISTS"


RECORD_STAGES = ["appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost"]


def seed_deals(hub: HubSpotEmulator, count: int) -> list[str]:
    return hub.seed("deals", [{"dealname": f"Deal {i:02d}", "dealstage": RECORD_STAGES[i % 4], "amount": str(100 * i),
                               "closedate": f"2026-12-{i % 28 + 1:02d}"} for i in range(count)])


def search(hs: Client, *filters: dict[str, Any], **kwargs: Any) -> Any:
    groups = [{"filters": list(filters)}] if filters else []
    return hs.crm.deals.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
        filter_groups=groups, **kwargs))


# -- records ------------------------------------------------------------------------------


def test_a_deal_round_trips_with_string_values_and_the_default_pipeline(hs: Client) -> None:
    basic = hs.crm.deals.basic_api
    created = basic.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
        properties={"dealname": "Acme renewal", "dealstage": "qualifiedtobuy", "amount": 1200}))
    assert created.id.isdigit()
    assert created.properties["pipeline"] == "default" and created.properties["amount"] == "1200"
    updated = basic.update(deal_id=created.id, simple_public_object_input=SimplePublicObjectInput(
        properties={"dealstage": "closedwon", "closedate": "2026-12-04"}))
    assert updated.properties["dealstage"] == "closedwon"
    read = basic.get_by_id(deal_id=created.id, properties=["dealname", "closedate", "dealtype", "no_such_property"])
    assert read.properties == {"dealname": "Acme renewal", "closedate": "2026-12-04T00:00:00.000Z", "dealtype": None}


@pytest.mark.parametrize(("properties", "code", "name"), [
    pytest.param({"dealname": "X", "dealstage": "nowhere"}, "INVALID_OPTION", "dealstage", id="unknown-stage"),
    pytest.param({"dealname": "X", "dealstage": "closedwon", "budget": "1"}, "PROPERTY_DOESNT_EXIST", "budget",
                 id="unknown-property"),
    pytest.param({"dealname": "X", "dealstage": "closedwon", "amount": "lots"}, "INVALID_DECIMAL", "amount",
                 id="not-a-number"),
    pytest.param({"dealname": "X", "dealstage": "closedwon", "dealtype": "upsell"}, "INVALID_OPTION", "dealtype",
                 id="unknown-option"),
    pytest.param({"dealname": "X", "dealstage": "closedwon", "hs_object_id": "5"}, "READ_ONLY_VALUE",
                 "hs_object_id", id="read-only"),
    pytest.param({"dealname": "X"}, "REQUIRED", "dealstage", id="no-stage"),
])
def test_bad_record_values_are_refused_naming_the_property(hub: HubSpotEmulator, hs: Client,
                                                           properties: dict[str, str], code: str, name: str) -> None:
    with pytest.raises(DealError) as refused:
        hs.crm.deals.basic_api.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties=properties))
    body = error(refused.value)
    assert refused.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert [(e["code"], e["context"]["propertyName"]) for e in body["errors"]] == [(code, [name])]
    assert hub.portal.records["deals"] == {}


def test_a_stage_of_another_pipeline_is_not_a_valid_dealstage(hs: Client) -> None:
    with pytest.raises(DealError) as refused:
        hs.crm.deals.basic_api.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"dealname": "X", "pipeline": "default", "dealstage": "1"}))
    assert "1 is not a valid dealstage of pipeline default" in error(refused.value)["message"]


def test_an_unknown_record_is_a_404(hs: Client) -> None:
    with pytest.raises(DealError) as missing:
        hs.crm.deals.basic_api.get_by_id(deal_id="999")
    assert missing.value.status == 404 and error(missing.value)["category"] == "OBJECT_NOT_FOUND"


def test_a_deals_stage_history_dates_each_move_on_the_emulators_clock(hub: HubSpotEmulator, hs: Client) -> None:
    clock = hub.clock
    assert isinstance(clock, ManualClock)
    (deal,) = hub.seed("deals", [{"dealname": "Acme", "dealstage": "qualifiedtobuy"}])
    clock.advance(seconds=5 * 86400)
    hs.crm.deals.basic_api.update(deal_id=deal, simple_public_object_input=SimplePublicObjectInput(
        properties={"dealstage": "contractsent", "dealname": "Acme"}))
    read = hs.crm.deals.basic_api.get_by_id(deal_id=deal, properties_with_history=["dealstage", "dealname", "nothing"])
    history = {name: [(v.value, v.timestamp) for v in versions]
               for name, versions in read.properties_with_history.items()}
    assert history["dealstage"] == [("contractsent", clock.now), ("qualifiedtobuy", clock.now - timedelta(days=5))]
    assert [value for value, _ in history["dealname"]] == ["Acme"] and "nothing" not in history
    with pytest.raises(DealError) as too_many:
        hs.crm.deals.basic_api.get_page(limit=51, properties_with_history=["dealstage"])
    assert "limit must be between 1 and 50" in error(too_many.value)["message"]


def test_an_archived_record_leaves_reads_lists_and_search(hub: HubSpotEmulator, hs: Client) -> None:
    kept, gone = hub.seed("deals", [{"dealname": "Kept", "dealstage": "closedwon"},
                                    {"dealname": "Gone", "dealstage": "closedwon"}])
    hs.crm.deals.basic_api.archive(deal_id=gone)
    with pytest.raises(DealError) as missing:
        hs.crm.deals.basic_api.get_by_id(deal_id=gone)
    assert missing.value.status == 404
    assert [d.id for d in hs.crm.deals.basic_api.get_page().results] == [kept]
    assert [d.id for d in hs.crm.deals.basic_api.get_page(archived=True).results] == [gone]
    assert search(hs).total == 1


def test_listing_pages_with_after_until_no_next_page(hub: HubSpotEmulator, hs: Client) -> None:
    ids = seed_deals(hub, 25)
    seen, after, pages = [], None, 0
    while True:
        page = hs.crm.deals.basic_api.get_page(limit=10, after=after)
        seen += [d.id for d in page.results]
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == ids and pages == 3
    with pytest.raises(DealError) as too_big:
        hs.crm.deals.basic_api.get_page(limit=101)
    assert "limit must be between 1 and 100" in error(too_big.value)["message"]


# -- search -------------------------------------------------------------------------------


def test_search_filters_or_groups_sorts_and_counts(hub: HubSpotEmulator, hs: Client) -> None:
    ids = seed_deals(hub, 12)
    won = search(hs, {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"})
    assert won.total == 3 and [d.id for d in won.results] == [ids[2], ids[6], ids[10]]
    closed = hs.crm.deals.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]},
                       {"filters": [{"propertyName": "amount", "operator": "GTE", "value": "1000"}]}],
        sorts=[{"propertyName": "amount", "direction": "DESCENDING"}], properties=["amount"]))
    assert [d.properties["amount"] for d in closed.results] == ["1100", "1000", "600", "200"]
    between = search(hs, {"propertyName": "closedate", "operator": "BETWEEN", "value": "2026-12-03",
                          "highValue": "2026-12-05"})
    assert [d.properties["dealname"] for d in between.results] == ["Deal 02", "Deal 03", "Deal 04"]
    hs.crm.deals.basic_api.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
        properties={"dealname": "No amount", "dealstage": "closedwon"}))
    missing = search(hs, {"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"},
                     {"propertyName": "dealstage", "operator": "IN", "values": ["closedwon", "closedlost"]})
    assert [d.properties["dealname"] for d in missing.results] == ["No amount"]
    token = search(hs, {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "amo*"})
    assert token.total == 1


def test_search_query_finds_word_starts_and_returns_the_objects_default_properties(hub: HubSpotEmulator,
                                                                                  hs: Client) -> None:
    hub.seed("contacts", [{"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com",
                           "createdate": "2026-01-05T09:00:00Z"},
                          {"firstname": "Alan", "lastname": "Turing", "hs_lead_status": "NEW"}])
    found = hs.crm.contacts.search_api.do_search(public_object_search_request=ContactSearchRequest(query="love"))
    assert found.total == 1
    (ada,) = found.results
    assert sorted(ada.properties) == ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                                      "lastname"]
    assert ada.properties["createdate"] == "2026-01-05T09:00:00.000Z"
    assert hs.crm.contacts.search_api.do_search(public_object_search_request=ContactSearchRequest(
        query="al tur")).results[0].properties["lastname"] == "Turing"


def test_a_contacts_email_is_unique_and_a_string_sort_may_descend(hub: HubSpotEmulator, hs: Client) -> None:
    (ada,) = hub.seed("contacts", [{"firstname": "Ada", "email": "ada@example.com"}])
    with pytest.raises(ContactError) as duplicate:
        hs.crm.contacts.basic_api.create(simple_public_object_input_for_create=ContactCreate(
            properties={"firstname": "Other", "email": "ADA@example.com"}))
    assert duplicate.value.status == 409
    assert (error(duplicate.value)["category"], error(duplicate.value)["message"]) == (
        "CONFLICT", f"Contact already exists. Existing ID: {ada}")
    hub.seed("contacts", [{"firstname": "Bea", "email": "bea@example.com"}])
    names = hs.crm.contacts.search_api.do_search(public_object_search_request=ContactSearchRequest(
        sorts=["-firstname"])).results
    assert [c.properties["firstname"] for c in names] == ["Bea", "Ada"]


def test_search_pages_by_offset_and_stops_at_the_ceiling(hub: HubSpotEmulator, hs: Client) -> None:
    seed_deals(hub, 5)
    first = search(hs, limit=2)
    assert first.total == 5 and first.paging.next.after == "2"
    last = search(hs, limit=2, after="4")
    assert len(last.results) == 1 and last.paging is None
    with pytest.raises(DealError) as ceiling:
        search(hs, limit=200, after="9900")
    assert ceiling.value.status == 400 and "limited to 10000" in error(ceiling.value)["message"]
    with pytest.raises(DealError) as page:
        search(hs, limit=201)
    assert "limit must be between 1 and 200" in error(page.value)["message"]


@pytest.mark.parametrize(("groups", "message"), [
    pytest.param([{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}] * 7}],
                 "A filter group takes at most 6 filters", id="seven-in-a-group"),
    pytest.param([{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}]}] * 6,
                 "A search takes at most 5 filterGroups", id="six-groups"),
    pytest.param([{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}] * 6}] * 4,
                 "A search takes at most 18 filters in all, got 24", id="24-filters"),
    pytest.param([{"filters": [{"propertyName": "budget", "operator": "HAS_PROPERTY"}]}],
                 "property 'budget' does not exist", id="unknown-property"),
    pytest.param([{"filters": [{"propertyName": "amount", "operator": "ABOUT", "value": "1"}]}],
                 "Unknown operator ABOUT", id="unknown-operator"),
    pytest.param([{"filters": [{"propertyName": "amount", "operator": "BETWEEN", "value": "1"}]}],
                 "filterGroups[0].filters[0].highValue is required", id="between-without-high"),
])
def test_a_search_beyond_the_documented_limits_is_refused(hs: Client, groups: list[dict[str, Any]],
                                                          message: str) -> None:
    with pytest.raises(DealError) as refused:
        hs.crm.deals.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
            filter_groups=groups))
    assert refused.value.status == 400 and message in error(refused.value)["message"]


# -- rate limits --------------------------------------------------------------------------


def test_every_call_reports_the_portals_limits_in_headers_but_search_does_not(hub: HubSpotEmulator,
                                                                              hs: Client) -> None:
    first = hs.api_request({"method": "GET", "path": "/crm/v3/pipelines/deals"})
    second = hs.api_request({"method": "GET", "path": "/crm/v3/pipelines/deals"})
    assert {k: v for k, v in second.headers.items() if k.startswith("X-HubSpot")} == {
        "X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249998",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "98"}
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    (usage,) = hs.api_request({"method": "GET", "path": "/account-info/v3/api-usage/daily/private-apps"}).json()
    assert (usage["name"], usage["usageLimit"], usage["currentUsage"]) == ("api-calls-daily", 250000, 3)
    assert usage["resetsAt"] == f"{hub.clock().date() + timedelta(days=1)}T00:00:00.000Z"
    found = hs.api_request({"method": "POST", "path": "/crm/v3/objects/deals/search", "body": {}})
    assert found.status_code == 200 and not [k for k in found.headers if k.startswith("X-HubSpot")]


def test_the_101st_call_in_ten_seconds_gets_a_429_until_the_window_moves(hub: HubSpotEmulator,
                                                                        hs: Client) -> None:
    clock = hub.clock
    assert isinstance(clock, ManualClock)
    for _ in range(100):
        hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
    with pytest.raises(PipelineError) as limited:
        hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
    assert limited.value.status == 429
    body = error(limited.value)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert limited.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    clock.advance(seconds=10)
    assert hs.crm.pipelines.pipelines_api.get_all(object_type="deals").results[0].id == "default"


def test_the_daily_limit_refuses_every_call_until_midnight(hub: HubSpotEmulator, hs: Client) -> None:
    limits = hub.limits_of()
    limits.daily_max = 3
    for _ in range(3):
        hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
    for _ in range(2):
        with pytest.raises(PipelineError) as limited:
            hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
        assert error(limited.value)["policyName"] == "DAILY"
        assert error(limited.value)["message"] == "You have reached your daily limit."
    usage = limits.daily_used
    assert usage == 3
    hub.clock.advance(seconds=9 * 3600)  # 15:00 + 9 h: past midnight UTC
    assert hs.crm.pipelines.pipelines_api.get_all(object_type="deals").results


def test_search_has_its_own_five_a_second_limit(hub: HubSpotEmulator, hs: Client) -> None:
    for _ in range(5):
        search(hs)
    with pytest.raises(DealError) as limited:
        search(hs)
    assert limited.value.status == 429 and error(limited.value)["policyName"] == "SECONDLY"
    hs.crm.pipelines.pipelines_api.get_all(object_type="deals")   # other calls go on
    hub.clock.advance(seconds=1)
    assert search(hs).total == 0


# -- faults -------------------------------------------------------------------------------


def test_injected_server_errors_fail_the_next_calls_then_clear(hub: HubSpotEmulator, hs: Client) -> None:
    hub.faults.server_error(times=2, status=502)
    for _ in range(2):
        with pytest.raises(PipelineError) as failed:
            hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
        assert failed.value.status == 502
    assert hs.crm.pipelines.pipelines_api.get_all(object_type="deals").results


def test_the_nth_write_fails_and_changes_nothing_while_reads_pass(hub: HubSpotEmulator, hs: Client) -> None:
    groups = hs.crm.properties.groups_api
    hub.faults.server_error(status=503, writes_only=True, after=2)
    for name in ("sos_a", "sos_b"):
        groups.create(object_type="deals", property_group_create=PropertyGroupCreate(name=name, label=name))
        groups.get_all(object_type="deals")
    with pytest.raises(PropertyError) as failed:
        groups.create(object_type="deals", property_group_create=PropertyGroupCreate(name="sos_c", label="c"))
    assert failed.value.status == 503
    assert sorted(hub.portal.groups["deals"]) == ["dealinformation", "sos_a", "sos_b"]
    groups.create(object_type="deals", property_group_create=PropertyGroupCreate(name="sos_c", label="c"))


def test_injected_rate_limits_and_token_expiry_answer_as_hubspot_does(hub: HubSpotEmulator, hs: Client) -> None:
    hub.faults.rate_limit(policy="DAILY", operations={"GET /crm/v3/properties/{objectType}"})
    hub.faults.expire_token(operations={"GET /crm/v3/pipelines/{objectType}"})
    with pytest.raises(PropertyError) as limited:
        hs.crm.properties.core_api.get_all(object_type="deals")
    assert limited.value.status == 429 and error(limited.value)["policyName"] == "DAILY"
    with pytest.raises(PipelineError) as expired:
        hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
    assert expired.value.status == 401 and error(expired.value)["category"] == "EXPIRED_AUTHENTICATION"
    assert hs.crm.properties.core_api.get_all(object_type="deals").results


def test_calls_are_counted_per_endpoint(hub: HubSpotEmulator, hs: Client) -> None:
    hs.crm.pipelines.pipelines_api.get_all(object_type="deals")
    hs.crm.pipelines.pipelines_api.get_all(object_type="tickets")
    hs.crm.properties.core_api.get_by_name(object_type="contacts", property_name="hs_lead_status")
    assert hub.calls == {"GET /crm/v3/pipelines/{objectType}": 2,
                         "GET /crm/v3/properties/{objectType}/{propertyName}": 1}


# -- the command line ---------------------------------------------------------------------


def test_the_module_prints_the_url_and_token_a_script_reads_then_serves() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.hubspot", "--port", "0",
                                "--seed-deals", "closedwon=3"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
        assert lines["api_url"].startswith("http://127.0.0.1:") and lines["access_token"].startswith("pat-na1-")
        reply = requests.post(f"{lines['api_url']}/crm/v3/objects/deals/search", timeout=5,
                              headers={"Authorization": f"Bearer {lines['access_token']}"}, json={
                                  "filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "EQ",
                                                                 "value": "closedwon"}]}]})
        assert reply.status_code == 200 and reply.json()["total"] == 3
    finally:
        process.terminate()
        process.wait(timeout=5)
