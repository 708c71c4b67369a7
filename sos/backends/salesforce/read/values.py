"""OpportunityStage and LeadStatus values → STAGE and LEAD_STATUS: the active values with sos's mark (a stage value
shared by pipelines names each), look-alikes, and the org's own stages a managed pipeline lists."""

from __future__ import annotations

import re
from typing import Any
from collections.abc import Mapping
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import split_description
from sos.backends.salesforce.mdxml import children, local_name
from sos.backends.salesforce.names import BLUEPRINT_FORECASTS
from sos.backends.salesforce.read.reader import LiveOrg, Reader
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs

# The StandardValue children (value_sets.STANDARD_VALUE_KEYS) that are booleans.
_BOOLEAN_VALUE_KEYS = {"default", "isActive", "allowEmail", "closed", "converted", "cssExposed", "highPriority",
                       "reviewed", "won"}


def standard_values(root: ET.Element) -> list[dict[str, Any]]:
    values = []
    for element in children(root, "standardValue"):
        value: dict[str, Any] = {}
        for child in element:
            key, text = local_name(child.tag), child.text or ""
            if key in _BOOLEAN_VALUE_KEYS:
                value[key] = text.strip().lower() == "true"
            elif key == "probability":
                value[key] = int(float(text)) if text.strip() else None
            else:
                value[key] = text
        value.setdefault("default", False)
        values.append(value)
    return values

def values(r: Reader, kind: Kind, values: list[dict[str, Any]]) -> dict[str, Address]:
    """Stage or status resources from the active values; returns value name (lower) → one address."""
    found: dict[str, Address] = {}
    position = 0
    for value in values:
        if value.get("isActive") is False:
            continue
        name = str(value.get("fullName", ""))
        human, entries, _ = split_description(value.get("description"))
        mine = [(a, x) for a, x in entries or [] if a.kind is kind]
        if not mine:
            address = r.look_alike(kind, "lead", name, lambda res: str(res.attrs.get("label") or res.address.key))
            if address is not None and address not in r.model:
                mine, managed = [(address, {})], False
            else:
                continue
        else:
            managed = True
        for address, extras in mine:
            if kind is Kind.STAGE:
                attrs = _stage_attrs(value, human, extras)
            else:
                attrs = {"label": value.get("label") or name, "default": bool(value.get("default")),
                         "converted": bool(value.get("converted")), "description": human, "position": position}
            r.add(address, attrs, name, managed=managed)
            found.setdefault(name.lower(), address)
        position += 1
    return found


def _stage_attrs(value: Mapping[str, Any], human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    closed, won = bool(value.get("closed")), bool(value.get("won"))
    category = str(value.get("forecastCategory") or "")
    return {"label": value.get("label") or value.get("fullName"), "probability": value.get("probability"),
            "forecast": BLUEPRINT_FORECASTS.get(category, category.lower() or None),
            "outcome": "won" if closed and won else "lost" if closed else "open",
            "max_days": extras.get("max_days"), "description": human}

def listed_org_stages(live: LiveOrg, desired: Model) -> None:
    """Org stage values a managed pipeline lists but sos does not manage ('Closed Won', say) become unmanaged
    stage resources, at the key the pipeline lists them by: an import then writes whole pipelines.

    Addresses `desired` names are left to parse_retrieved's look-alike matching.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for value in live.stage_values:
        if value.get("isActive") is not False:
            by_key.setdefault(value_key(str(value.get("fullName", ""))), value)
    for pipeline in live.model.of_kind(Kind.PIPELINE):
        for key in pipeline.attrs.get("stages", ()):
            address = Address(Kind.STAGE, pipeline.address.key, str(key))
            listed = by_key.get(str(key))
            if listed is None or address in live.model or address in desired:
                continue
            human = split_description(str(listed.get("description") or ""))[0]
            live.model.add(Resource(address, compact_attrs(_stage_attrs(listed, human, {})), None, managed=False))
            live.names[address] = str(listed["fullName"])

def value_key(name: str) -> str:
    """The key a pipeline lists an org stage value by when no stage resource has it: 'Closed Won' → closed_won."""
    return re.sub(r"\W+", "_", name.lower()).strip("_")
