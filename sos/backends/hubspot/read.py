"""The portal in sos's words, read with a constant number of calls: property groups and properties of deals,
contacts and companies (one call each) and the deal pipelines with their stages (one call)."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sos.backends.hubspot.client import HubSpotClient
from sos.backends.hubspot.names import (
    GROUP,
    LEAD_STATUS,
    OBJECT_TYPES,
    PROPERTY_TYPES,
    REGISTRY,
    property_definition,
    property_name,
    split_mark,
    stage_metadata,
)
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs

REGISTRY_MARK = "sos: managed pipelines and stages "
# HubSpot's object → the blueprint's, for `sos import` (contacts are contacts; a lead is a contact with a status).
BLUEPRINT_OBJECTS = {"deals": "opportunity", "contacts": "contact", "companies": "account"}
BLUEPRINT_TYPES = {kind: blueprint_type for blueprint_type, kind in reversed(list(PROPERTY_TYPES.items()))}
# HubSpot has no default or converted lead status; an import names these (the portal's New and Open Deal).
DEFAULT_STATUS, CONVERTED_STATUS = "new", "open_deal"
READ_SCOPES = ("crm.schemas.deals.read", "crm.schemas.contacts.read", "crm.schemas.companies.read")


@dataclass
class LivePortal:
    """What one read found: the model, drift, and HubSpot's own data an apply works from."""

    model: Model = field(default_factory=Model)
    drift: dict[Address, str] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)   # object type → name → property
    groups: dict[str, set[str]] = field(default_factory=dict)                        # object type → group names
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)               # deal pipelines by id
    registry: dict[str, dict[str, Any]] = field(default_factory=dict)                # address → {id, attrs}
    registry_name: str = ""                                 # the deal property that holds it, once there is one
    ids: dict[Address, str] = field(default_factory=dict)  # pipelines, stages, status options; look-alikes too
    left_out: list[str] = field(default_factory=list)       # what an import could not take, a sentence each

    @property
    def lead_options(self) -> list[dict[str, Any]]:
        return list((self.properties["contacts"].get(LEAD_STATUS) or {}).get("options") or [])

    def fingerprint(self) -> str:
        """The model and the portal's own lead statuses, which an apply writes back beside sos's."""
        own = [o for o in self.lead_options if split_mark(o.get("description"))[1] is None]
        state = [self.model.fingerprint(), sorted((o["value"], o["label"]) for o in own)]
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def read_portal(client: HubSpotClient, desired: Model) -> LivePortal:
    client.require_scopes(READ_SCOPES, "reading the portal's properties and pipelines")
    live = LivePortal()
    for object_type in sorted(set(OBJECT_TYPES.values())):
        live.groups[object_type] = {g["name"] for g in client.groups(object_type)}
        live.properties[object_type] = {p["name"]: p for p in client.properties(object_type)}
    live.pipelines = {p["id"]: p for p in client.pipelines("deals")}
    registry = next((p for _, p in sorted(live.properties["deals"].items()) if p.get("groupName") == GROUP
                     and str(p.get("description") or "").startswith(REGISTRY_MARK)), None)
    if registry is not None:
        live.registry_name, live.registry = registry["name"], registry_entries(registry["description"])
    importing = not len(desired)
    if importing:    # `sos import`: the portal's own pipelines, properties and statuses, in full
        desired = _portal_own(live)
    _read_fields(live, desired)
    _read_lead_statuses(live, desired)
    _read_pipelines(live, desired)
    if importing:
        for own in desired:
            found = live.model.get(own.address)
            if found is not None and not found.managed:
                live.model.add(Resource(own.address, own.attrs, managed=False))
    return live


def key_of(text: str) -> str:
    """A blueprint key for a HubSpot label or option value: `Decision Maker Bought-In` → decision_maker_bought_in."""
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "item"
    return key if key[0].isalpha() else f"x_{key}"


def field_attrs(prop: dict[str, Any]) -> dict[str, Any]:
    """A property sos did not create, as a blueprint field would say it (no `type` when no blueprint type fits)."""
    kind = BLUEPRINT_TYPES.get((str(prop.get("type")), str(prop.get("fieldType"))))
    values = [o["value"] for o in prop.get("options") or []] if kind in ("picklist", "multi_picklist") else []
    return compact_attrs({"type": kind, "label": prop.get("label"), "help": prop.get("description"),
                          "values": values, "length": 255 if kind == "text" else None})


def _portal_own(live: LivePortal) -> Model:
    """What an import reads from a portal, as a blueprint would ask for it: properties it can hold (HubSpot's own
    and sos's left out), every deal pipeline with its stages, and the options of hs_lead_status."""
    own = Model()
    for object_type, properties in live.properties.items():
        for prop in properties.values():
            if (prop.get("hubspotDefined") or prop["name"] in (REGISTRY, live.registry_name)
                    or split_mark(prop.get("description"))[1]):
                continue
            attrs = field_attrs(prop)
            if "type" not in attrs:
                live.left_out.append(f"the {object_type} property {prop['name']} ({prop.get('type')}/"
                                     f"{prop.get('fieldType')}): a blueprint has no such field type")
                continue
            own.add(Resource(Address(Kind.FIELD, BLUEPRINT_OBJECTS[object_type], prop["name"]), attrs))
    registered = {entry["id"] for entry in live.registry.values()}
    for pipeline in live.pipelines.values():
        if pipeline["id"] in registered:
            continue
        key = key_of(pipeline["label"])
        stages = sorted(pipeline["stages"], key=lambda s: (s["displayOrder"], s["label"]))
        for stage in stages:
            own.add(Resource(Address(Kind.STAGE, key, key_of(stage["label"])), stage_attrs(stage)))
        own.add(Resource(Address(Kind.PIPELINE, "opportunity", key), {
            "label": pipeline["label"], "stages": [key_of(s["label"]) for s in stages]}))
    # sos's own statuses keep the positions their marks hold; the portal's fill the others, in HubSpot's order, so
    # the imported blueprint lists every status where the plan expects it.
    options = sorted(live.lead_options, key=lambda o: o.get("displayOrder", 0))
    marked = [split_mark(o.get("description")) for o in options]
    ours = [attrs for _, address, attrs in marked if address is not None]
    taken = {attrs.get("position") for attrs in ours}
    free = (position for position in itertools.count() if position not in taken)
    for option, (_, address, _) in zip(options, marked, strict=True):
        if address is not None:
            continue
        position = next(free)
        key = key_of(str(option["value"]))
        own.add(Resource(Address(Kind.LEAD_STATUS, "lead", key), {
            "label": option["label"], "position": position,
            "default": key == DEFAULT_STATUS and not any(attrs.get("default") for attrs in ours),
            "converted": key == CONVERTED_STATUS and not any(attrs.get("converted") for attrs in ours)}))
    return own


def registry_entries(description: str | None) -> dict[str, dict[str, Any]]:
    text = description or ""
    if not text.startswith(REGISTRY_MARK):
        return {}
    try:
        entries = json.loads(text[len(REGISTRY_MARK):])
    except ValueError:
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, dict) and "id" in v} if isinstance(entries, dict) else {}


def registry_text(entries: dict[str, dict[str, Any]]) -> str:
    return REGISTRY_MARK + json.dumps(entries, sort_keys=True, ensure_ascii=False)


def _read_fields(live: LivePortal, desired: Model) -> None:
    for properties in live.properties.values():
        for prop in properties.values():
            human, address, marked = split_mark(prop.get("description"))
            if address is None or address.kind is not Kind.FIELD or prop.get("groupName") != GROUP:
                continue
            attrs = compact_attrs({**marked, "label": prop.get("label"), "help": human})
            resource = Resource(address, attrs)
            live.model.add(resource)
            if problem := _field_drift(resource, prop):
                live.drift[address] = problem
    for want in desired.of_kind(Kind.FIELD):
        if want.address in live.model:
            continue
        if want.attrs.get("type") not in PROPERTY_TYPES:    # left out of HubSpot (lint says so): nothing to do
            live.model.add(want)
            continue
        found = live.properties[OBJECT_TYPES[want.address.scope]].get(property_name(want))
        if found is not None:
            live.model.add(Resource(want.address, field_attrs(found), managed=False))


def _field_drift(resource: Resource, prop: dict[str, Any]) -> str:
    if resource.attrs.get("type") not in PROPERTY_TYPES:
        return ""
    wanted = property_definition(resource)
    for name in ("type", "fieldType"):
        if prop.get(name) != wanted[name]:
            return f"changed in HubSpot: its {name} is {prop.get(name)}, sos made it {wanted[name]}"
    if wanted["type"] == "enumeration" and _choices(prop["options"]) != _choices(wanted["options"]):
        return "changed in HubSpot: its options differ from those sos made"
    return ""


def _choices(options: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(o["value"]), str(o["label"])) for o in sorted(options, key=lambda o: o.get("displayOrder", 0))]


def _read_lead_statuses(live: LivePortal, desired: Model) -> None:
    for option in live.lead_options:
        human, address, marked = split_mark(option.get("description"))
        if address is not None and address.kind is Kind.LEAD_STATUS:
            live.ids[address] = str(option["value"])    # what contacts hold (a renamed status keeps its old key)
            live.model.add(Resource(address, compact_attrs({**marked, "label": option.get("label")})))
    for option in live.lead_options:
        address = Address(Kind.LEAD_STATUS, "lead", key_of(str(option["value"])))
        wanted = desired.get(address)
        if address not in live.model and wanted is not None:
            live.ids[address] = str(option["value"])
            # HubSpot has no default, converted or position to differ: only the label can.
            live.model.add(Resource(address, {**wanted.attrs, "label": option.get("label")}, managed=False))


def _read_pipelines(live: LivePortal, desired: Model) -> None:
    """Registered pipelines and stages that HubSpot still holds; then look-alikes of the blueprint's by label."""
    stage_of = {s["id"]: (p, s) for p in live.pipelines.values() for s in p["stages"]}
    entries = sorted((Address.parse(text), entry) for text, entry in live.registry.items())
    for address, entry in entries:
        if address.kind is Kind.PIPELINE and entry["id"] in live.pipelines:
            live.ids[address] = entry["id"]
    for address, entry in entries:
        if address.kind is not Kind.STAGE or entry["id"] not in stage_of:
            continue
        pipeline, stage = stage_of[entry["id"]]
        if live.ids.get(Address(Kind.PIPELINE, "opportunity", address.scope)) != pipeline["id"]:
            continue
        live.ids[address] = stage["id"]
        attrs = compact_attrs({**entry["attrs"], "label": stage["label"]})
        live.model.add(Resource(address, attrs))
        if stage.get("metadata") != stage_metadata(attrs):
            live.drift[address] = (f"changed in HubSpot: its probability is {stage['metadata'].get('probability')} "
                                   f"and closed is {stage['metadata'].get('isClosed')}")
    for address, entry in entries:
        if address.kind is Kind.PIPELINE and address in live.ids:
            pipeline = live.pipelines[live.ids[address]]
            live.model.add(Resource(address, compact_attrs({
                **entry["attrs"], "label": pipeline["label"], "stages": _stage_keys(live, address.key, pipeline)})))
    _look_alikes(live, desired)


def _stage_keys(live: LivePortal, pipeline_key: str, pipeline: dict[str, Any]) -> list[str]:
    keys = {live.ids[a]: a.key for a in live.ids if a.kind is Kind.STAGE and a.scope == pipeline_key}
    ordered = sorted(pipeline["stages"], key=lambda s: (s["displayOrder"], s["label"]))
    return [keys[s["id"]] for s in ordered if s["id"] in keys]


def _look_alikes(live: LivePortal, desired: Model) -> None:
    """The blueprint's pipelines and stages that HubSpot holds by the same label, which sos did not create; as
    HubSpot holds them, with the blueprint's word for what HubSpot has no place for (a stage's forecast)."""
    registered = set(live.ids.values())
    for want in desired.of_kind(Kind.PIPELINE):
        managed = want.address in live.model
        pipeline_id = live.ids[want.address] if managed else next(
            (p["id"] for p in live.pipelines.values() if p["id"] not in registered
             and p["label"].casefold() == str(want.attrs["label"]).casefold()), "")
        if not pipeline_id:
            continue
        pipeline = live.pipelines[pipeline_id]
        for stage in pipeline["stages"]:
            address = Address(Kind.STAGE, want.address.key, _stage_key(desired, want.address.key, stage["label"]))
            wanted = desired.get(address)
            if stage["id"] in registered or wanted is None or address in live.model:
                continue
            live.ids[address] = stage["id"]
            live.model.add(Resource(address, {**wanted.attrs, **stage_attrs(stage)}, managed=False))
        if not managed:
            live.ids[want.address] = pipeline_id
            live.model.add(Resource(want.address, {**want.attrs, "label": pipeline["label"],
                                                   "stages": _stage_keys(live, want.address.key, pipeline)},
                                    managed=False))


def stage_attrs(stage: dict[str, Any]) -> dict[str, Any]:
    """A deal stage's label, probability (a percent) and outcome, as a blueprint says them."""
    metadata = stage.get("metadata") or {}
    closed, chance = metadata.get("isClosed") == "true", round(float(metadata.get("probability", 0)) * 100)
    return {"label": stage["label"], "probability": chance,
            "outcome": ("won" if chance == 100 else "lost") if closed else "open"}


def _stage_key(desired: Model, pipeline_key: str, label: str) -> str:
    return next((r.address.key for r in desired.of_kind(Kind.STAGE)
                 if r.address.scope == pipeline_key and str(r.attrs["label"]).casefold() == label.casefold()), "")
