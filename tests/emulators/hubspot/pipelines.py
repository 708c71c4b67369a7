"""Pipelines and stages: `/crm/v3/pipelines/{objectType}[/{pipelineId}[/stages[/{stageId}]]]` (reference §4).

Sources: the pipelines guide (developers.hubspot.com/docs/api/crm/pipelines) and HubSpot's OpenAPI spec
(PublicApiSpecs/CRM/Pipelines/Rollouts/145896/v3/pipelines.json): PipelineInput requires label, displayOrder,
stages; PipelineStageInput and PipelineStagePatchInput require metadata; deal stages need `probability`, "between
0.0 and 1.0 in increments of 0.1"; stage labels unique within a pipeline; `archived` in a PATCH only to restore
("If it's provided in any other call, the request will fail and a 400 Bad Request will be returned").
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ApiError, already_exists, conflict, invalid, not_found, required
from .portal import Portal, live_stages, ordered
from .request import Reply, Request, integer

# UNVERIFIED for v3 (legacy v1 docs): pipeline labels of at most 36 characters, at most 100 stages.
MAX_PIPELINE_LABEL = 36
MAX_STAGES = 100
# UNVERIFIED: which characters a caller-chosen pipelineId/stageId may hold; the strict reading.
CALLER_ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def list_pipelines(req: Request) -> Reply:
    pipelines = ordered(req.portal.live_pipelines(req.params["objectType"]))
    return 200, {"results": [_view(p) for p in pipelines]}


def get_pipeline(req: Request) -> Reply:
    return 200, _view(_pipeline(req))


def create_pipeline(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    body = req.json_object()
    for name in ("label", "displayOrder", "stages"):
        if name not in body:
            raise required(name)
    _check_pipeline_label(portal, object_type, body["label"], None)
    _check_cap(portal, object_type)
    _check_stage_count(body["stages"])
    pipeline_id = _caller_id(portal, object_type, body.get("pipelineId"), "pipelineId",
                             set(portal.pipelines[object_type]))
    now = portal.now()
    pipeline = {"id": pipeline_id, "label": body["label"], "displayOrder": integer(body, "displayOrder"),
                "archived": False, "createdAt": now, "updatedAt": now, "stages": {}}
    taken = _stage_ids(portal, object_type)
    for i, item in enumerate(body["stages"]):
        stage = _new_stage(portal, object_type, pipeline, item, f"stages[{i}]", taken)
        pipeline["stages"][stage["id"]] = stage
        taken.add(stage["id"])
    portal.pipelines[object_type][pipeline_id] = pipeline
    return 201, _view(pipeline)


def update_pipeline(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    body = req.json_object()
    pipeline = portal.pipelines[object_type].get(req.params["pipelineId"])
    if pipeline is None or (pipeline["archived"] and body.get("archived") is not False):
        raise _missing_pipeline(req)
    if not pipeline["archived"] and "archived" in body:
        raise invalid("archived may only be sent to restore an archived pipeline", field="archived")
    unknown = set(body) - {"label", "displayOrder", "archived"}
    if unknown:
        raise invalid(f"Unrecognized field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    label = body.get("label", pipeline["label"])
    _check_pipeline_label(portal, object_type, label, pipeline["id"])
    order = integer(body, "displayOrder", pipeline["displayOrder"])
    if pipeline["archived"]:
        _check_cap(portal, object_type)
        pipeline.pop("archivedAt", None)
    pipeline.update(label=label, displayOrder=order, archived=False, updatedAt=portal.now())
    return 200, _view(pipeline)


def replace_pipeline(req: Request) -> Reply:
    """PUT: "This will overwrite any existing pipeline stages" (the client's docstring, from the spec). A stage
    input whose stageId names a stage of this pipeline keeps that stage's id; every other input is a new stage;
    stages left out are removed, refused if deals are in them (see `_refuse_if_used`). UNVERIFIED id matching."""
    portal, object_type = req.portal, req.params["objectType"]
    pipeline = _pipeline(req)
    body = req.json_object()
    for name in ("label", "displayOrder", "stages"):
        if name not in body:
            raise required(name)
    _check_pipeline_label(portal, object_type, body["label"], pipeline["id"])
    _check_stage_count(body["stages"])
    old = pipeline["stages"]
    taken = _stage_ids(portal, object_type) - set(old)
    replacement: dict[str, Any] = {"label": body["label"], "stages": {}}
    for i, item in enumerate(body["stages"]):
        stage = _new_stage(portal, object_type, replacement, item, f"stages[{i}]", taken)
        if stage["id"] in old:
            stage["createdAt"] = old[stage["id"]]["createdAt"]
        replacement["stages"][stage["id"]] = stage
        taken.add(stage["id"])
    removed = {sid for sid, s in old.items() if not s["archived"] and sid not in replacement["stages"]}
    _refuse_if_used(req, removed, f"stages of pipeline {pipeline['id']}")
    now = portal.now()
    for sid in removed:
        old[sid].update(archived=True, archivedAt=now)
    old.update(replacement["stages"])
    pipeline.update(label=body["label"], displayOrder=integer(body, "displayOrder"), updatedAt=now)
    return 200, _view(pipeline)


def archive_pipeline(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    pipeline = _pipeline(req)
    if len(portal.live_pipelines(object_type)) == 1:
        # Legacy docs: an account keeps at least one pipeline per object (error shape UNVERIFIED).
        raise invalid("An account needs at least one pipeline; this is the last one")
    _refuse_if_used(req, {s["id"] for s in live_stages(pipeline)}, f"pipeline {pipeline['id']}")
    pipeline["archived"] = True
    pipeline["archivedAt"] = portal.now()
    return 204, None


def list_stages(req: Request) -> Reply:
    return 200, {"results": [_stage_view(s) for s in ordered(live_stages(_pipeline(req)))]}


def get_stage(req: Request) -> Reply:
    return 200, _stage_view(_stage(req, _pipeline(req)))


def create_stage(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    pipeline = _pipeline(req)
    if len(live_stages(pipeline)) >= MAX_STAGES:
        raise invalid(f"A pipeline can have at most {MAX_STAGES} stages")
    stage = _new_stage(portal, object_type, pipeline, req.json_object(), "", _stage_ids(portal, object_type))
    pipeline["stages"][stage["id"]] = stage
    pipeline["updatedAt"] = stage["createdAt"]
    return 201, _stage_view(stage)


def update_stage(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    pipeline = _pipeline(req)
    body = req.json_object()
    stage = pipeline["stages"].get(req.params["stageId"])
    if stage is None or (stage["archived"] and body.get("archived") is not False):
        raise _missing_stage(req)
    if not stage["archived"] and "archived" in body:
        raise invalid("archived may only be sent to restore an archived stage", field="archived")
    unknown = set(body) - {"label", "displayOrder", "metadata", "archived"}
    if unknown:
        raise invalid(f"Unrecognized field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    # PipelineStagePatchInput requires metadata (the spec's `required`), and the map sent replaces the stored one:
    # UNVERIFIED whether HubSpot merges it; replacing is the stricter reading (isClosed left out becomes "false").
    if "metadata" not in body:
        raise required("metadata")
    label = body.get("label", stage["label"])
    _check_stage_label(pipeline, label, stage["id"], "label")
    metadata = _metadata(object_type, body["metadata"], "metadata")
    stage.update(label=label, displayOrder=integer(body, "displayOrder", stage["displayOrder"]), metadata=metadata,
                 archived=False, updatedAt=portal.now())
    stage.pop("archivedAt", None)
    return 200, _stage_view(stage)


def replace_stage(req: Request) -> Reply:
    """PUT: a whole PipelineStageInput (label, displayOrder and metadata required)."""
    for name in ("label", "displayOrder"):
        if name not in req.json_object():
            raise required(name)
    return update_stage(req)


def archive_stage(req: Request) -> Reply:
    portal = req.portal
    pipeline = _pipeline(req)
    stage = _stage(req, pipeline)
    if len(live_stages(pipeline)) == 1:
        raise invalid("A pipeline needs at least one stage; this is the last one")
    _refuse_if_used(req, {stage["id"]}, f"stage {stage['id']}")
    stage["archived"] = True
    stage["archivedAt"] = portal.now()
    return 204, None


def _refuse_if_used(req: Request, stage_ids: set[str], what: str) -> None:
    """A stage that deals are in is deleted only when the call does not ask to validate its usages:
    validateDealStageUsagesBeforeDelete / validateReferencesBeforeDelete default to false in v3 ("default: false",
    developers.hubspot.com/docs/api-reference/crm-pipelines-v3/pipelines/delete-crm-v3-pipelines-objectType-
    pipelineId; the changelog "pipeline-stage-validation-true" makes them true from 2026-09 only, "It does not
    change the behavior of the current GA API version"). The 409 shape is UNVERIFIED."""
    portal, object_type = req.portal, req.params["objectType"]
    validate = [req.flag(name) for name in ("validateReferencesBeforeDelete", "validateDealStageUsagesBeforeDelete")]
    if object_type != "deals" or not any(validate):
        return
    used = sorted(sid for sid in stage_ids if portal.deals_in({sid}))
    if used:
        raise conflict(f"Cannot delete {what}: {portal.deals_in(stage_ids)} deal(s) are in stage {', '.join(used)}. "
                       "Move them to another stage first.")


def _new_stage(portal: Portal, object_type: str, pipeline: dict[str, Any], item: Any, where: str,
               taken: set[str]) -> dict[str, Any]:
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        raise invalid("Invalid input JSON: a stage must be an object", field=where or None, code="INVALID_JSON")
    for name in ("label", "displayOrder", "metadata"):
        if name not in item:
            raise required(prefix + name)
    _check_stage_label(pipeline, item["label"], None, prefix + "label")
    stage_id = _caller_id(portal, object_type, item.get("stageId"), prefix + "stageId", taken)
    now = portal.now()
    return {"id": stage_id, "label": item["label"], "displayOrder": integer(item, "displayOrder"),
            "metadata": _metadata(object_type, item["metadata"], prefix + "metadata"),
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", "archived": False, "createdAt": now, "updatedAt": now}


def _metadata(object_type: str, raw: Any, where: str) -> dict[str, str]:
    """Deals: probability required, 0.0-1.0 in tenths; isClosed "true"/"false" (default "false"). Tickets:
    ticketState OPEN|CLOSED, optional. Values come back as strings."""
    if not isinstance(raw, dict):
        raise invalid("metadata must be an object of strings", field=where)
    if object_type == "tickets":
        state = raw.get("ticketState")
        if state is not None and state not in ("OPEN", "CLOSED"):
            raise invalid("ticketState must be OPEN or CLOSED", field=f"{where}.ticketState")
        return {"ticketState": state} if state else {}
    unknown = set(raw) - {"probability", "isClosed"}
    if unknown:
        raise invalid(f"Unknown metadata key {sorted(unknown)[0]} for a deal stage", field=where)
    if raw.get("probability") in (None, ""):
        raise required(f"{where}.probability")
    probability = _probability(raw["probability"], f"{where}.probability")
    closed = raw.get("isClosed", "false")
    # The docs show numbers for probability, so numbers pass; isClosed as a JSON boolean is UNVERIFIED: refused.
    if closed not in ("true", "false"):
        raise invalid('isClosed must be the string "true" or "false"', field=f"{where}.isClosed")
    return {"isClosed": closed, "probability": probability}


def _probability(raw: Any, where: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise invalid("probability must be a number between 0.0 and 1.0", field=where)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise invalid(f"probability {raw!r} is not a number", field=where) from None
    if not Decimal(0) <= value <= Decimal(1):
        raise invalid(f"probability {raw} is outside 0.0-1.0", field=where)
    if value * 10 != (value * 10).to_integral_value():
        # "in increments of 0.1" (the spec); UNVERIFIED whether 0.25 is refused: refused (stricter).
        raise invalid(f"probability {raw} is not in increments of 0.1", field=where)
    return str(value.quantize(Decimal("0.1")))


def _check_pipeline_label(portal: Portal, object_type: str, label: Any, own_id: str | None) -> None:
    if not isinstance(label, str) or not label.strip():
        raise required("label")
    if len(label) > MAX_PIPELINE_LABEL:
        raise invalid(f"A pipeline label has at most {MAX_PIPELINE_LABEL} characters", field="label")
    for other in portal.live_pipelines(object_type):
        # UNVERIFIED whether the comparison ignores case: it does here (stricter).
        if other["id"] != own_id and other["label"].casefold() == label.casefold():
            raise conflict(f"A pipeline with label {label} already exists.")


def _check_stage_label(pipeline: dict[str, Any], label: Any, own_id: str | None, where: str) -> None:
    if not isinstance(label, str) or not label.strip():
        raise required(where)
    for other in live_stages(pipeline):
        if other["id"] != own_id and other["label"].casefold() == label.casefold():
            raise invalid(f"Stage label {label} is already used in pipeline {pipeline['label']}; stage labels must be "
                          "unique within a pipeline", field=where, code="DUPLICATE_LABEL")


def _check_stage_count(stages: Any) -> None:
    if not isinstance(stages, list) or not stages:
        raise invalid("A pipeline needs at least one stage", field="stages")
    if len(stages) > MAX_STAGES:
        raise invalid(f"A pipeline can have at most {MAX_STAGES} stages", field="stages")


def _check_cap(portal: Portal, object_type: str) -> None:
    if object_type == "deals" and len(portal.live_pipelines("deals")) >= portal.pipeline_cap:
        # Over the tier's cap: a 4xx of UNVERIFIED shape (reference §4); 400 here.
        raise invalid(f"This account ({portal.tier}) can have at most {portal.pipeline_cap} deal pipelines",
                      code="PIPELINE_LIMIT_EXCEEDED")


def _caller_id(portal: Portal, object_type: str, chosen: Any, where: str, taken: set[str]) -> str:
    """A caller-chosen id (pipelineId/stageId in the spec's inputs), or a new numeric string."""
    if chosen is None:
        return portal.new_id()
    if not isinstance(chosen, str) or not CALLER_ID.match(chosen):
        raise invalid(f"{chosen!r} is not a valid id: lowercase letters, digits, _ and -, at most 64", field=where)
    if chosen in taken:
        raise already_exists(f"The id {chosen} is already used by another {object_type} pipeline or stage.")
    return chosen


def _stage_ids(portal: Portal, object_type: str) -> set[str]:
    """Stage ids are unique across an object's pipelines: a deal names its stage by id alone."""
    return {sid for p in portal.pipelines[object_type].values() for sid in p["stages"]}


def _pipeline(req: Request) -> dict[str, Any]:
    pipeline = req.portal.pipelines[req.params["objectType"]].get(req.params["pipelineId"])
    if pipeline is None or pipeline["archived"]:
        raise _missing_pipeline(req)
    return pipeline


def _stage(req: Request, pipeline: dict[str, Any]) -> dict[str, Any]:
    stage = pipeline["stages"].get(req.params["stageId"])
    if stage is None or stage["archived"]:
        raise _missing_stage(req)
    return stage


def _missing_pipeline(req: Request) -> ApiError:
    return not_found(f"Unable to find pipeline {req.params['pipelineId']}")


def _missing_stage(req: Request) -> ApiError:
    return not_found(f"Unable to find stage {req.params['stageId']} in pipeline {req.params['pipelineId']}")


def _view(pipeline: dict[str, Any]) -> dict[str, Any]:
    shown = {k: copy.deepcopy(v) for k, v in pipeline.items() if k != "stages"}
    shown["stages"] = [_stage_view(s) for s in ordered(live_stages(pipeline))]
    return shown


def _stage_view(stage: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(stage)

