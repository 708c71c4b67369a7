"""Test infrastructure: records put into the emulated portal WITH their past, which HubSpot's API cannot do (it
stamps every version of a property with the moment of the call, and its own properties such as a task's completion
date or a deal's last activity date are read-only): each record created at its moment by its user, then each later
change saved at its moment by the user who made it, as new versions of its properties' history (records.write, the
code an update through the API runs). Never reachable through the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .portal import CREATED, Portal
from .records import normalised, store, valid_values, version, write

Update = tuple[str, int | None, Mapping[str, object]]   # (when: ISO date and time, who: a user id or None, values)


def load_record(portal: Portal, object_type: str, values: Mapping[str, object], *, created: str, by: int | None,
                updates: Sequence[Update] = (), associations: Mapping[str, Sequence[str]] | None = None) -> str:
    """Create `object_type` with `values` at `created` by user `by` (None: an integration), then save each of
    `updates` in turn; associate it with the records `associations` names by object type; the record's id."""
    at = normalised("datetime", created)
    held = portal.properties[object_type]
    own = {k: v for k, v in values.items() if held[k]["modificationMetadata"]["readOnlyValue"]}
    record = store(portal, object_type, {k: v for k, v in values.items() if k not in own})
    record["properties"].update({k: normalised(held[k]["type"], str(v)) for k, v in own.items() if v is not None})
    record["properties"][CREATED[object_type]] = record["createdAt"] = at
    record["history"] = {k: [version(v, at, by)] for k, v in record["properties"].items() if v not in (None, "")}
    for when, who, changed in updates:
        write(record, object_type, valid_values(portal, object_type, dict(changed), record["properties"]),
              normalised("datetime", when), who)
    for other_type, ids in (associations or {}).items():
        for other in ids:
            record["associations"].setdefault(other_type, []).append(other)
            portal.records[other_type][other]["associations"].setdefault(object_type, []).append(record["id"])
    return str(record["id"])
