"""Test infrastructure: records put into the emulated org WITH their past, as a data migration with "Set Audit
Fields upon Record Creation" would (CreatedDate, CreatedById set by the loader), and the history Salesforce
would have written had each later change been saved at its moment (history.record_history, the same code a REST
create or update runs). Never reachable through the API: sos's production paths cannot load history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .history import record_history
from .org import Org

Update = tuple[str, str, Mapping[str, object]]    # (when: ISO date and time, who: a user id, the values written)


def load_record(org: Org, obj: str, values: Mapping[str, object], *, created: str, by: str,
                updates: Sequence[Update] = ()) -> str:
    """Create `obj` with `values` at `created` by user `by`, then save each of `updates` in turn; the record's id."""
    record = org.new_record(obj, values)
    record.update(CreatedDate=created, CreatedById=by, LastModifiedDate=created, LastModifiedById=by,
                  SystemModstamp=created)
    record_id = str(record["Id"])
    org.records[obj][record_id] = record
    record_history(org, obj, None, record)
    for when, who, written in updates:
        prior = org.records[obj][record_id]
        record = org.updated_record(obj, record_id, written)
        record.update(LastModifiedDate=when, LastModifiedById=who, SystemModstamp=when)
        if record.get("LastStageChangeDate") != prior.get("LastStageChangeDate"):
            record["LastStageChangeDate"] = when
        org.records[obj][record_id] = record
        record_history(org, obj, prior, record)
    return record_id
