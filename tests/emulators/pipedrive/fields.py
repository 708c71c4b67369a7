"""Deal, person and organization fields: types, options, per-stage requirements, v1 and v2 shapes.

Sources: reference/pipedrive.md §6 and the official Node SDK v32.2.1 (pipedrive/client-nodejs,
src/versions/v2/models/add-deal-field-request*.ts, get-deal-fields200-response-data-inner*.ts, v1 field.ts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request

ENTITIES = ("deal", "person", "organization")
CREATABLE_TYPES = frozenset({"varchar", "varchar_auto", "text", "double", "monetary", "date", "daterange", "time",
                             "timerange", "enum", "set", "user", "org", "people", "phone", "address"})
OPTION_TYPES = frozenset({"enum", "set"})
SUBFIELDS = {
    "monetary": [("currency", "Currency", "varchar")],
    "address": [(part, part.replace("_", " ").capitalize(), "varchar")
                for part in ("street_number", "route", "sublocality", "locality", "admin_area_level_1",
                             "admin_area_level_2", "country", "postal_code", "formatted_address")],
    "daterange": [("until", "End date", "date")],
    "timerange": [("until", "End time", "time")],
}
# System fields (readable keys, not editable): reference §10 for deals; persons and organizations from the SDK's
# person/organization request models.
SYSTEM_FIELDS = {
    "deal": [("title", "Title", "varchar"), ("value", "Value", "monetary"), ("currency", "Currency", "varchar"),
             ("stage_id", "Stage", "stage"), ("pipeline_id", "Pipeline", "int"), ("status", "Status", "status"),
             ("probability", "Probability", "double"), ("lost_reason", "Lost reason", "varchar_options"),
             ("expected_close_date", "Expected close date", "date"), ("user_id", "Owner", "user"),
             ("org_id", "Organization", "org"), ("person_id", "Contact person", "people")],
    "person": [("name", "Name", "varchar"), ("email", "Email", "varchar"), ("phone", "Phone", "phone"),
               ("org_id", "Organization", "org"), ("owner_id", "Owner", "user")],
    "organization": [("name", "Name", "varchar"), ("address", "Address", "address"), ("owner_id", "Owner", "user")],
}
# Required system fields keep their place in the "add" dialog (reference §6.2).
ALWAYS_IN_ADD_DIALOG = frozenset({"title", "pipeline_id", "stage_id", "probability"})
V2_CREATE_KEYS = frozenset({"field_name", "field_type", "options", "description", "ui_visibility", "important_fields",
                            "required_fields"})
V2_UPDATE_KEYS = V2_CREATE_KEYS - {"field_type", "options"}
V1_CREATE_KEYS = frozenset({"name", "field_type", "options", "add_visible_flag"})
V1_UPDATE_KEYS = frozenset({"name", "options", "add_visible_flag"})
VISIBILITY_KEYS = frozenset({"add_visible_flag", "details_visible_flag", "projects_detail_visible_flag",
                             "show_in_pipelines"})
REQUIRED_KEYS = {"deal": frozenset({"enabled", "stage_ids", "statuses"})}
IMPORTANT_KEYS = {"deal": frozenset({"enabled", "stage_ids"})}
STATUSES = ("won", "lost")


@dataclass
class Option:
    id: int
    label: str
    color: str | None
    add_time: str
    update_time: str


@dataclass
class Field:
    id: int                      # v1 numeric id
    entity: str
    code: str                    # v1 `key`, v2 `field_code`
    name: str
    field_type: str
    custom: bool
    order_nr: int
    add_time: str
    update_time: str
    description: str = ""
    options: list[Option] | None = None
    options_deleted: list[Option] = field(default_factory=list)
    ui_visibility: dict[str, Any] = field(default_factory=dict)
    important_fields: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    required_fields: dict[str, Any] = field(default_factory=lambda: {"enabled": False})

    def option(self, option_id: object) -> Option | None:
        return next((o for o in self.options or [] if o.id == option_id), None)

    def v2(self, include: frozenset[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "field_name": self.name, "field_code": self.code, "description": self.description or None,
            "field_type": self.field_type, "is_custom_field": self.custom, "is_optional_response_field": False,
            "options": _options_v2(self.options),
            "subfields": [{"field_code": f"{self.code}_{code}", "field_name": name, "field_type": kind}
                          for code, name, kind in SUBFIELDS.get(self.field_type, [])] or None,
        }
        for extra in ("ui_visibility", "important_fields", "required_fields"):
            if extra in include and (self.entity == "deal" or extra != "important_fields" or self.custom):
                body[extra] = getattr(self, extra)
        return body

    def v1(self) -> dict[str, Any]:
        return {
            "id": self.id, "key": self.code, "name": self.name, "order_nr": self.order_nr,
            "field_type": self.field_type, "add_time": v1_time(self.add_time), "update_time": v1_time(self.update_time),
            "last_updated_by_user_id": None, "created_by_user_id": None, "active_flag": True,
            "edit_flag": self.custom, "bulk_edit_allowed": True, "searchable_flag": False, "filtering_allowed": True,
            "sortable_flag": True, "mandatory_flag": self.code == ("title" if self.entity == "deal" else "name"),
            "add_visible_flag": self.ui_visibility.get("add_visible_flag", True),
            "options": [{"id": o.id, "label": o.label} for o in self.options] if self.options is not None else None,
            "options_deleted": [{"id": o.id, "label": o.label} for o in self.options_deleted],
            "is_subfield": False, "subfields": None,
        }


def new_key() -> str:
    """A custom field's key: 40 lowercase hex characters, never reused (reference §6.1)."""
    return secrets.token_hex(20)


def default_visibility(entity: str) -> dict[str, Any]:
    visibility: dict[str, Any] = {"add_visible_flag": True, "details_visible_flag": True}
    if entity == "deal":
        visibility["projects_detail_visible_flag"] = False
        visibility["show_in_pipelines"] = {"show_in_all": True, "pipeline_ids": []}
    return visibility


def unknown_keys(body: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise bad_request(f"Invalid field(s) in the payload: {', '.join(extra)}")


def check_name(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("Name must be given." if key in ("name", "field_name") else f"{key} must be given.")
    if len(value) > 255:
        raise bad_request(f"{key} must be at most 255 characters")
    return value.strip()


def check_type(field_type: object) -> str:
    if field_type is None:
        raise bad_request("field_type must be given.")
    if field_type not in CREATABLE_TYPES:
        raise bad_request(f"field_type must be one of: {', '.join(sorted(CREATABLE_TYPES))}")
    return str(field_type)


def option_labels(options: object, field_type: str) -> list[tuple[int | None, str, str | None]]:
    """(id or None, label, color) for each option of a create or a v1 update; options only on enum/set."""
    if field_type not in OPTION_TYPES:
        if options is not None:
            raise bad_request(f"options are allowed only for enum and set fields, not {field_type}")
        return []
    if not isinstance(options, list) or not options:
        raise bad_request(f"options must be given for {field_type} fields")
    parsed = []
    for option in options:
        if not isinstance(option, dict) or set(option) - {"id", "label", "color"}:
            raise bad_request("options must be objects with a label (and, to keep an option, its id)")
        label = option.get("label")
        if not isinstance(label, str) or not label.strip():
            raise bad_request("option label must be given.")
        option_id = option.get("id")
        if option_id is not None and (not isinstance(option_id, int) or isinstance(option_id, bool)):
            raise bad_request("option id must be an integer")
        parsed.append((option_id, label.strip(), option.get("color")))
    labels = [label.lower() for _, label, _ in parsed]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:   # UNVERIFIED: Pipedrive's UI refuses two options with one label; stricter here
        raise bad_request(f"option labels must be unique: {', '.join(duplicates)}")
    return parsed


def check_flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"{key} must be a boolean")
    return value


def check_ids(value: object, key: str) -> list[int]:
    if not isinstance(value, list) or any(not isinstance(i, int) or isinstance(i, bool) for i in value):
        raise bad_request(f"{key} must be an array of integers")
    return list(value)


def check_visibility(entity: str, value: object, current: dict[str, Any],
                     active_pipelines: set[int]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("ui_visibility must be an object")
    allowed = VISIBILITY_KEYS if entity == "deal" else VISIBILITY_KEYS - {"projects_detail_visible_flag",
                                                                          "show_in_pipelines"}
    unknown_keys(value, allowed)
    merged = dict(current)
    for key, flag in value.items():
        if key == "show_in_pipelines":
            merged[key] = _show_in_pipelines(flag, active_pipelines)
        else:
            merged[key] = check_flag(flag, f"ui_visibility.{key}")
    return merged


def _show_in_pipelines(value: object, active_pipelines: set[int]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("ui_visibility.show_in_pipelines must be an object")
    unknown_keys(value, frozenset({"show_in_all", "pipeline_ids"}))
    show_in_all = check_flag(value.get("show_in_all", True), "ui_visibility.show_in_pipelines.show_in_all")
    pipeline_ids = check_ids(value.get("pipeline_ids", []), "ui_visibility.show_in_pipelines.pipeline_ids")
    missing = [i for i in pipeline_ids if i not in active_pipelines]
    if missing:
        raise bad_request(f"ui_visibility.show_in_pipelines.pipeline_ids are not active pipelines: {missing}")
    return {"show_in_all": show_in_all, "pipeline_ids": pipeline_ids}


def visible_pipelines(visibility: dict[str, Any], active_pipelines: set[int]) -> set[int]:
    show = visibility.get("show_in_pipelines") or {"show_in_all": True}
    return set(active_pipelines) if show.get("show_in_all", True) else set(show.get("pipeline_ids", []))


def check_stage_settings(entity: str, key: str, value: object, stages_by_pipeline: dict[int, set[int]],
                         visible: set[int]) -> dict[str, Any]:
    """`required_fields` / `important_fields`: stage ids must be active stages of pipelines where the field is
    visible; `statuses` maps an active pipeline id (a string) to a subset of won/lost (reference §6.2)."""
    if not isinstance(value, dict):
        raise bad_request(f"{key} must be an object")
    allowed = (REQUIRED_KEYS if key == "required_fields" else IMPORTANT_KEYS).get(entity, frozenset({"enabled"}))
    unknown_keys(value, allowed)
    settings: dict[str, Any] = {"enabled": check_flag(value.get("enabled", False), f"{key}.enabled")}
    if "stage_ids" in allowed:
        stage_ids = check_ids(value.get("stage_ids", []), f"{key}.stage_ids")
        usable = {s for p in visible for s in stages_by_pipeline.get(p, set())}
        wrong = [s for s in stage_ids if s not in usable]
        if wrong:
            raise bad_request(f"{key}.stage_ids must be active stages of pipelines where the field is visible: "
                              f"{wrong}")
        settings["stage_ids"] = stage_ids
    if "statuses" in allowed:
        settings["statuses"] = _statuses(value.get("statuses", {}), set(stages_by_pipeline), key)
    return settings


def _statuses(value: object, active_pipelines: set[int], key: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise bad_request(f"{key}.statuses must be an object of pipeline id to statuses")
    statuses = {}
    for pipeline, wanted in value.items():
        if not str(pipeline).isdigit() or int(pipeline) not in active_pipelines:
            raise bad_request(f"{key}.statuses: {pipeline} is not an active pipeline")
        if not isinstance(wanted, list) or any(s not in STATUSES for s in wanted):
            raise bad_request(f"{key}.statuses values must be lists of: won, lost")
        statuses[str(pipeline)] = list(dict.fromkeys(wanted))
    return statuses


def required_for(spec: dict[str, Any], pipeline_id: int, stage_id: int, status: str) -> bool:
    """Whether a field with these `required_fields` must hold a value for a deal in this stage and status."""
    if not spec.get("enabled"):
        return False
    if status in STATUSES:
        return status in spec.get("statuses", {}).get(str(pipeline_id), [])
    stage_ids = spec.get("stage_ids", [])
    return not stage_ids or stage_id in stage_ids


def _options_v2(options: list[Option] | None) -> list[dict[str, Any]] | None:
    if options is None:
        return None
    return [{"id": o.id, "label": o.label, "color": o.color, "add_time": o.add_time, "update_time": o.update_time}
            for o in options]


def v1_time(iso: str) -> str:
    return iso.replace("T", " ").removesuffix("Z")
