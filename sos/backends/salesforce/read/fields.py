"""CustomField → FIELD: sos's fields by their mark, look-alikes of desired ones, the org's own (for import) and
the deal-aging formula fields sos keeps in step (derived, not resources)."""

from __future__ import annotations

import re
from typing import Any
from collections.abc import Mapping
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import split_description
from sos.backends.salesforce.mdxml import child_flag, child_int, child_text, children
from sos.backends.salesforce.names import (
    BLUEPRINT_TYPES,
    NUMERIC_TYPES,
    OBJECTS,
    field_api_name,
    salesforce_field_name,
)
from sos.backends.salesforce.read.reader import Reader
from sos.expr.types import STANDARD_FIELD_TYPES
from sos.model.resources import Address, Kind


def custom_field(r: Reader, obj: str, name: str, element: ET.Element) -> bool:
    """Read one custom field; False when it is neither sos's (marked or derived) nor a desired look-alike."""
    human, entries, derived = split_description(child_text(element, "description"))
    full = f"{OBJECTS[obj]}.{name}"
    if derived:
        r.formulas[full] = child_text(element, "formula") or ""
        return True
    entry = next(((a, x) for a, x in entries or [] if a.kind is Kind.FIELD and a.scope == obj), None)
    if entry is not None:
        r.add(entry[0], _field_attrs(element, human, entry[1]), full)
        return True
    address = r.look_alike(Kind.FIELD, obj, name, field_api_name)
    if address is not None and address not in r.model:
        # The blueprint's api_name, when it is the org's name exactly: adopting then changes no name.
        wanted = r.desired.get(address) if r.desired is not None else None
        named = wanted is not None and bool(wanted.attrs.get("api_names")) and field_api_name(wanted) == name
        extras = {"api_names": wanted.attrs["api_names"]} if named and wanted is not None else {}
        r.add(address, _field_attrs(element, human, extras), full, managed=False)
        return True
    return False


def org_field(r: Reader, obj: str, name: str, element: ET.Element) -> None:
    """A custom field of the org's own, as an unmanaged field (import), or in `left_out` with why not."""
    full = f"{OBJECTS[obj]}.{name}"
    key = org_field_key(name, obj)
    address = Address(Kind.FIELD, obj, key)
    clash = "its key would be the same as another field's" if address in r.model else ""
    why = _not_holdable(element, name, key) or clash
    if why:
        r.left_out.append((full, why))
        return
    human = split_description(child_text(element, "description"))[0]
    attrs = _field_attrs(element, human, {})
    if salesforce_field_name(key) != name:
        attrs["api_names"] = {"salesforce": name}
    r.add(address, attrs, full, managed=False)


def org_field_key(name: str, obj: str) -> str:
    """The blueprint key of an org's own custom field on `obj`: `Competitor__c` → `competitor`, `NPS_Score__c` →
    `nps_score`; on opportunity `Amount__c` → `amount_custom` (a key may not shadow a standard field)."""
    key = re.sub(r"[^a-z0-9]+", "_", name.removesuffix("__c").lower()).strip("_")
    return f"{key}_custom" if key in STANDARD_FIELD_TYPES.get(obj, {}) else key


# Longest text a blueprint long_text holds (lower.fields.LONG_TEXT_LENGTH) and its help (the blueprint schema).
_LONG_TEXT_LENGTH, _HELP_LIMIT, _KEY_LIMIT = 32768, 255, 40



def _not_holdable(element: ET.Element, name: str, key: str) -> str:
    """Why sos cannot hold an org's custom field as a blueprint field without changing it on adoption ('' if it
    can): adopting deploys the blueprint's version of a field, so what a blueprint cannot say would be lost."""
    sf_type = (child_text(element, "type") or "").strip()
    if reason := _computed_or_taken(element, name):
        return reason
    if sf_type not in BLUEPRINT_TYPES:
        return f"sos has no field type for Salesforce's {sf_type or 'unnamed type'}"
    if len(key) > _KEY_LIMIT:
        return f"its key would be over {_KEY_LIMIT} characters"
    held = [word for flag, word in (("required", "required"), ("unique", "unique"), ("externalId", "an external id"))
            if child_flag(element, flag)]
    if held:
        return f"it is {' and '.join(held)}, which a blueprint field cannot say"
    if len(child_text(element, "inlineHelpText") or "") > _HELP_LIMIT:
        return f"its help text is over {_HELP_LIMIT} characters"
    if sf_type == "LongTextArea" and child_int(element, "length") not in (None, _LONG_TEXT_LENGTH):
        return f"it holds {child_int(element, 'length'):,} characters; a blueprint long_text holds 32,768"
    if sf_type == "Lookup":
        target = (child_text(element, "referenceTo") or "").strip()
        if target.lower() not in {o.lower() for o in OBJECTS.values()}:
            return f"it looks up {target or 'another object'}, which sos does not hold"
    if sf_type in ("Picklist", "MultiselectPicklist"):
        return _picklist_not_holdable(element)
    return ""

def _computed_or_taken(element: ET.Element, name: str) -> str:
    """Why the field is not the org admin's own data field to hand over ('' if it is)."""
    from sos.backends.salesforce.aging import DAYS_IN_STAGE, STALE

    if "__" in name.removesuffix("__c"):
        return "it belongs to an installed package"
    if name.lower() in (DAYS_IN_STAGE.lower(), STALE.lower()):
        return "sos keeps its name for deal aging"
    if child_text(element, "formula"):
        return "it is a formula field"
    if child_text(element, "summaryOperation"):
        return "it is a roll-up summary field"
    return ""

def _picklist_not_holdable(element: ET.Element) -> str:
    definitions = [d for v in children(element, "valueSet") for d in children(v, "valueSetDefinition")]
    if not definitions:
        return "its values come from a global value set"
    if any(child_text(v, "controllingField") for v in children(element, "valueSet")):
        return "it is a dependent picklist"
    values = [v for d in definitions for v in children(d, "value") if child_text(v, "isActive") != "false"]
    if not values:
        return "it has no active values"
    if any((child_text(v, "label") or child_text(v, "fullName")) != child_text(v, "fullName") for v in values):
        return "its values' labels differ from their API names"
    return ""

def _field_attrs(element: ET.Element, human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    sf_type = (child_text(element, "type") or "").strip()
    kind = BLUEPRINT_TYPES.get(sf_type, sf_type.lower())
    attrs: dict[str, Any] = {"type": kind, "label": child_text(element, "label"),
                             "help": child_text(element, "inlineHelpText"), "description": human,
                             "api_names": extras.get("api_names")}
    if kind == "text":
        attrs["length"] = child_int(element, "length")
    elif kind in NUMERIC_TYPES:
        attrs.update(precision=child_int(element, "precision"), scale=child_int(element, "scale"))
    elif kind == "checkbox":
        attrs["default"] = True if (child_text(element, "defaultValue") or "").strip().lower() == "true" \
            else extras.get("default")
    elif kind in ("picklist", "multi_picklist"):
        values = []
        for value_set in children(element, "valueSet"):
            for definition in children(value_set, "valueSetDefinition"):
                values = [v for v in children(definition, "value") if child_text(v, "isActive") != "false"]
        attrs["values"] = [child_text(v, "fullName") for v in values]
        attrs["default"] = next((child_text(v, "fullName") for v in values if child_flag(v, "default")), None)
    elif kind == "lookup":
        target = (child_text(element, "referenceTo") or "").strip()
        attrs["to"] = next((k for k, v in OBJECTS.items() if v.lower() == target.lower()), target)
    return attrs
