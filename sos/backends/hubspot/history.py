"""The history side of a HubSpot portal (backends.base.History): deals and leads as they are, as they changed, and
the tasks on them, for the weekly reports.

Where HubSpot keeps it (the CRM objects guides and their OpenAPI specs, the owners and tasks guides):
- sos's leads are **contacts** (names.OBJECT_TYPES): a lead status is the contact's `hs_lead_status`. HubSpot has no
  lead conversion: the deal a converted lead became is the deal associated with the contact (the oldest, when
  there are several), read with the contacts themselves (`associations=deals`).
- **Property history**: a record read with `propertiesWithHistory` answers, for each property named, every value it
  has held as `{value, timestamp, sourceType, sourceId, updatedByUserId}` — the first one set when the record was
  created. Every property keeps its history: nothing is turned on first. A property the portal does not hold
  (hs_manual_forecast_category, the deal's forecast category, on a portal without forecasting, say) has none, and a
  field sos holds no property for has none either; both are listed in Timeline.unavailable. HubSpot documents no age
  beyond which it drops old versions (UNVERIFIED): sos reads what it answers.
- **Owners**: hubspot_owner_id holds an owner id, a version's updatedByUserId a user id; the owners API names both
  (`id`, `userId`, or `userIdIncludingInactive` for a deactivated user, whose owner is archived and still owns
  records) with the owner's email, which is the username sos reports. A change no user made (a workflow,
  an import, an integration) has no user: its `who` is None.
- **Tasks** are records of their own (`/crm/v3/objects/tasks`), associated with the deals and contacts they are
  about: the subject (hs_task_subject), owner, due date (hs_timestamp), creation (hs_createdate) and status
  (hs_task_status, "either COMPLETED or NOT_STARTED"): a task is done when its status says so, at its completion date
  (hs_task_completion_date, UNVERIFIED name; its last change when it holds none), and a task reopened is open whatever
  date it kept. HubSpot does not say which cadence made a task: Activity.cadence is None.

Rows are list calls, 100 records a page; 50 when a deal's stage entry is asked, which is the last change in the
history of `dealstage` read with them. Changes since a date are read with propertiesWithHistory, 50 records a
call (client.HISTORY_PAGE_SIZE): of the records a search finds modified since then, by batch reads, or of every
record, listed, whichever costs fewer calls (client.history_since). Tasks created since a date are found by a search
and their deals or contacts read from the associations API, or listed with them, likewise (client.created_since).
What a report costs: docs/reports.md and `python -m bench reports`.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sos.backends.base import STAGE_ENTERED, Activity, FieldChange, Timeline, utc_moment
from sos.backends.hubspot.client import HubSpotClient
from sos.backends.hubspot.names import OBJECT_TYPES, property_name
from sos.backends.hubspot.read import key_of, read_portal
from sos.backends.hubspot.records import RECORD_URL, Names
from sos.expr.types import Kind
from sos.model.exprs import model_scope
from sos.model.resources import Kind as ResourceKind
from sos.model.resources import Model

CONVERTED_DEAL = "converted_deal"
LEAD_NAME = ("firstname", "lastname")
# hs_manual_forecast_category's values (HubSpot's knowledge base, "Forecast category"; internal values UNVERIFIED) as
# the forecast categories sos names
FORECAST_CATEGORY_KEYS = {"OMIT": "omitted", "PIPELINE": "pipeline", "BEST_CASE": "best_case", "COMMIT": "commit",
                          "CLOSED": "closed"}
CONVERSIONS: dict[Kind, Callable[[str], object]] = {
    Kind.DATE: lambda text: datetime.date.fromisoformat(text[:10]),
    Kind.DATETIME: utc_moment,
    Kind.NUMBER: float,
    Kind.BOOLEAN: lambda text: text.lower() == "true",
    Kind.MULTI_PICKLIST: lambda text: text.split(";"),
    Kind.LEAD_STATUS: key_of,     # an option sos made has its key as value; another reads as key_of(value)
}
# Why HubSpot holds no property for a field, where the reason is not plain.
NOT_HELD = {"lead_source": "HubSpot holds no lead source for contacts: its Original Source (hs_analytics_source) is "
                           "HubSpot's own reading of the traffic a contact came from, not a source a rep or a form "
                           "sets, so each lead's source shows as —"}
TASK_PROPERTIES = ["hs_task_subject", "hubspot_owner_id", "hs_createdate", "hs_timestamp", "hs_task_status",
                   "hs_task_completion_date", "hs_lastmodifieddate"]


class PortalHistory:
    """History read from one portal; its stages, properties and owners are read once, on first use."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._names: Names | None = None
        self._held: dict[str, set[str]] = {}
        self._owners: list[dict[str, Any]] | None = None

    # -- rows --------------------------------------------------------------------------------------------------

    def rows(self, obj: str, fields: Sequence[str], model: Model) -> Iterator[dict[str, object]]:
        properties = self._properties(obj, model)
        readable = {key: properties[key] for key in dict.fromkeys(fields) if key in properties}
        decode = self._decoder(obj, model)
        named = obj == "lead" and "name" in fields
        wanted = sorted({*readable.values(), *(LEAD_NAME if named else ())})
        converted = obj == "lead"     # a lead answers the deal it became, asked or not (base.History.rows)
        # HubSpot stamps no stage entry that sos can read (the per-stage hs_date_entered_* properties are
        # UNVERIFIED names): the stage's own history says when it last changed
        stage = properties["stage"] if obj == "opportunity" and STAGE_ENTERED in fields else None
        portal = self.client.whoami().portal_id
        for found in self.client.records(OBJECT_TYPES[obj], wanted, [stage] if stage else None,
                                         associations=["deals"] if converted else None):
            held = found.get("properties") or {}
            row: dict[str, object] = {"id": str(found["id"]), "url": RECORD_URL[obj].format(portal=portal,
                                                                                            id=found["id"])}
            row.update({key: None for key in fields})
            row.update({key: decode(key, held.get(name)) for key, name in readable.items()})
            if stage:
                row[STAGE_ENTERED] = _entered((found.get("propertiesWithHistory") or {}).get(stage) or ())
            if named:
                row["name"] = " ".join(str(held[p]) for p in LEAD_NAME if held.get(p)) or None
            if converted:
                deals = ((found.get("associations") or {}).get("deals") or {}).get("results") or ()
                row[CONVERTED_DEAL] = min((str(d["id"]) for d in deals), key=int, default=None)
            yield row

    # -- changes -----------------------------------------------------------------------------------------------

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, model: Model) -> Timeline:
        properties = self._properties(obj, model)
        unavailable: dict[str, str] = {}
        tracked: dict[str, str] = {}     # property → field key
        for key in dict.fromkeys(fields):
            name = properties.get(key)
            if name is None:
                unavailable[key] = f"HubSpot holds no property for {key}, so it has no history of it"
            elif name not in self._held[OBJECT_TYPES[obj]]:
                unavailable[key] = (f"the portal has no property {name} (for {key}), so HubSpot keeps no history of "
                                    "it: `sos apply` creates the blueprint's own properties; HubSpot's own come with "
                                    "the feature they belong to (forecasting, for hs_manual_forecast_category)")
            else:
                tracked[name] = key
        if not tracked:
            return Timeline((), unavailable)
        decode, users = self._decoder(obj, model), self._usernames_by_user_id()
        found: list[FieldChange] = []
        since_ms = int(since.timestamp() * 1000)
        for record in self.client.history_since(OBJECT_TYPES[obj], since_ms, sorted(tracked)):
            history = record.get("propertiesWithHistory") or {}
            for name, field_key in tracked.items():
                versions = history.get(name) or ()
                before: object = None
                for version in sorted(versions, key=lambda v: utc_moment(str(v["timestamp"]))):
                    value, at = decode(field_key, version.get("value")), utc_moment(str(version["timestamp"]))
                    if value != before and at >= since:
                        who = version.get("updatedByUserId")
                        found.append(FieldChange(str(record["id"]), field_key, before, value, at,
                                                 users.get(int(who)) if who is not None else None))
                    before = value
        found.sort(key=lambda c: (c.at, c.record, c.field))
        return Timeline(tuple(found), unavailable)

    def not_held(self, obj: str, fields: Sequence[str], model: Model) -> dict[str, str]:
        """The fields no property holds (a lead's name is its contact's first and last names)."""
        properties = self._properties(obj, model)
        return {key: NOT_HELD.get(key, f"HubSpot holds no property for {key}") for key in dict.fromkeys(fields)
                if key not in properties and not (obj == "lead" and key == "name")}

    # -- activities --------------------------------------------------------------------------------------------

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        parent = OBJECT_TYPES[obj]
        owners = self._usernames_by_owner_id()
        found: list[Activity] = []
        for task in self.client.created_since("tasks", int(since.timestamp() * 1000), TASK_PROPERTIES, parent):
            held = task.get("properties") or {}
            created = utc_moment(str(held.get("hs_createdate") or task["createdAt"]))
            due = held.get("hs_timestamp")
            completed = held.get("hs_task_completion_date") or held.get("hs_lastmodifieddate") \
                if held.get("hs_task_status") == "COMPLETED" else None
            for record in ((task.get("associations") or {}).get(parent) or {}).get("results") or ():
                found.append(Activity(str(task["id"]), str(record["id"]), str(held.get("hs_task_subject") or ""),
                                      owners.get(str(held.get("hubspot_owner_id") or "")), created,
                                      datetime.date.fromisoformat(str(due)[:10]) if due else None,
                                      utc_moment(str(completed)) if completed else None))
        found.sort(key=lambda a: (a.created, a.id))
        yield from found

    # -- names -------------------------------------------------------------------------------------------------

    def _portal_names(self) -> Names:
        """The portal's stages and properties as sos names them (read once), and the properties it holds."""
        if self._names is None:
            portal = read_portal(self.client, Model())
            self._names = Names.of(portal)
            self._held = {object_type: set(held) for object_type, held in portal.properties.items()}
        return self._names

    def _properties(self, obj: str, model: Model) -> dict[str, str]:
        """Field key → the property that holds it: HubSpot's own, then the blueprint's fields."""
        properties = dict(self._portal_names().fields[obj])
        properties.update({field.address.key: property_name(field) for field in model.of_kind(ResourceKind.FIELD)
                           if field.address.scope == obj})
        return properties

    def _decoder(self, obj: str, model: Model) -> Callable[[str, object], object]:
        """How a property value (text, as HubSpot answers it) of a field is handed out (see History.rows)."""
        stages, owners = self._portal_names().stages, self._usernames_by_owner_id()
        conversions: dict[Kind, Callable[[str], object]] = {
            **CONVERSIONS, Kind.STAGE: lambda text: stages.get(text, text),
            Kind.USER: lambda text: owners.get(text, text)}
        by_key = {key: conversions.get(field_type.kind, str)
                  for key, field_type in model_scope(model, obj).fields.items()}
        by_key["forecast_category"] = lambda text: FORECAST_CATEGORY_KEYS.get(text, text)

        def decode(key: str, value: object) -> object:
            return None if value is None or value == "" else by_key.get(key, str)(str(value))
        return decode

    def _owner_list(self) -> list[dict[str, Any]]:
        """The owners, the archived ones too: a user who left still owns records and made changes."""
        if self._owners is None:
            self._owners = self.client.owners() + self.client.owners(archived=True)
        return self._owners

    def _usernames_by_owner_id(self) -> Mapping[str, str]:
        return {str(o["id"]): str(o["email"]) for o in self._owner_list() if o.get("email")}

    def _usernames_by_user_id(self) -> Mapping[int, str]:
        users = ((o.get("userIdIncludingInactive") or o.get("userId"), o.get("email")) for o in self._owner_list())
        return {int(user): str(email) for user, email in users if user is not None and email}


def _entered(versions: Sequence[Mapping[str, Any]]) -> datetime.datetime | None:
    """When a property took the value it holds: the first of its latest versions that hold that value."""
    ordered = sorted(versions, key=lambda v: utc_moment(str(v["timestamp"])), reverse=True)
    if not ordered:
        return None
    held = list(itertools.takewhile(lambda v: v.get("value") == ordered[0].get("value"), ordered))
    return utc_moment(str(held[-1]["timestamp"]))

