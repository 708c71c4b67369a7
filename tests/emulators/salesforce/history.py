"""What Salesforce writes on its own when an Opportunity or Lead is created or updated: the history objects.

Sources (Object Reference for the Salesforce Platform, read through the `search` tool):
- OpportunityHistory (sforce_api_objects_opportunityhistory.htm): "the stage history of an Opportunity" — read-only;
  "the system generates a new record whenever a user or client application changes the value of" Amount,
  Probability, Stage or Close Date (and the forecast category), with "the then-current values of all of these major
  fields" (StageName, Amount, CloseDate, Probability, ForecastCategory, ExpectedRevenue). It is always on: no
  setting turns it off. Creating an opportunity writes its first row.
- OpportunityFieldHistory (sforce_api_objects_opportunityfieldhistory.htm) and LeadHistory: one row per change of a
  field whose history is tracked (Field, OldValue, NewValue, DataType, CreatedDate, CreatedById), only when the
  object's field history is on (Setup → Fields & Relationships → Set History Tracking; CustomObject.enableHistory
  and CustomField.trackHistory in the Metadata API). A new record gets one row with Field = 'created' and no values.
  A tracked lookup (OwnerId) is written twice: its ids (DataType 'EntityId') and its names (DataType 'Text');
  its Field is the relationship's name ('Owner').
- None of them can be created, updated or deleted through the API (describe: createable, updateable and deletable
  false); the REST API answers INVALID_TYPE_FOR_OPERATION ("entity type cannot be inserted: …"; UNVERIFIED: the
  exact wording, taken from the SOAP fault of the same code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .xmlutil import flag

if TYPE_CHECKING:
    from .org import Org

STAGE_HISTORY_FIELDS = ("StageName", "Amount", "CloseDate", "Probability", "ForecastCategory", "ExpectedRevenue")
FIELD_HISTORY = {"Opportunity": ("OpportunityFieldHistory", "OpportunityId"), "Lead": ("LeadHistory", "LeadId")}
HISTORY_OBJECTS = {"OpportunityHistory": "Opportunity History", "OpportunityFieldHistory": "Opportunity Field History",
                   "LeadHistory": "Lead History"}
HISTORY_COLUMNS = {
    "OpportunityHistory": ("Id", "OpportunityId", *STAGE_HISTORY_FIELDS, "IsDeleted", "CreatedDate", "CreatedById",
                           "SystemModstamp", "CreatedBy.Username"),
    "OpportunityFieldHistory": ("Id", "OpportunityId", "Field", "DataType", "OldValue", "NewValue", "IsDeleted",
                                "CreatedDate", "CreatedById", "CreatedBy.Username"),
    "LeadHistory": ("Id", "LeadId", "Field", "DataType", "OldValue", "NewValue", "IsDeleted", "CreatedDate",
                    "CreatedById", "CreatedBy.Username"),
}


def tracked_fields(org: Org, obj: str) -> set[str]:
    """The API names of `obj`'s fields whose changes its field history keeps: none unless the object's history is
    on; then the standard fields turned on in Setup and the custom fields deployed with trackHistory."""
    if obj not in org.history_enabled:
        return set()
    custom = {c.name for c in org.of_type("CustomField", obj) if flag(c.body, "trackHistory")}
    return set(org.tracked_standard.get(obj, set())) | custom


def record_history(org: Org, obj: str, prior: Mapping[str, object] | None, record: Mapping[str, object]) -> None:
    """Write the history rows a create (`prior` None) or an update of `record` makes, at its LastModifiedDate and by
    its LastModifiedById."""
    at, who = record["LastModifiedDate"], record["LastModifiedById"]
    if obj == "Opportunity" and (prior is None or any(prior.get(f) != record.get(f) for f in STAGE_HISTORY_FIELDS)):
        _add(org, "OpportunityHistory", {"OpportunityId": record["Id"],
                                         **{f: record.get(f) for f in STAGE_HISTORY_FIELDS}}, at, who)
    if obj not in FIELD_HISTORY or obj not in org.history_enabled:
        return
    table, parent = FIELD_HISTORY[obj]
    if prior is None:
        _add(org, table, {parent: record["Id"], "Field": "created", "DataType": None, "OldValue": None,
                          "NewValue": None}, at, who)
        return
    fields = org.object_fields(obj)
    for name in sorted(tracked_fields(org, obj)):
        old, new = prior.get(name), record.get(name)
        if old == new:
            continue
        info = fields[name.lower()]
        if info.type == "Lookup":
            field_name = info.relationship if not info.custom else name
            _add(org, table, {parent: record["Id"], "Field": field_name, "DataType": "EntityId",
                              "OldValue": old, "NewValue": new}, at, who)
            old, new = _name_of(org, old), _name_of(org, new)
            _add(org, table, {parent: record["Id"], "Field": field_name, "DataType": "Text",
                              "OldValue": old, "NewValue": new}, at, who)
        else:
            _add(org, table, {parent: record["Id"], "Field": name, "DataType": info.type, "OldValue": old,
                              "NewValue": new}, at, who)


def _name_of(org: Org, record_id: object) -> object:
    for records in org.records.values():
        if record_id in records:
            return records[str(record_id)].get("Name")
    return record_id


def _add(org: Org, table: str, values: dict[str, object], at: object, who: object) -> None:
    row_id = org.new_id(table)
    org.records[table][row_id] = {"Id": row_id, **values, "IsDeleted": False, "CreatedDate": at, "CreatedById": who,
                                  **({"SystemModstamp": at} if table == "OpportunityHistory" else {})}


def history_rows(org: Org, table: str) -> list[dict[str, object]]:
    """The rows of a history object with CreatedBy read through its lookup, as SOQL sees them."""
    users = org.records["User"]
    return [{**row, "CreatedBy": dict(users[str(row["CreatedById"])]) if str(row["CreatedById"]) in users else None}
            for row in org.records[table].values()]
