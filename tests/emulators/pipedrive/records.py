"""Deals, persons and organizations through API v2: create, read, update, delete and filtered cursor lists
(Node SDK v32.2.1: src/versions/v2/api/{deals,persons,organizations}-api.ts, models deal.ts, add-deal-request.ts,
add-person-request.ts, add-organization-request.ts; reference/pipedrive.md §9.1).

Custom values live under `custom_fields`, keyed by field code; only non-null values are returned (UNVERIFIED,
reference §9.1). Required fields per stage/status are enforced on API writes: UNVERIFIED (Pipedrive documents
them for its UI), the stricter choice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .account import Account
from .errors import ApiError, bad_request, not_found
from .fields import Field, required_for, unknown_keys
from .history import log_changes
from .paging import Reply, Request, cursor_page, integer, path_id, rfc3339, sort

DEAL_KEYS = frozenset({"title", "owner_id", "person_id", "org_id", "pipeline_id", "stage_id", "value", "currency",
                       "status", "probability", "lost_reason", "visible_to", "expected_close_date", "label_ids",
                       "custom_fields"})
PERSON_KEYS = frozenset({"name", "owner_id", "org_id", "emails", "phones", "visible_to", "label_ids",
                         "custom_fields"})
ORGANIZATION_KEYS = frozenset({"name", "owner_id", "visible_to", "label_ids", "address", "custom_fields"})
KEYS = {"deal": DEAL_KEYS, "person": PERSON_KEYS, "organization": ORGANIZATION_KEYS}
NAMES = {"deal": "Deal", "person": "Person", "organization": "Organization"}
FILTERS = {"deal": ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id"),
           "person": ("owner_id", "org_id"), "organization": ("owner_id",)}
DEAL_STATUSES = ("open", "won", "lost")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")


def list_records(account: Account, entity: str, request: Request) -> Reply:
    params = request.params
    items = [r for r in account.records[entity].values() if _listed(r, entity, params)]
    for key in FILTERS[entity]:
        wanted = integer(params, key)
        if wanted is not None:
            items = [r for r in items if r.get(key) == wanted]
    if "ids" in params:
        ids = {path_id(part, NAMES[entity]) for part in params["ids"].split(",") if part}
        if len(ids) > 100:
            raise bad_request("ids accepts at most 100 ids")
        items = [r for r in items if r["id"] in ids]
    since, until = rfc3339(params, "updated_since"), rfc3339(params, "updated_until")
    items = [r for r in items if (since is None or r["update_time"] >= since)
             and (until is None or r["update_time"] < until)]
    items = sort(items, params, ("id", "update_time", "add_time"), lambda r, key: r[key])
    reply = cursor_page(items, params)
    return Reply([_shown(r) for r in reply.data], reply.additional_data)


def get_record(account: Account, entity: str, request: Request) -> Reply:
    return Reply(_shown(_record(account, entity, request.ids[0])))


def add_record(account: Account, entity: str, request: Request) -> Reply:
    body = request.object()
    if "id" in body:
        raise bad_request("Inserting ID with POST request is not allowed. Please remove the ID from the payload.")
    unknown_keys(body, KEYS[entity])
    if entity == "deal" and body.get("status", "open") == "open" and _open_deals_capped(account):
        # Documented body (changelog "New error message and code for POST Deals and Custom Fields endpoints").
        raise ApiError(403, "Couldn't add the deal. Open deals limit reached.", code="feature_capping_deals_limit")
    key = "title" if entity == "deal" else "name"
    if not isinstance(body.get(key), str) or not body[key].strip():
        raise bad_request(f"{key.capitalize()} must be given.")
    seed = {"deal": _new_deal, "person": _new_person, "organization": _new_organization}[entity]
    record = seed(account, body)
    try:
        _update(account, entity, record, body, creating=True)
    except ApiError:
        del account.records[entity][record["id"]]
        raise
    return Reply(_shown(record))


def update_record(account: Account, entity: str, request: Request) -> Reply:
    record = _record(account, entity, request.ids[0])
    body = request.object()
    unknown_keys(body, KEYS[entity])
    staged = {**record, "custom_fields": dict(record["custom_fields"])}
    _update(account, entity, staged, body, creating=False)
    if entity == "deal":
        log_changes(account, record, staged, actor=account.user["id"], at=staged["update_time"])
    record.update(staged)
    return Reply(_shown(record))


def delete_record(account: Account, entity: str, request: Request) -> Reply:
    record = _record(account, entity, request.ids[0])
    record["is_deleted"] = True
    if entity == "deal":
        record["status"] = "deleted"
    record["update_time"] = account.now()
    return Reply({"id": record["id"]})


def _open_deals_capped(account: Account) -> bool:
    open_deals = sum(1 for d in account.records["deal"].values() if d["status"] == "open")
    return account.open_deals_limit is not None and open_deals >= account.open_deals_limit


# -- validation -------------------------------------------------------------------------------


def _update(account: Account, entity: str, record: dict[str, Any], body: dict[str, Any], *, creating: bool) -> None:
    now = account.now()
    for key, value in body.items():
        if key == "custom_fields":
            record["custom_fields"].update(_custom_values(account, entity, value))
        elif key in ("owner_id", "person_id", "org_id"):
            record[key] = _reference(account, key, value)
        elif key in ("title", "name"):
            if not isinstance(value, str) or not value.strip():
                raise bad_request(f"{key.capitalize()} must be given.")
            record[key] = value.strip()
        elif key not in ("pipeline_id", "stage_id", "status"):
            record[key] = _plain(key, value)
    if entity == "deal":
        _place_deal(account, record, body, creating, now)
    record["custom_fields"] = {k: v for k, v in record["custom_fields"].items() if v is not None}
    record["update_time"] = now


def _place_deal(account: Account, deal: dict[str, Any], body: dict[str, Any], creating: bool, now: str) -> None:
    stage_id, pipeline_id = body.get("stage_id", deal["stage_id"]), body.get("pipeline_id")
    if stage_id is None:
        pipeline = pipeline_id if pipeline_id is not None else min(
            account.active_pipelines(), key=lambda p: account.pipelines[p].order_nr)
        if pipeline not in account.active_pipelines():
            raise not_found("Pipeline")
        stages = account.ordered_stages(pipeline)
        stage_id = stages[0].id
    stage = account.stages.get(stage_id) if isinstance(stage_id, int) and not isinstance(stage_id, bool) else None
    if stage is None or stage.is_deleted:
        raise not_found("Stage")
    if pipeline_id is not None and pipeline_id != stage.pipeline_id:
        raise bad_request(f"Stage {stage.id} does not belong to pipeline {pipeline_id}")
    status = body.get("status", deal["status"])
    if status not in DEAL_STATUSES:
        raise bad_request(f"status must be one of: {', '.join(DEAL_STATUSES)}")
    if body.get("lost_reason") and status != "lost":   # UNVERIFIED: stricter than silently keeping it
        raise bad_request("lost_reason can be set only on a lost deal")
    if stage.id != deal["stage_id"]:
        deal["stage_change_time"] = now
    if status != deal["status"] or creating:
        deal["close_time"] = now if status != "open" else None
        deal["won_time"] = now if status == "won" else deal["won_time"]
        deal["lost_time"] = now if status == "lost" else deal["lost_time"]
    deal.update(stage_id=stage.id, pipeline_id=stage.pipeline_id, status=status)
    missing = [f.name for f in account.fields["deal"] if f.custom
               and required_for(f.required_fields, stage.pipeline_id, stage.id, status)
               and deal["custom_fields"].get(f.code) in (None, "", [])]
    if missing:
        raise bad_request(f"Required field(s) missing for this stage or status: {', '.join(missing)}")


def _custom_values(account: Account, entity: str, values: object) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise bad_request("custom_fields must be an object keyed by field code")
    checked = {}
    for code, value in values.items():
        target = account.field(entity, code)
        if target is None or not target.custom:
            raise bad_request(f"Invalid field(s) in the payload: custom_fields.{code}")
        checked[code] = None if value is None else _custom_value(account, target, value)
    return checked


def _custom_value(account: Account, target: Field, value: Any) -> Any:
    kind = target.field_type
    if kind in ("user", "org", "people"):
        return _reference(account, {"user": "owner_id", "org": "org_id", "people": "person_id"}[kind], value)
    if kind in VALUE_CHECKS and not VALUE_CHECKS[kind](value, target):
        raise bad_request(f"Invalid value for custom field {target.code} of type {kind}")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short_text(value: Any, _: Field) -> bool:
    return isinstance(value, str) and len(value) <= 255


# What a custom value of each type must look like in a v2 write (monetary: {"value", "currency"}).
VALUE_CHECKS: dict[str, Callable[[Any, Field], bool]] = {
    "varchar": _short_text, "varchar_auto": _short_text, "phone": _short_text,
    "text": lambda v, f: isinstance(v, str),
    "double": lambda v, f: _number(v),
    "monetary": lambda v, f: isinstance(v, dict) and set(v) == {"value", "currency"} and _number(v["value"])
    and isinstance(v["currency"], str),
    "date": lambda v, f: isinstance(v, str) and DATE.match(v) is not None,
    "time": lambda v, f: isinstance(v, str) and TIME.match(v) is not None,
    "enum": lambda v, f: f.option(v) is not None,
    "set": lambda v, f: isinstance(v, list) and all(f.option(o) is not None for o in v),
}


def _reference(account: Account, key: str, value: object) -> int | None:
    if value is None and key != "owner_id":
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{key} must be an integer")
    if key == "owner_id":
        if value not in account.users:
            raise not_found("User")
    else:
        entity = "person" if key == "person_id" else "organization"
        found = account.records[entity].get(value)
        if found is None or found["is_deleted"]:
            raise not_found(NAMES[entity])
    return value


def _plain(key: str, value: Any) -> Any:
    if key == "value" and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise bad_request("value must be a number")
    if key == "probability" and value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100):
        raise bad_request("probability must be a number between 0 and 100")
    if key == "expected_close_date" and value is not None and (not isinstance(value, str) or not DATE.match(value)):
        raise bad_request("expected_close_date must be a date (YYYY-MM-DD)")
    if key in ("currency", "lost_reason") and value is not None and not isinstance(value, str):
        raise bad_request(f"{key} must be a string")
    if key in ("emails", "phones") and (not isinstance(value, list) or any(
            not isinstance(item, dict) or not isinstance(item.get("value"), str) for item in value)):
        raise bad_request(f"{key} must be an array of objects with a value")
    return value


# -- reading ----------------------------------------------------------------------------------



def _record(account: Account, entity: str, raw_id: str) -> dict[str, Any]:
    record = account.records[entity].get(path_id(raw_id, NAMES[entity]))
    if record is None or record["is_deleted"]:
        raise not_found(NAMES[entity])
    return record


def _listed(record: dict[str, Any], entity: str, params: dict[str, str]) -> bool:
    if entity != "deal":
        return not record["is_deleted"]
    status = params.get("status")
    if status is None:
        return not record["is_deleted"]
    if status not in (*DEAL_STATUSES, "deleted"):
        raise bad_request("status must be one of: open, won, lost, deleted")
    return bool(record["status"] == status)


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "custom_fields": dict(record["custom_fields"])}


def _new_deal(account: Account, body: dict[str, Any]) -> dict[str, Any]:
    first = account.ordered_stages(min(account.active_pipelines(), key=lambda p: account.pipelines[p].order_nr))[0]
    deal = account.seed_deal(body["title"], first.id)
    deal["stage_id"] = None   # placed by _place_deal from the body
    return deal


def _new_person(account: Account, body: dict[str, Any]) -> dict[str, Any]:
    return account.seed_person(body["name"])


def _new_organization(account: Account, body: dict[str, Any]) -> dict[str, Any]:
    return account.seed_organization(body["name"])
