"""The blueprint in Pipedrive's terms: which entity and field type a field becomes, what its description holds,
what an open stage is made of, and which stage ids and statuses a deal field is required in
(reference/pipedrive.md §4-§6, §9).

Every lowered form here is what sos writes and what it compares with what Pipedrive holds: a resource whose
lowered form Pipedrive holds as it is reads back as the blueprint has it (read.py), whatever Pipedrive cannot say
(a stage's forecast, a field's length).
"""

from __future__ import annotations

import re
from typing import Any

from sos.model.resources import Resource

# Blueprint object → Pipedrive entity whose fields it has. Pipedrive leads use the deals' custom fields ("Leads
# inherit the custom fields of deals": Pipedrive Knowledge Base, "Leads Inbox"), so a lead field is a deal field.
ENTITIES = {"opportunity": "deal", "lead": "deal", "contact": "person", "account": "organization"}
# Blueprint field type → Pipedrive field_type (reference §6.1). Pipedrive has no boolean or date-and-time custom
# type: a checkbox is a Yes/No dropdown and a datetime a date (lint.py says so at `sos validate`).
FIELD_TYPES = {"text": "varchar", "email": "varchar", "url": "varchar", "phone": "phone", "long_text": "text",
               "number": "double", "percent": "double", "currency": "monetary", "date": "date", "datetime": "date",
               "checkbox": "enum", "picklist": "enum", "multi_picklist": "set"}
LOOKUPS = {"user": "user", "account": "org", "contact": "people"}
# What a Pipedrive field_type reads back as when no blueprint says more (sos import, a field changed in Pipedrive).
BLUEPRINT_TYPES = {"varchar": "text", "varchar_auto": "text", "phone": "phone", "text": "long_text",
                   "double": "number", "monetary": "currency", "date": "date", "enum": "picklist",
                   "set": "multi_picklist", "user": "lookup", "org": "lookup", "people": "lookup"}
LOOKUP_TARGETS = {value: key for key, value in LOOKUPS.items()}
CHECKBOX_OPTIONS = ["Yes", "No"]
MARK = re.compile(r"\s*\[sos: ([a-z_]+)\.([A-Za-z0-9_]+)\]\s*$")   # ends a field's description
DEFAULT_PROBABILITY = 100       # what Pipedrive gives a stage created without one (reference §5)


def field_type(attrs: dict[str, Any] | Any) -> str | None:
    """The Pipedrive field_type a blueprint field becomes; None for a lookup Pipedrive has no type for."""
    if attrs.get("type") == "lookup":
        return LOOKUPS.get(str(attrs.get("to")))
    return FIELD_TYPES.get(str(attrs.get("type")))


def field_options(attrs: dict[str, Any] | Any) -> list[str] | None:
    if attrs.get("type") == "checkbox":
        return list(CHECKBOX_OPTIONS)
    return list(attrs.get("values", ())) if field_type(attrs) in ("enum", "set") else None


def mark(scope: str, key: str) -> str:
    return f"[sos: {scope}.{key}]"


def marked(text: str) -> tuple[str, tuple[str, str] | None]:
    """A field's description without sos's mark, and the (object, key) the mark names (None: not sos's)."""
    found = MARK.search(text or "")
    if found is None:
        return text or "", None
    return text[:found.start()], (found.group(1), found.group(2))


def field_description(resource: Resource) -> str:
    """What a field's Pipedrive description holds: the blueprint's help and description, then sos's mark."""
    text = "\n\n".join(str(resource.attrs[k]) for k in ("help", "description") if resource.attrs.get(k))
    return f"{text}\n\n{mark(resource.address.scope, resource.address.key)}".lstrip()


def field_form(resource: Resource) -> dict[str, Any]:
    """A field as sos writes it: what a Pipedrive field holds of it."""
    return {"field_name": resource.attrs.get("label") or resource.address.key,
            "field_type": field_type(resource.attrs), "options": field_options(resource.attrs),
            "description": field_description(resource)}


def stage_form(attrs: dict[str, Any] | Any) -> dict[str, Any]:
    """An open stage as sos writes it (reference §5): rotting is the blueprint's max_days."""
    days = attrs.get("max_days")
    probability = attrs.get("probability")
    return {"name": attrs.get("label"),
            "deal_probability": DEFAULT_PROBABILITY if probability is None else int(probability),
            "is_deal_rot_enabled": days is not None, "days_to_rotten": days}


def required_setting(stage_ids: set[int], statuses: dict[str, set[str]]) -> dict[str, Any]:
    """A deal field's `required_fields` (reference §6.2): required in these stages, and on winning or losing a
    deal in these pipelines. Pipedrive reads `enabled` with no stage as "in every stage", so a field required
    only on winning or losing cannot be said (lint.py warns): it is then not required."""
    if not stage_ids:
        return {"enabled": False}
    return {"enabled": True, "stage_ids": sorted(stage_ids),
            "statuses": {pipeline: sorted(wanted) for pipeline, wanted in sorted(statuses.items()) if wanted}}
