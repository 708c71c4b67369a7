"""The history side of a Salesforce org (backends.base.History): deals and leads as they are, as they changed, and
the tasks on them, for the weekly reports.

Where Salesforce keeps it (Object Reference for the Salesforce Platform: OpportunityHistory, OpportunityFieldHistory,
LeadHistory, Task, FieldDefinition):
- **OpportunityHistory** is always on: Salesforce writes a row when an opportunity is created and whenever its
  Amount, Probability, Stage, Close Date or forecast category changes, each row holding the then-current values of
  all of them. Consecutive rows of one opportunity become old → new changes; the first is its creation.
- **OpportunityFieldHistory and LeadHistory** hold one row per change (Field, OldValue, NewValue, CreatedDate,
  CreatedBy) of a field whose history is tracked, and a row with Field = 'created' for each new record. A lookup
  (the owner) is written twice, its ids (DataType 'EntityId') and its names; sos reads the ids and names each owner
  by username. Nothing is tracked until someone turns field history on for the object and picks its fields (Setup →
  Object Manager → Fields & Relationships → Set History Tracking; at most 20 fields an object): FieldDefinition's
  IsFieldHistoryTracked says which are (Tooling API; UNVERIFIED beyond the object's field list). A field that is
  not tracked is listed in Timeline.unavailable, with the fix. sos does not turn tracking on itself: the 20 fields
  an object may track are the client's to spend (compliance and support reports use them too), and tracking starts
  only from the moment it is on, so a report must say so anyway.
- **When a deal entered its stage**: Opportunity.LastStageChangeDate, which Salesforce stamps at each stage change
  (API 52.0 on; blank until the first one: CreatedDate), read with the deals themselves.
- **Task**: a deal's tasks by WhatId, a lead's by WhoId, told apart by their ids' key prefixes (006 opportunity,
  00Q lead); CompletedDateTime says when one was closed. The flows sos deploys do not mark the tasks they create with
  their cadence, so Activity.cadence is None.

Each read is one SOQL query, paged (2,000 records a call) or, past records.BULK_THRESHOLD records, one Bulk API 2.0
query job (records.fetch). A changes() read costs: one FieldDefinition query (Tooling), one OpportunityHistory read
(all of it: the row before `since` is what the first change after it changed from), one field history read of the
rows since `since`, the current values of the records created since then (their creation values), and one User
query when the owner is read from field history. bench/reports_salesforce.py counts them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sos.backends.base import STAGE_ENTERED, Activity, FieldChange, Timeline, utc_moment
from sos.backends.salesforce.client import SalesforceClient
from sos.backends.salesforce.names import OBJECTS
from sos.backends.salesforce.records import BULK_THRESHOLD, _path, fetch
from sos.expr.dialects import sf_formula
from sos.expr.dialects.base import Naming
from sos.expr.dialects.sf_formula import username_reference
from sos.expr.types import Kind, Scope

CONVERTED_DEAL = "converted_deal"
# sos field key → its column in OpportunityHistory
STAGE_HISTORY = {"stage": "StageName", "amount": "Amount", "close_date": "CloseDate", "probability": "Probability",
                 "forecast_category": "ForecastCategory"}
# OpportunityHistory.ForecastCategory holds the category's API value (reference §6: the UI's Commit is `Forecast`)
FORECAST_CATEGORY_KEYS = {"Omitted": "omitted", "Pipeline": "pipeline", "BestCase": "best_case", "Forecast": "commit",
                          "MostLikely": "most_likely", "Closed": "closed"}
FIELD_HISTORY = {"opportunity": ("OpportunityFieldHistory", "OpportunityId"), "lead": ("LeadHistory", "LeadId")}
# the Task field that points at a record of each object, and that object's key prefix (WhatId and WhoId are
# polymorphic: an account's tasks share WhatId with a deal's)
TASK_PARENT = {"opportunity": ("WhatId", "006"), "account": ("WhatId", "001"), "lead": ("WhoId", "00Q"),
               "contact": ("WhoId", "003")}
CREATED = "created"


class OrgHistory:
    """History read from one org, its fields and values named as `namings` say (by object)."""

    def __init__(self, client: SalesforceClient, scopes: Mapping[str, Scope], namings: Mapping[str, Naming], *,
                 bulk_threshold: int = BULK_THRESHOLD) -> None:
        self.client = client
        self.scopes = scopes
        self.namings = namings
        self.bulk_threshold = bulk_threshold
        # the stage and lead status keys by the value Salesforce stores (lower case: picklists ignore case)
        self.state_keys = {(obj, kind): {stored.lower(): key for key, stored in values.items()}
                           for obj, naming in namings.items()
                           for kind, values in ((Kind.STAGE, naming.stage_values),
                                                (Kind.LEAD_STATUS, naming.status_values))}

    # -- rows --------------------------------------------------------------------------------------------------

    def rows(self, obj: str, fields: Sequence[str]) -> Iterator[dict[str, object]]:
        yield from self._records(obj, fields, "")

    def _records(self, obj: str, fields: Sequence[str], where: str) -> Iterator[dict[str, object]]:
        naming = self.namings[obj]
        readable = [key for key in dict.fromkeys(fields) if key in naming.fields and key != CONVERTED_DEAL]
        # Opportunity.LastStageChangeDate: Salesforce stamps it at each stage change, blank until the first one
        entered = list(sf_formula.STAGE_ENTERED) if obj == "opportunity" and STAGE_ENTERED in fields else []
        columns = dict.fromkeys(["Id", *(self._column(obj, key) for key in readable), *entered,
                                 *(["ConvertedOpportunityId"] if obj == "lead" else [])])
        soql = f"SELECT {', '.join(columns)} FROM {OBJECTS[obj]}{where}"
        for found in fetch(self.client, OBJECTS[obj], soql, bulk_threshold=self.bulk_threshold):
            row: dict[str, object] = {"id": str(found["Id"]), "url": self._url(obj, str(found["Id"]))}
            row.update({key: None for key in fields})
            row.update({key: self._decode(obj, key, _path(found, self._column(obj, key))) for key in readable})
            if entered:
                row[STAGE_ENTERED] = next((utc_moment(str(found[c])) for c in entered if found.get(c)), None)
            if obj == "lead":
                row[CONVERTED_DEAL] = found.get("ConvertedOpportunityId") or None
            yield row

    def _column(self, obj: str, key: str) -> str:
        api_name = self.namings[obj].fields[key]
        if self.scopes[obj].fields[key].kind is Kind.USER:
            return username_reference(obj, api_name, formula=False)
        return api_name

    def _url(self, obj: str, record_id: str) -> str:
        return f"{self.client.instance_url}/lightning/r/{OBJECTS[obj]}/{record_id}/view"

    def _decode(self, obj: str, key: str, value: object) -> object:
        """A value as Salesforce answers it (REST JSON, or Bulk API CSV text) as History hands it out."""
        if value is None or value == "":
            return None
        naming, kind = self.namings[obj], self.scopes[obj].fields[key].kind
        text = str(value)
        if kind in (Kind.STAGE, Kind.LEAD_STATUS):
            return self.state_keys[obj, kind].get(text.lower(), text)
        if kind is Kind.DATE:
            return datetime.date.fromisoformat(text[:10])
        if kind is Kind.DATETIME:
            return utc_moment(text)
        if kind is Kind.NUMBER:
            return float(text)
        if kind is Kind.BOOLEAN:
            return value if isinstance(value, bool) else text == "true"
        if kind is Kind.MULTI_PICKLIST:
            return text.split(";")
        if key in naming.text_values:
            return {v: k for k, v in naming.text_values[key].items()}.get(text, text)
        return value

    # -- changes -----------------------------------------------------------------------------------------------

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime) -> Timeline:
        naming = self.namings[obj]
        wanted = list(dict.fromkeys(fields))
        snapshot = [k for k in wanted if obj == "opportunity" and k in STAGE_HISTORY]
        found: list[FieldChange] = self._stage_history(snapshot, since) if snapshot else []
        others = [k for k in wanted if k not in snapshot]
        unavailable: dict[str, str] = {}
        if others and obj in FIELD_HISTORY:
            tracked = self._tracked(obj)
            for key in others:
                api_name = naming.fields.get(key)
                if api_name is None:
                    unavailable[key] = f"Salesforce holds no field for {key}, so it has no history of it"
                elif api_name not in tracked:
                    unavailable[key] = (f"field history is not tracked for {OBJECTS[obj]}.{api_name}: turn on field "
                                        f"history tracking for it in Setup (Object Manager → {OBJECTS[obj]} → "
                                        "Fields & Relationships → Set History Tracking); Salesforce keeps changes "
                                        "only from then on")
            readable = [k for k in others if k not in unavailable]
            if readable:
                found += self._field_history(obj, readable, since)
        else:
            unavailable.update({key: f"sos reads no field history of {OBJECTS[obj]} records" for key in others})
        found.sort(key=lambda c: (c.at, c.record, c.field))
        return Timeline(tuple(found), unavailable)

    def _stage_history(self, keys: Sequence[str], since: datetime.datetime) -> list[FieldChange]:
        soql = (f"SELECT Id, OpportunityId, {', '.join(STAGE_HISTORY[k] for k in keys)}, CreatedDate, "
                "CreatedBy.Username FROM OpportunityHistory")
        snapshots: dict[str, list[dict[str, Any]]] = {}
        for row in fetch(self.client, "OpportunityHistory", soql, bulk_threshold=self.bulk_threshold):
            snapshots.setdefault(str(row["OpportunityId"]), []).append(row)
        changes: list[FieldChange] = []
        for record, rows in snapshots.items():
            rows.sort(key=lambda r: (utc_moment(str(r["CreatedDate"])), str(r["Id"])))
            before: dict[str, object] = {k: None for k in keys}
            for row in rows:
                at = utc_moment(str(row["CreatedDate"]))
                for key in keys:
                    value = self._snapshot_value(key, row.get(STAGE_HISTORY[key]))
                    if value != before[key] and at >= since:
                        changes.append(FieldChange(record, key, before[key], value, at,
                                                   _path(row, "CreatedBy.Username")))
                    before[key] = value
        return changes

    def _snapshot_value(self, key: str, value: object) -> object:
        if key == "forecast_category" and value not in (None, ""):
            return FORECAST_CATEGORY_KEYS.get(str(value), str(value))
        return self._decode("opportunity", key, value)

    def _tracked(self, obj: str) -> set[str]:
        """The API names of `obj`'s fields whose history Salesforce keeps (one Tooling query)."""
        soql = ("SELECT QualifiedApiName, IsFieldHistoryTracked FROM FieldDefinition "
                f"WHERE EntityDefinitionId = '{OBJECTS[obj]}'")
        answer = self.client.call("query", lambda sf: sf.restful("tooling/query", params={"q": soql})) or {}
        return {str(r["QualifiedApiName"]) for r in answer.get("records", ()) if r.get("IsFieldHistoryTracked")}

    def _field_history(self, obj: str, keys: Sequence[str], since: datetime.datetime) -> list[FieldChange]:
        table, parent = FIELD_HISTORY[obj]
        naming, scope = self.namings[obj], self.scopes[obj]
        by_field = {_history_name(naming.fields[k], scope.fields[k].kind is Kind.USER): k for k in keys}
        names = ", ".join(f"'{name}'" for name in [CREATED, *by_field])
        soql = (f"SELECT Id, {parent}, Field, DataType, OldValue, NewValue, CreatedDate, CreatedBy.Username "
                f"FROM {table} WHERE CreatedDate >= {_literal(since)} AND Field IN ({names})")
        owners = {name for name, key in by_field.items() if scope.fields[key].kind is Kind.USER}
        rows = [r for r in fetch(self.client, table, soql, bulk_threshold=self.bulk_threshold)
                if r["Field"] not in owners or r.get("DataType") == "EntityId"]   # the ids, not the names
        users = self._usernames() if any(scope.fields[k].kind is Kind.USER for k in keys) else {}

        def decoded(key: str, value: object) -> object:
            if scope.fields[key].kind is Kind.USER:
                return users.get(str(value)) if value else None
            return self._decode(obj, key, value)

        changes: list[FieldChange] = []
        created: dict[str, tuple[datetime.datetime, str | None]] = {}
        first_old: dict[tuple[str, str], object] = {}
        for row in sorted(rows, key=lambda r: (utc_moment(str(r["CreatedDate"])), str(r["Id"]))):
            record, at, who = str(row[parent]), utc_moment(str(row["CreatedDate"])), _path(row, "CreatedBy.Username")
            if row["Field"] == CREATED:
                created[record] = (at, who)
                continue
            key = by_field[str(row["Field"])]
            old = decoded(key, row.get("OldValue"))
            first_old.setdefault((record, key), old)
            changes.append(FieldChange(record, key, old, decoded(key, row.get("NewValue")), at, who))
        if created:   # a record created since `since`: its values then are its first change's old values, or now's
            for now in self._records(obj, keys, f" WHERE CreatedDate >= {_literal(since)}"):
                if str(now["id"]) not in created:
                    continue
                at, who = created[str(now["id"])]
                for key in keys:
                    value = first_old.get((str(now["id"]), key), now[key])
                    if value is not None:
                        changes.append(FieldChange(str(now["id"]), key, None, value, at, who))
        return changes

    def _usernames(self) -> dict[str, str]:
        return {str(r["Id"]): str(r["Username"]) for r in self.client.query("SELECT Id, Username FROM User")}

    # -- activities --------------------------------------------------------------------------------------------

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        parent, prefix = TASK_PARENT[obj]
        soql = (f"SELECT Id, {parent}, Subject, Owner.Username, CreatedDate, ActivityDate, CompletedDateTime "
                f"FROM Task WHERE CreatedDate >= {_literal(since)} AND {parent} != null")
        tasks = [t for t in fetch(self.client, "Task", soql, bulk_threshold=self.bulk_threshold)
                 if str(t[parent]).startswith(prefix)]
        tasks.sort(key=lambda t: (utc_moment(str(t["CreatedDate"])), str(t["Id"])))
        for task in tasks:
            due, completed = task.get("ActivityDate"), task.get("CompletedDateTime")
            yield Activity(str(task["Id"]), str(task[parent]), str(task.get("Subject") or ""),
                           _path(task, "Owner.Username"), utc_moment(str(task["CreatedDate"])),
                           datetime.date.fromisoformat(str(due)[:10]) if due else None,
                           utc_moment(str(completed)) if completed else None)


def _history_name(api_name: str, lookup: bool) -> str:
    """How field history names a field: a standard lookup by its relationship (OwnerId → Owner)."""
    return api_name[:-2] if lookup and api_name.endswith("Id") and not api_name.endswith("__c") else api_name


def _literal(moment: datetime.datetime) -> str:
    """A SOQL date and time literal (SOQL and SOSL Reference, "Date Formats and Date Literals")."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
