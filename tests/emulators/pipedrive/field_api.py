"""Field endpoints: v2 `/api/v2/{deal,person,organization}Fields` by field code, with option sub-resources, and
v1 `/v1/{...}Fields` by numeric id with whole-list option replacement (reference/pipedrive.md §6.2-§6.3)."""

from __future__ import annotations

from typing import Any

from .account import Account
from .errors import ApiError, bad_request, not_found
from .fields import (ALWAYS_IN_ADD_DIALOG, OPTION_TYPES, V1_CREATE_KEYS, V1_UPDATE_KEYS, V2_CREATE_KEYS,
                     V2_UPDATE_KEYS, Field, Option, check_flag, check_name, check_stage_settings, check_type,
                     check_visibility, option_labels, unknown_keys, visible_pipelines)
from .paging import Reply, Request, cursor_page, offset_page, path_id

INCLUDABLE = frozenset({"ui_visibility", "important_fields", "required_fields"})


def list_fields(account: Account, entity: str, request: Request) -> Reply:
    fields = account.fields[entity]
    if request.version == 1:
        return offset_page([f.v1() for f in fields], request.params)
    include = _include(request.params)
    reply = cursor_page(fields, request.params)
    return Reply([f.v2(include) for f in reply.data], reply.additional_data)


def get_field(account: Account, entity: str, request: Request) -> Reply:
    if request.version == 1:
        return Reply(_by_id(account, entity, request.ids[0]).v1())
    return Reply(_by_code(account, entity, request.ids[0]).v2(_include(request.params)))


def add_field(account: Account, entity: str, request: Request) -> Reply:
    body = request.object()
    unknown_keys(body, V1_CREATE_KEYS if request.version == 1 else V2_CREATE_KEYS)
    name = check_name(body.get("name" if request.version == 1 else "field_name"),
                      "name" if request.version == 1 else "field_name")
    field_type = check_type(body.get("field_type"))
    labels = option_labels(body.get("options"), field_type)
    if any(option_id is not None for option_id, _, _ in labels):
        raise bad_request("Inserting ID with POST request is not allowed. Please remove the option id(s).")
    if account.custom_fields_limit is not None and account.custom_field_count() >= account.custom_fields_limit:
        # Feature capping (changelog 2022-03-22); the code name for fields is UNVERIFIED, the deals one documented.
        raise ApiError(403, "Couldn't add the field. Custom fields limit reached.",
                       code="feature_capping_custom_fields_limit")
    created = account.add_field(entity, name, field_type, [(label, color) for _, label, color in labels])
    try:
        _apply_settings(account, created, body, request.version)
    except ApiError:
        account.fields[entity].remove(created)
        raise
    return Reply(created.v1() if request.version == 1 else created.v2(INCLUDABLE))


def update_field(account: Account, entity: str, request: Request) -> Reply:
    body = request.object()
    target = _by_id(account, entity, request.ids[0]) if request.version == 1 else _by_code(account, entity,
                                                                                           request.ids[0])
    _editable(target)
    if "field_type" in body and body["field_type"] != target.field_type:
        raise bad_request("field_type cannot be changed")   # immutable (reference §5); not in the update models
    unknown_keys(body, V1_UPDATE_KEYS if request.version == 1 else V2_UPDATE_KEYS)
    key = "name" if request.version == 1 else "field_name"
    staged = Field(**{**target.__dict__})
    if key in body:
        staged.name = check_name(body[key], key)
    if request.version == 1 and "options" in body:
        _replace_options(account, staged, body["options"])
    _apply_settings(account, staged, body, request.version)
    staged.update_time = account.now()
    target.__dict__.update(staged.__dict__)
    return Reply(target.v1() if request.version == 1 else target.v2(INCLUDABLE))


def delete_field(account: Account, entity: str, request: Request) -> Reply:
    target = _by_id(account, entity, request.ids[0]) if request.version == 1 else _by_code(account, entity,
                                                                                           request.ids[0])
    _editable(target)
    account.fields[entity].remove(target)
    for record in account.records[entity].values():
        record["custom_fields"].pop(target.code, None)
    return Reply({"id": target.id} if request.version == 1 else target.v2(frozenset()))


# -- v2 option sub-resources ------------------------------------------------------------------


def add_options(account: Account, entity: str, request: Request) -> Reply:
    target = _option_field(account, entity, request)
    items = _option_items(request.body, {"label", "color"}, "label")
    now = account.now()
    existing = {o.label.lower() for o in target.options or []}
    for item in items:
        if item["label"].lower() in existing:
            raise bad_request(f"Option {item['label']!r} already exists")
        existing.add(item["label"].lower())
    added = [Option(account.next_id(), item["label"], item.get("color"), now, now) for item in items]
    target.options = [*(target.options or []), *added]
    return Reply([{"id": o.id, "label": o.label, "color": o.color, "add_time": o.add_time,
                   "update_time": o.update_time} for o in added])


def update_options(account: Account, entity: str, request: Request) -> Reply:
    target = _option_field(account, entity, request)
    items = _option_items(request.body, {"id", "label", "color"}, "id")
    _known_options(target, items)
    now = account.now()
    for item in items:
        option = target.option(item["id"])
        assert option is not None
        option.label = item.get("label", option.label)
        option.color = item.get("color", option.color)
        option.update_time = now
    return Reply([{"id": o.id, "label": o.label, "color": o.color} for o in target.options or []])


def delete_options(account: Account, entity: str, request: Request) -> Reply:
    target = _option_field(account, entity, request)
    items = _option_items(request.body, {"id"}, "id")
    _known_options(target, items)
    doomed = {item["id"] for item in items}
    if doomed >= {o.id for o in target.options or []}:
        raise bad_request(f"A {target.field_type} field must keep at least one option")   # UNVERIFIED, as on create
    target.options_deleted += [o for o in target.options or [] if o.id in doomed]
    target.options = [o for o in target.options or [] if o.id not in doomed]
    return Reply([{"id": option_id} for option_id in sorted(doomed)])


# -- helpers ----------------------------------------------------------------------------------



def _include(params: dict[str, str]) -> frozenset[str]:
    wanted = frozenset(part for part in params.get("include_fields", "").split(",") if part)
    if wanted - INCLUDABLE:
        raise bad_request(f"include_fields must be a comma-separated list of: {', '.join(sorted(INCLUDABLE))}")
    return wanted


def _by_code(account: Account, entity: str, code: str) -> Field:
    found = account.field(entity, code)
    if found is None:
        raise not_found("Field")
    return found


def _by_id(account: Account, entity: str, raw_id: str) -> Field:
    field_id = path_id(raw_id, "Field")
    found = next((f for f in account.fields[entity] if f.id == field_id), None)
    if found is None:
        raise not_found("Field")
    return found


def _editable(target: Field) -> None:
    if not target.custom:   # system fields: edit_flag false (reference §6.3)
        raise ApiError(403, f"Field {target.code} is a system field and cannot be changed")   # UNVERIFIED status


def _apply_settings(account: Account, target: Field, body: dict[str, Any], version: int) -> None:
    """ui_visibility, then important_fields and required_fields, which depend on it (checked in that order)."""
    if version == 1:
        if "add_visible_flag" in body:
            target.ui_visibility = {**target.ui_visibility,
                                    "add_visible_flag": check_flag(body["add_visible_flag"], "add_visible_flag")}
        return
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            raise bad_request("description must be a string")   # UNVERIFIED wording
        target.description = body["description"] or ""
    active = account.active_pipelines()
    if "ui_visibility" in body:
        target.ui_visibility = check_visibility(target.entity, body["ui_visibility"], target.ui_visibility, active)
        if target.code in ALWAYS_IN_ADD_DIALOG and not target.ui_visibility.get("add_visible_flag", True):
            raise bad_request(f"add_visible_flag cannot be false for the required field {target.code}")
    visible = visible_pipelines(target.ui_visibility, active)
    for key in ("important_fields", "required_fields"):
        if key in body:
            setattr(target, key, check_stage_settings(target.entity, key, body[key], account.stages_by_pipeline(),
                                                      visible))


def _replace_options(account: Account, target: Field, options: object) -> None:
    """v1 PUT semantics: the list names every option to keep (existing ones by id); the rest are deleted and
    listed in `options_deleted` (reference §6.3)."""
    if target.field_type not in OPTION_TYPES:
        raise bad_request(f"options are allowed only for enum and set fields, not {target.field_type}")
    labels = option_labels(options, target.field_type)
    now = account.now()
    kept: list[Option] = []
    for option_id, label, color in labels:
        if option_id is None:
            kept.append(Option(account.next_id(), label, color, now, now))
            continue
        current = target.option(option_id)
        if current is None:
            raise bad_request(f"Option {option_id} does not belong to field {target.code}")
        kept.append(Option(current.id, label, color or current.color, current.add_time,
                           now if label != current.label else current.update_time))
    kept_ids = {o.id for o in kept}
    target.options_deleted = [*target.options_deleted, *(o for o in target.options or [] if o.id not in kept_ids)]
    target.options = kept


def _option_field(account: Account, entity: str, request: Request) -> Field:
    target = _by_code(account, entity, request.ids[0])
    _editable(target)
    if target.field_type not in OPTION_TYPES:
        raise bad_request(f"Field {target.code} of type {target.field_type} has no options")
    return target


def _option_items(body: object, allowed: set[str], required: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not body:
        raise bad_request("The request body must be a non-empty array of options")
    for item in body:
        if not isinstance(item, dict) or set(item) - allowed or required not in item:
            raise bad_request(f"Each option must be an object with {required!r} and only: {', '.join(sorted(allowed))}")
        if "label" in item and (not isinstance(item["label"], str) or not item["label"].strip()):
            raise bad_request("option label must be given.")
    return body


def _known_options(target: Field, items: list[dict[str, Any]]) -> None:
    unknown = [item["id"] for item in items if target.option(item["id"]) is None]
    if unknown:
        raise not_found(f"Option(s) {unknown} of field {target.code}")
