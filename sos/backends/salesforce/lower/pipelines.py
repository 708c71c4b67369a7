"""PIPELINE → a BusinessProcess (the stages it offers, in order) and its RecordType (which also offers the values
of every picklist sos manages on the object)."""

from __future__ import annotations

from typing import Any

from sos.backends.salesforce.lint import description_with_mark
from sos.backends.salesforce.lower.context import Build, Part
from sos.backends.salesforce.lower.fields import PICKLIST_TYPES
from sos.backends.salesforce.marks import ownership_mark
from sos.backends.salesforce.names import OBJECTS, field_api_name
from sos.backends.salesforce.package import Component, PicklistValue
from sos.model.resources import Address, Kind, Resource


def write(b: Build) -> list[Part]:
    parts: list[Part] = []
    for address in to_write(b):
        process, record_type = _pipeline(b, b.resource(address))
        obj = OBJECTS[address.scope]
        parts += [(obj, "business_processes", process,
                   Component("BusinessProcess", f"{obj}.{process['name']}", address)),
                  (obj, "record_types", record_type, Component("RecordType", f"{obj}.{record_type['name']}", address))]
    return parts


def delete(b: Build, address: Address) -> list[Component]:
    name = b.live.names.get(address) if b.live is not None else None
    full = name or f"{OBJECTS[address.scope]}.{b.process_name(address)}"
    return [Component("RecordType", full, address, deleted=True),
            Component("BusinessProcess", full, address, deleted=True)]


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """Record types that no longer offer a value of a picklist sos manages (edited in Setup)."""
    assert b.live is not None
    for resource in b.desired.of_kind(Kind.PIPELINE):
        name = b.live.names.get(resource.address)
        offered = b.live.offered.get(name or "")
        if name is None or offered is None or not resource.managed:
            continue
        for picklist in record_type_picklists(b, resource.address.scope):
            missing = [v.name for v in picklist["values"] if v.name not in offered.get(picklist["name"], [])]
            if missing:
                found.setdefault(resource.address, []).append(
                    f"record type does not offer {', '.join(missing)} of {picklist['name']}")


def to_write(b: Build) -> list[Address]:
    """Changed pipelines, and the managed ones on an object whose picklist field changes: values a deploy adds
    to a picklist reach an existing record type only through its `picklistValues` (reference, facts table 6)."""
    chosen = {a for a in b.writes if a.kind is Kind.PIPELINE}
    changed = {a.scope for a in b.writes if a.kind is Kind.FIELD and b.resource(a).attrs.get("type") in PICKLIST_TYPES}
    chosen |= {r.address for r in b.managed_after(Kind.PIPELINE)
               if r.address.scope in changed and r.address in b.desired}
    return sorted(chosen)


def record_type_picklists(b: Build, obj: str) -> list[dict[str, Any]]:
    """Every value of each picklist sos manages on `obj`, for a record type to offer (the default marked)."""
    return [{"name": b.field_name(r),
             "values": [PicklistValue(str(v), v == r.attrs.get("default")) for v in r.attrs.get("values", ())]}
            for r in sorted(b.managed_after(Kind.FIELD), key=lambda r: field_api_name(r).lower())
            if r.address.scope == obj and r.attrs.get("type") in PICKLIST_TYPES]


def _pipeline(b: Build, resource: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
    address, attrs = resource.address, resource.attrs
    name = b.process_name(address)
    keys = list(attrs.get("stages", ()))
    first_open = next((k for k in keys if b.stage_outcome(address.key, k) == "open"), keys[0] if keys else "")
    values = [{"name": b.stage_names.get(Address(Kind.STAGE, address.key, k), k), "default": k == first_open}
              for k in keys]
    process = {"name": name, "description": description_with_mark(b.desired, resource), "values": values}
    record_type = {"name": name, "process": name, "description": ownership_mark([(address, {})]),
                   "label": str(attrs.get("label") or address.key),
                   "picklists": record_type_picklists(b, address.scope)}
    return process, record_type
