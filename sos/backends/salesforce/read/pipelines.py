"""BusinessProcess (with its RecordType) → PIPELINE: the stage values it offers, as stage keys, in order."""

from __future__ import annotations

from sos.backends.salesforce.marks import split_description
from sos.backends.salesforce.mdxml import child_text, children
from sos.backends.salesforce.names import OBJECTS, process_api_name
from sos.backends.salesforce.read.reader import Reader
from sos.backends.salesforce.read.values import value_key
from sos.model.resources import Address, Kind


def pipelines(r: Reader, stages: dict[str, Address]) -> None:
    by_value: dict[tuple[str, str], str] = {}    # (pipeline key, value name lower) → stage key
    for address in r.model.resources:
        if address.kind is Kind.STAGE:
            by_value[(address.scope, r.names[address].lower())] = address.key
    for obj, name, element in r.processes:
        human, entries, _ = split_description(child_text(element, "description"))
        entry = next((a for a, _ in entries or [] if a.kind is Kind.PIPELINE and a.scope == obj), None)
        managed = entry is not None
        if entry is None:
            entry = r.look_alike(Kind.PIPELINE, obj, name, lambda resource: process_api_name(resource.address.key))
            if entry is None or entry in r.model:
                continue
        keys = []
        for value in children(element, "values"):
            value_name = (child_text(value, "fullName") or "").lower()
            key = by_value.get((entry.key, value_name))
            if key is None:
                key = stages[value_name].key if value_name in stages else value_key(value_name)
            keys.append(key)
        record_type = r.record_types.get((obj, name.lower()))
        label = child_text(record_type, "label") if record_type is not None else None
        if managed and record_type is not None:
            r.offered[f"{OBJECTS[obj]}.{name}"] = {
                child_text(p, "picklist") or "": [child_text(v, "fullName") or "" for v in children(p, "values")]
                for p in children(record_type, "picklistValues")}
        r.add(entry, {"label": label, "description": human, "stages": keys}, f"{OBJECTS[obj]}.{name}",
                 managed=managed)
