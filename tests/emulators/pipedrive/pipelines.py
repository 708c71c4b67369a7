"""Pipelines and stages: v2 CRUD, and the legacy v1 reads (reference/pipedrive.md §4-§5; Node SDK v32.2.1
models add-stage-request.ts, update-stage-request.ts, stage-item.ts, add-pipeline-request.ts)."""

from __future__ import annotations

from typing import Any

from .account import Account, Pipeline, Stage
from .errors import bad_request, not_found
from .fields import check_flag, check_name, unknown_keys
from .paging import Reply, Request, cursor_page, integer, offset_page, path_id, sort

# Names need not be unique (reference §4, UNVERIFIED): twins are accepted, as a blind retry of a create that went
# through would make one on Pipedrive.
PIPELINE_KEYS = frozenset({"name", "is_deal_probability_enabled"})
STAGE_KEYS = frozenset({"name", "pipeline_id", "deal_probability", "is_deal_rot_enabled", "days_to_rotten"})
# `order_nr` is not in the v2 request models; third-party tools send it on PATCH (UNVERIFIED that it works), so
# the emulator refuses it on create and accepts it on update, where it moves the stage within its pipeline.
STAGE_UPDATE_KEYS = STAGE_KEYS | {"order_nr"}


def _attr(item: Any, key: str) -> Any:
    return getattr(item, key)



def pipeline_of(account: Account, raw_id: str, *, writable: bool = False) -> Pipeline:
    pipeline = account.pipelines.get(path_id(raw_id, "Pipeline"))
    if pipeline is None or (writable and pipeline.is_deleted):
        raise not_found("Pipeline")
    return pipeline


def stage_of(account: Account, raw_id: str, *, writable: bool = False) -> Stage:
    stage = account.stages.get(path_id(raw_id, "Stage"))
    if stage is None or (writable and stage.is_deleted):
        raise not_found("Stage")
    return stage


# -- pipelines ------------------------------------------------------------------------------


def list_pipelines(account: Account, request: Request) -> Reply:
    items = sort(list(account.pipelines.values()), request.params, ("id", "update_time", "add_time"), _attr)
    if request.version == 1:
        return offset_page([p.v1() for p in items if not p.is_deleted], request.params)
    reply = cursor_page(items, request.params)
    return Reply([p.v2() for p in reply.data], reply.additional_data)


def get_pipeline(account: Account, request: Request) -> Reply:
    pipeline = pipeline_of(account, request.ids[0])
    return Reply(pipeline.v1() if request.version == 1 else pipeline.v2())


def add_pipeline(account: Account, request: Request) -> Reply:
    body = request.object()
    unknown_keys(body, PIPELINE_KEYS)
    name = check_name(body.get("name"), "name")
    enabled = check_flag(body.get("is_deal_probability_enabled", False), "is_deal_probability_enabled")
    return Reply(account.add_pipeline(name, enabled).v2())


def update_pipeline(account: Account, request: Request) -> Reply:
    pipeline = pipeline_of(account, request.ids[0], writable=True)
    body = request.object()
    unknown_keys(body, PIPELINE_KEYS)
    if "name" in body:
        pipeline.name = check_name(body["name"], "name")
    if "is_deal_probability_enabled" in body:
        pipeline.is_deal_probability_enabled = check_flag(body["is_deal_probability_enabled"],
                                                          "is_deal_probability_enabled")
    pipeline.update_time = account.now()
    return Reply(pipeline.v2())


def delete_pipeline(account: Account, request: Request) -> Reply:
    pipeline = pipeline_of(account, request.ids[0], writable=True)
    # UNVERIFIED: the UI asks where a deleted pipeline's deals go; the API is refused here while deals remain.
    held = account.deals_in(pipeline_id=pipeline.id)
    if held:
        raise bad_request(f"Pipeline {pipeline.id} holds {held} deal(s); move or delete them first")
    pipeline.is_deleted = True
    pipeline.update_time = account.now()
    for stage in account.stages.values():
        if stage.pipeline_id == pipeline.id:
            stage.is_deleted = True
    return Reply({"id": pipeline.id})


# -- stages ---------------------------------------------------------------------------------


def list_stages(account: Account, request: Request) -> Reply:
    pipeline_id = integer(request.params, "pipeline_id")
    items = [s for s in account.stages.values() if pipeline_id is None or s.pipeline_id == pipeline_id]
    items = sort(items, request.params, ("id", "update_time", "add_time", "order_nr"), _attr)
    if request.version == 1:
        return offset_page([s.v1(account.pipelines[s.pipeline_id]) for s in items if not s.is_deleted],
                           request.params)
    reply = cursor_page(items, request.params)
    return Reply([s.v2() for s in reply.data], reply.additional_data)


def get_stage(account: Account, request: Request) -> Reply:
    stage = stage_of(account, request.ids[0])
    return Reply(stage.v1(account.pipelines[stage.pipeline_id]) if request.version == 1 else stage.v2())


def add_stage(account: Account, request: Request) -> Reply:
    body = request.object()
    unknown_keys(body, STAGE_KEYS)
    name = check_name(body.get("name"), "name")
    if "pipeline_id" not in body:
        raise bad_request("pipeline_id must be given.")
    pipeline_id = _active_pipeline(account, body["pipeline_id"])
    probability = _probability(body.get("deal_probability", 100))
    rot, days = _rotting(body, False, None)
    return Reply(account.add_stage(pipeline_id, name, probability, rot, days).v2())


def update_stage(account: Account, request: Request) -> Reply:
    stage = stage_of(account, request.ids[0], writable=True)
    body = request.object()
    unknown_keys(body, STAGE_UPDATE_KEYS)
    if "name" in body:
        stage.name = check_name(body["name"], "name")
    if "deal_probability" in body:
        stage.deal_probability = _probability(body["deal_probability"])
    stage.is_deal_rot_enabled, stage.days_to_rotten = _rotting(body, stage.is_deal_rot_enabled, stage.days_to_rotten)
    if "pipeline_id" in body and body["pipeline_id"] != stage.pipeline_id:
        _move(account, stage, _active_pipeline(account, body["pipeline_id"]))
    if "order_nr" in body:
        _reorder(account, stage, body["order_nr"])
    stage.update_time = account.now()
    return Reply(stage.v2())


def delete_stage(account: Account, request: Request) -> Reply:
    stage = stage_of(account, request.ids[0], writable=True)
    held = account.deals_in(stage_id=stage.id)
    if held:   # reference §5: refused in the UI, API behaviour UNVERIFIED; the emulator refuses (400)
        raise bad_request(f"Stage {stage.id} holds {held} deal(s); move or delete them first")
    if len(account.ordered_stages(stage.pipeline_id)) == 1:
        raise bad_request("A pipeline must have at least one stage")   # UNVERIFIED, as the UI
    stage.is_deleted = True
    stage.update_time = account.now()
    return Reply({"id": stage.id})


def _active_pipeline(account: Account, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request("pipeline_id must be an integer")
    if value not in account.active_pipelines():
        raise not_found("Pipeline")
    return value


def _probability(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise bad_request("deal_probability must be an integer between 0 and 100")
    return value


def _rotting(body: dict[str, Any], enabled: bool, days: int | None) -> tuple[bool, int | None]:
    if "is_deal_rot_enabled" in body:
        enabled = check_flag(body["is_deal_rot_enabled"], "is_deal_rot_enabled")
    if "days_to_rotten" in body:
        days = body["days_to_rotten"]
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
            raise bad_request("days_to_rotten must be a positive integer")
    # UNVERIFIED (reference §10): days_to_rotten without rotting may be ignored by the API; refused here.
    if "days_to_rotten" in body and body["days_to_rotten"] is not None and not enabled:
        raise bad_request("days_to_rotten is used only when is_deal_rot_enabled is true")
    if enabled and days is None:
        raise bad_request("days_to_rotten must be given when is_deal_rot_enabled is true")
    return enabled, days if enabled else None


def _move(account: Account, stage: Stage, pipeline_id: int) -> None:
    stage.pipeline_id = pipeline_id
    stage.order_nr = max((s.order_nr for s in account.ordered_stages(pipeline_id) if s is not stage), default=0) + 1
    for deal in account.records["deal"].values():
        if deal["stage_id"] == stage.id:
            deal["pipeline_id"] = pipeline_id


def _reorder(account: Account, stage: Stage, position: object) -> None:
    siblings = [s for s in account.ordered_stages(stage.pipeline_id) if s is not stage]
    if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= len(siblings) + 1:
        raise bad_request(f"order_nr must be an integer between 1 and {len(siblings) + 1}")
    siblings.insert(position - 1, stage)
    for number, sibling in enumerate(siblings, start=1):
        sibling.order_nr = number
