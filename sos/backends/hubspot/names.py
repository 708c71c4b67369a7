"""How the blueprint's words become HubSpot's: objects, property names and types, stage metadata, marks.

sos marks what it created in the portal itself, so any clone of the client repository finds it again:
- a property sos created sits in the property group `sos` and ends its description with
  `sos: managed {"address": …, "attrs": {…}}` (the blueprint attributes HubSpot has no place for);
- an option of hs_lead_status sos added carries the same mark as its description;
- pipelines and stages have no description, so their ids and attributes are kept in the description of one hidden
  deal property, `sos_managed` (the registry). Caller-chosen pipeline and stage ids appear only in the date-versioned
  API's reference schema (reference/hubspot.md §10), not in the v3 API hubspot-api-client calls.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from collections.abc import Mapping

from sos.model.resources import Address, Resource

OBJECT_TYPES = {"opportunity": "deals", "lead": "contacts", "contact": "contacts", "account": "companies"}
GROUP = "sos"
GROUP_LABEL = "Managed by sos"
REGISTRY = "sos_managed"
LEAD_STATUS = "hs_lead_status"
MARK = "sos: managed "
# blueprint type → HubSpot (type, fieldType), from the properties guide's type/fieldType table (reference §5).
PROPERTY_TYPES = {
    "text": ("string", "text"), "long_text": ("string", "textarea"), "email": ("string", "text"),
    "url": ("string", "text"), "phone": ("string", "phonenumber"), "number": ("number", "number"),
    "currency": ("number", "number"), "percent": ("number", "number"), "checkbox": ("bool", "booleancheckbox"),
    "date": ("date", "date"), "datetime": ("datetime", "date"), "picklist": ("enumeration", "select"),
    "multi_picklist": ("enumeration", "checkbox"),
}
BOOL_OPTIONS = [{"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
                {"label": "No", "value": "false", "displayOrder": 1, "hidden": False}]
# The attributes HubSpot holds itself, read back from the portal rather than from the mark.
HELD = {"field": ("label", "help"), "lead_status": ("label",), "stage": ("label",), "pipeline": ("label",)}


def property_name(field: Resource) -> str:
    names = field.attrs.get("api_names") or {}
    return str(names.get("hubspot") or names.get("*") or field.address.key)


def property_definition(field: Resource) -> dict[str, Any]:
    """The property HubSpot is sent for a blueprint field (name, label, type, fieldType, options, description)."""
    attrs = field.attrs
    kind, field_type = PROPERTY_TYPES[str(attrs["type"])]
    options = BOOL_OPTIONS if kind == "bool" else [
        {"label": str(value), "value": str(value), "displayOrder": i, "hidden": False}
        for i, value in enumerate(attrs.get("values") or ())]
    return {"name": property_name(field), "label": attrs["label"], "type": kind, "fieldType": field_type,
            "groupName": GROUP, "options": options,
            "description": with_mark(str(attrs.get("help") or ""), field.address, mark_attrs(field))}


def probability(attrs: Mapping[str, Any]) -> str:
    """A stage's probability as HubSpot holds it: a string of tenths from "0.0" to "1.0"."""
    if attrs.get("outcome") == "won":
        return "1.0"
    if attrs.get("outcome") == "lost":
        return "0.0"
    percent = Decimal(int(attrs.get("probability") or 0)) / 100
    return str(percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def stage_metadata(attrs: Mapping[str, Any]) -> dict[str, str]:
    closed = attrs.get("outcome") in ("won", "lost")
    return {"probability": probability(attrs), "isClosed": "true" if closed else "false"}


def mark_attrs(resource: Resource) -> dict[str, Any]:
    """The attributes the mark carries: all but those HubSpot holds itself."""
    held = HELD.get(resource.address.kind.value, ())
    return {k: v for k, v in sorted(resource.attrs.items()) if k not in held}


def with_mark(human: str, address: Address, attrs: Mapping[str, Any]) -> str:
    mark = MARK + json.dumps({"address": str(address), "attrs": dict(attrs)}, sort_keys=True, ensure_ascii=False)
    return f"{human}\n\n{mark}" if human else mark


def split_mark(text: str | None) -> tuple[str, Address | None, dict[str, Any]]:
    """(the human text, the marked address or None, the marked attributes) of a description."""
    text = text or ""
    at = text.rfind(MARK)
    if at < 0 or not (at == 0 or text[:at].endswith("\n\n")):
        return text, None, {}
    try:
        found = json.loads(text[at + len(MARK):])
        address, attrs = Address.parse(found["address"]), dict(found["attrs"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return text, None, {}
    return text[:at].removesuffix("\n\n"), address, attrs
