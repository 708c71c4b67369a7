"""The emulated org's state: metadata components and records.

Components are kept as XML (the element the Metadata API would return, fullName
removed), keyed case-insensitively by (type, fullName) because Salesforce names are
case-insensitive for uniqueness. A deploy works on `Org.copy()` and the copy replaces
the live org only when the deploy commits, which is how rollbackOnError and checkOnly
stay all-or-nothing.

Components are also indexed by type and object, and the derived views a deploy asks for
once per rule or permission (an object's field table, a value set's values) are cached
per org and dropped when a component they derive from is stored or removed: a deploy
checks each component against the org in time that does not grow with the org's size.
Stored bodies are never changed in place except by `_forget_references` (permission sets,
which no cached view reads).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, UTC
from types import MappingProxyType
from collections.abc import Callable, Mapping

from lxml import etree

from . import standard
from .history import HISTORY_OBJECTS
from .schema import MD_NS, load_schema
from .xmlutil import child, flag, kids, md, number, rebuild, sub, text

Clock = Callable[[], datetime]

ID_PREFIXES = {
    "CustomField": "00N", "ValidationRule": "03d", "RecordType": "012", "BusinessProcess": "019",
    "Flow": "301", "PermissionSet": "0PS", "StandardValueSet": "0Ya", "CustomObject": "01I",
    "PermissionSetAssignment": "0Pa", "deploy": "0Af", "retrieve": "09S", "query": "01g", "bulkQuery": "750",
    "User": "005", "Organization": "00D", "OpportunityHistory": "008", "OpportunityFieldHistory": "017",
    "LeadHistory": "017", "Group": "00G", "AssignmentRule": "01Q", "CustomNotificationType": "0ML",
}
CHILD_TYPES = {"CustomField": "fields", "ValidationRule": "validationRules",
               "BusinessProcess": "businessProcesses", "RecordType": "recordTypes"}
USER_ID = "005Em0000000001AAA"
USER_NAME = "Integration User"
INTEGRATION_USER = {"Id": USER_ID, "Username": "integration@emulator.example", "Name": USER_NAME,
                    "FirstName": "Integration", "LastName": "User", "Email": "integration@emulator.example",
                    "IsActive": True, "ProfileId": None, "UserRoleId": None, "ManagerId": None}
ORG_ID = "00DEm0000000001EAA"
FORECAST_CATEGORIES = {name: category for category, name in standard.FORECAST_CATEGORY_NAMES.items()}


class SteppingClock:
    """A clock that starts at a fixed instant and moves one second per reading: deterministic."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(seconds=1)) -> None:
        self._now = start or datetime(2025, 1, 1, tzinfo=UTC)
        self._step = step

    def __call__(self) -> datetime:
        now = self._now
        self._now += self._step
        return now

    def move_to(self, moment: datetime) -> None:
        """Jump forward to `moment` (the test API for time passing: SalesforceEmulator.advance); never back."""
        self._now = max(self._now, moment)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """A record-triggered flow's scheduled path waiting for its time: the flow, the path, the record and when."""

    flow: str
    path: str
    obj: str
    record_id: str
    due: datetime


@dataclass(slots=True)
class Component:
    """One metadata component as stored: `body` has the type's children minus fullName."""

    type: str
    full_name: str
    body: etree._Element
    id: str
    created: str
    modified: str

    @property
    def object(self) -> str:
        """The object a child component (field, rule, process, record type) belongs to."""
        return self.full_name.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The name inside the object file (`Budget__c` for `Opportunity.Budget__c`)."""
        return self.full_name.split(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field as formulas, describe and SOQL see it, standard or custom."""

    name: str
    label: str
    type: str                      # Metadata FieldType, or "Id"
    custom: bool
    required: bool = False
    reference_to: str | None = None
    relationship: str | None = None
    picklist_values: tuple[tuple[str, str, bool, bool], ...] = ()   # (value, label, active, default)
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    unique: bool = False
    external_id: bool = False
    updateable: bool = True
    nillable: bool = True
    restricted: bool = False
    help_text: str | None = None
    default_value: str | None = None
    formula: str | None = None
    display_format: str | None = None     # an AutoNumber's


@dataclass(frozen=True, slots=True)
class StageValue:
    """One value of a StandardValueSet."""

    full_name: str
    label: str
    default: bool
    active: bool
    closed: bool = False
    won: bool = False
    converted: bool = False
    probability: int | None = None
    forecast_category: str | None = None


class Org:
    """Metadata and records of one emulated org."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.components: dict[tuple[str, str], Component] = {}
        # type → lower-case object (the fullName before its first dot) → lower-case fullName → component
        self._index: dict[str, dict[str, dict[str, Component]]] = {}
        self._tables: dict[str, Mapping[str, FieldInfo]] = {}     # lower-case object → object_fields()
        self._infos: dict[str, tuple[Component, FieldInfo]] = {}  # lower-case fullName → field_info() of it
        self._values: dict[str, tuple[Component, tuple[StageValue, ...]]] = {}  # lower-case name → value_set()
        self.records: dict[str, dict[str, dict[str, object]]] = {
            name: {} for name in (*standard.DEPLOYABLE_OBJECTS, "PermissionSetAssignment", "Task", *HISTORY_OBJECTS)}
        self.records["User"] = {USER_ID: dict(INTEGRATION_USER)}
        # Setup → Set History Tracking (history.py): the objects whose field history is on, and their standard
        # fields it tracks (custom fields say it with trackHistory).
        self.history_enabled: set[str] = set()
        self.tracked_standard: dict[str, set[str]] = {}
        self.records["Group"] = {}
        # What the flows' Send Custom Notification actions sent (flows.py), for tests to read: Salesforce keeps no
        # queryable record of them.
        self.notifications: list[dict[str, object]] = []
        self.scheduled: list[ScheduledRun] = []     # scheduled paths waiting to run (flows.py)
        self._ids = Counter[str]()
        self._seed_value_sets()

    # -- components ------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        """A deterministic 18-character id with the kind's key prefix."""
        self._ids[kind] += 1
        return f"{ID_PREFIXES.get(kind, '000')}Em{self._ids[kind]:010d}AAA"

    def get(self, type_name: str, full_name: str) -> Component | None:
        return self.components.get((type_name, full_name.lower()))

    def put(self, type_name: str, full_name: str, body: etree._Element) -> tuple[Component, bool]:
        """Store (create or replace) a component; returns it and whether it is new."""
        now = iso(self.clock())
        old = self.get(type_name, full_name)
        clean = rebuild(body, type_name)
        for name_el in kids(clean, "fullName"):
            clean.remove(name_el)
        load_schema().order(clean, type_name)
        if old is None:
            component = Component(type_name, full_name, clean, self.new_id(type_name), now, now)
        else:
            component = replace(old, body=clean, modified=now)
        key = full_name.lower()
        self.components[(type_name, key)] = component
        self._index.setdefault(type_name, {}).setdefault(key.split(".", 1)[0], {})[key] = component
        self._changed(type_name, key)
        return component, old is None

    def remove(self, type_name: str, full_name: str) -> None:
        key = full_name.lower()
        if self.components.pop((type_name, key), None) is None:
            return
        group = self._index[type_name][key.split(".", 1)[0]]
        del group[key]
        if not group:
            del self._index[type_name][key.split(".", 1)[0]]
        self._changed(type_name, key)

    def renamed(self, was: Component, new_name: str) -> None:
        """What renameMetadata does beyond storing the component under its new name: it renames the component, not
        a copy (Metadata API Developer Guide, renameMetadata()), so it keeps its id and creation date; a custom
        field keeps its records' values, and the formulas that read it read it under its new name (a formula holds
        a field by its id; Setup shows it by its current name)."""
        key = new_name.lower()
        stored = replace(self.components[(was.type, key)], id=was.id, created=was.created)
        self.components[(was.type, key)] = stored
        self._index[was.type][key.split(".", 1)[0]][key] = stored
        if was.type != "CustomField":
            return
        old_field, new_field = was.name, new_name.split(".", 1)[1]
        for record in self.records.get(canonical_object(was.object) or was.object, {}).values():
            for name in [n for n in record if n.lower() == old_field.lower()]:
                record[new_field] = record.pop(name)
        reference = re.compile(rf"(?<![\w.$]){re.escape(old_field)}(?!\w)", re.IGNORECASE)
        for permission in (f for p in self.of_type("PermissionSet") for f in kids(p.body, "fieldPermissions")):
            field = child(permission, "field")
            if field is not None and (field.text or "").lower() == was.full_name.lower():
                field.text = f"{was.object}.{new_field}"
        for type_name, tag in (("ValidationRule", "errorConditionFormula"), ("CustomField", "formula")):
            for component in self.of_type(type_name, was.object):
                formula = child(component.body, tag)
                if formula is not None and formula.text and reference.search(formula.text):
                    formula.text = reference.sub(new_field, formula.text)
                    self._changed(type_name, component.full_name.lower())

    def _changed(self, type_name: str, key: str) -> None:
        """Drop the cached views a stored or removed component feeds."""
        if type_name == "CustomField":
            self._tables.pop(key.split(".", 1)[0], None)
            self._infos.pop(key, None)
        elif type_name == "StandardValueSet":
            self._tables.clear()        # standard picklists list the value set's values

    def of_type(self, type_name: str, obj: str | None = None) -> list[Component]:
        """Components of a type (on one object, for child types), sorted by fullName."""
        groups = self._index.get(type_name, {})
        if obj is None:
            found = [c for group in groups.values() for c in group.values()]
        else:
            found = list(groups.get(obj.lower(), {}).values())
        return sorted(found, key=lambda c: c.full_name.lower())

    def copy(self) -> Org:
        """An independent copy to deploy into; commit by `adopt`ing it."""
        twin = Org.__new__(Org)
        twin.clock = self.clock
        twin.components = {k: replace(c, body=copy.deepcopy(c.body)) for k, c in self.components.items()}
        twin._index = {}
        for (type_name, key), component in twin.components.items():
            twin._index.setdefault(type_name, {}).setdefault(key.split(".", 1)[0], {})[key] = component
        # The copy holds equal components, so the views derived from this org's hold for it too
        # (tables are never changed in place, only dropped); re-key the per-component ones.
        twin._tables = dict(self._tables)
        twin._infos = {key: (twin.components[("CustomField", key)], info)
                       for key, (component, info) in self._infos.items()
                       if self.components.get(("CustomField", key)) is component}
        twin._values = {key: (twin.components[("StandardValueSet", key)], values)
                        for key, (component, values) in self._values.items()
                        if self.components.get(("StandardValueSet", key)) is component}
        twin.records = {obj: {rid: dict(rec) for rid, rec in recs.items()} for obj, recs in self.records.items()}
        twin.history_enabled, twin.tracked_standard = set(self.history_enabled), self.tracked_standard
        twin.notifications = self.notifications        # a deploy sends none
        twin._ids = Counter(self._ids)
        twin.scheduled = self.scheduled     # waiting interviews are no metadata: a deploy leaves them as they are
        return twin

    def adopt(self, other: Org) -> None:
        """Take over another org's state (a committed deploy)."""
        self.components = other.components
        self._index = other._index
        self._tables = other._tables
        self._infos = other._infos
        self._values = other._values
        self.records = other.records
        self.history_enabled = other.history_enabled
        self._ids = other._ids

    # -- derived views --------------------------------------------------------------

    def object_fields(self, obj: str) -> Mapping[str, FieldInfo]:
        """Standard and custom fields of `obj`, keyed by lower-case API name (read-only, cached)."""
        info = standard.OBJECTS.get(obj) or standard.OBJECTS.get(_canonical_object(obj))
        if info is None:
            return MappingProxyType({})
        table = self._tables.get(info.name.lower())
        if table is None:
            table = self._tables[info.name.lower()] = MappingProxyType(self._field_table(info))
        return table

    def _field_table(self, info: standard.StandardObject) -> dict[str, FieldInfo]:
        fields: dict[str, FieldInfo] = {}
        for f in info.fields:
            values: tuple[tuple[str, str, bool, bool], ...] = ()
            if f.picklist in standard.VALUE_SET_FIELDS:
                values = tuple((v.full_name, v.label, v.active, v.default) for v in self.value_set(f.picklist))
            elif f.picklist:
                values = tuple((v, v, True, False) for v in standard.STATIC_PICKLISTS.get(f.picklist, ()))
            fields[f.name.lower()] = FieldInfo(
                f.name, f.label, f.type, custom=False, reference_to=f.reference_to, relationship=f.relationship,
                picklist_values=values, updateable=f.updateable, nillable=f.nillable,
                restricted=bool(f.picklist), required=not f.nillable and f.updateable and f.name != "OwnerId")
        for component in self.of_type("CustomField", info.name):
            fields[component.name.lower()] = self._field_info(component)
        return fields

    def _field_info(self, component: Component) -> FieldInfo:
        key = component.full_name.lower()
        cached = self._infos.get(key)
        if cached is None or cached[0] is not component:      # put() stores a new Component each time
            cached = self._infos[key] = (component, field_info(component))
        return cached[1]

    def value_set(self, name: str) -> list[StageValue]:
        """Values of a StandardValueSet in order, active and inactive."""
        component = self.get("StandardValueSet", name)
        if component is None:
            return []
        cached = self._values.get(name.lower())
        if cached is None or cached[0] is not component:
            cached = self._values[name.lower()] = (
                component, tuple(stage_value(v) for v in kids(component.body, "standardValue")))
        return list(cached[1])

    def usage(self, value_set: str) -> Counter[str]:
        """How many records use each value of a StandardValueSet (by lower-case value)."""
        obj, field_name = standard.VALUE_SET_FIELDS[value_set]
        return Counter(str(r.get(field_name, "")).lower() for r in self.records[obj].values()
                       if r.get(field_name) is not None)

    # -- records --------------------------------------------------------------------

    def add_record(self, obj: str, values: Mapping[str, object]) -> str:
        """Insert a record without validation (seeding); returns its id."""
        record = self.new_record(obj, values)
        self.records[obj][str(record["Id"])] = record
        return str(record["Id"])

    def add_user(self, username: str, first_name: str = "", last_name: str = "Rep", *, active: bool = True,
                 email: str | None = None) -> str:
        """A user the org's records can be owned by (Owner.Username reads it); returns its id."""
        self._ids["User"] += 1
        user_id = f"005Em{self._ids['User'] + 1:010d}AAA"   # 005Em0000000001AAA is the integration user
        name = f"{first_name} {last_name}".strip()
        self.records["User"][user_id] = {"Id": user_id, "Username": username, "Name": name,
                                         "FirstName": first_name or None, "LastName": last_name,
                                         "Email": email or username, "IsActive": active, "ProfileId": None,
                                         "UserRoleId": None, "ManagerId": None}
        return user_id

    def add_queue(self, developer_name: str, name: str | None = None) -> str:
        """A queue (a Group of Type Queue) records can be assigned to; returns its id."""
        queue_id = self.new_id("Group")
        self.records["Group"][queue_id] = {"Id": queue_id, "Name": name or developer_name,
                                           "DeveloperName": developer_name, "Type": "Queue", "Email": None}
        return queue_id

    def add_task(self, subject: str, *, what_id: str | None = None, who_id: str | None = None,
                 activity_date: str | None = None, closed: bool = True, owner_id: str = USER_ID,
                 created: str | None = None, completed: str | None = None, description: str | None = None) -> str:
        """A task logged on a record (loading, without validation); returns its id. A closed one dates the record it
        is about: LastActivityDate is "the due date of the most recently closed task associated with the record"
        or of the most recent event (Object Reference, Opportunity and Lead, LastActivityDate; the emulator holds
        no events)."""
        self._ids["Task"] += 1
        task_id = f"00TEm{self._ids['Task']:010d}AAA"
        self.records["Task"][task_id] = {
            "Id": task_id, "Subject": subject, "ActivityDate": activity_date, "IsClosed": closed,
            "Status": "Completed" if closed else "Not Started", "WhatId": what_id, "WhoId": who_id,
            "OwnerId": owner_id, "CreatedDate": created or iso(self.clock()), "CreatedById": owner_id,
            "Description": description, "CompletedDateTime": completed if closed else None}
        for record_id in filter(None, (what_id, who_id)):
            record = next((recs[record_id] for recs in self.records.values() if record_id in recs), None)
            if record is not None and closed and activity_date is not None:
                record["LastActivityDate"] = max(activity_date, str(record.get("LastActivityDate") or ""))
        return task_id

    def new_record(self, obj: str, values: Mapping[str, object]) -> dict[str, object]:
        """A record as a create would store it (system and derived fields set), not stored yet."""
        info = standard.OBJECTS[obj]
        self._ids[obj] += 1
        record_id = f"{info.key_prefix}Em{self._ids[obj]:010d}AAA"
        now = iso(self.clock())
        record: dict[str, object] = {"Id": record_id, "OwnerId": USER_ID, "IsDeleted": False,
                                     "CreatedDate": now, "CreatedById": USER_ID, "LastModifiedDate": now,
                                     "LastModifiedById": USER_ID, "SystemModstamp": now}
        record.update(values)
        for field in self.object_fields(obj).values():
            if field.type == "AutoNumber" and field.display_format:   # numbered on create, from 1 (UNVERIFIED start)
                self._ids[f"{obj}.{field.name}"] += 1
                record[field.name] = _numbered(field.display_format, self._ids[f"{obj}.{field.name}"])
        if obj == "Opportunity":
            self._derive_opportunity(record)
        return record

    def updated_record(self, obj: str, record_id: str, values: Mapping[str, object]) -> dict[str, object]:
        """A stored record with `values` written over it, as an update would store it, not stored yet."""
        now = iso(self.clock())
        record = {**self.records[obj][record_id], **values, "LastModifiedDate": now, "SystemModstamp": now}
        before = str(self.records[obj][record_id].get("StageName", "")).lower()
        if obj == "Opportunity" and "StageName" in values and str(values["StageName"]).lower() != before:
            record["LastStageChangeDate"] = now   # set by Salesforce when the stage changes (read-only)
        if obj == "Opportunity" and "StageName" in values:
            for derived in ("IsClosed", "IsWon", "ForecastCategory", "ForecastCategoryName"):
                if derived not in values:
                    record.pop(derived, None)
            self._derive_opportunity(record)
        if obj == "Opportunity" and "ForecastCategoryName" in values:   # the category follows its name
            record["ForecastCategory"] = FORECAST_CATEGORIES.get(str(values["ForecastCategoryName"]))
        return record

    def _derive_opportunity(self, record: dict[str, object]) -> None:
        record.setdefault("Name", f"Opportunity {record['Id']}")
        record.setdefault("CloseDate", "2025-06-30")
        stage = next((v for v in self.value_set("OpportunityStage")
                      if v.full_name.lower() == str(record.get("StageName", "")).lower()), None)
        if record.get("ForecastCategoryName") is not None:
            record.setdefault("ForecastCategory", FORECAST_CATEGORIES.get(str(record["ForecastCategoryName"])))
        if stage is not None:
            record.setdefault("IsClosed", stage.closed)
            record.setdefault("IsWon", stage.won)
            record.setdefault("Probability", stage.probability)
            record.setdefault("ForecastCategory", stage.forecast_category)
            record.setdefault("ForecastCategoryName",
                              standard.FORECAST_CATEGORY_NAMES.get(stage.forecast_category or "", None))

    def seed_opportunities(self, per_stage: Mapping[str, int]) -> list[str]:
        """Add `count` Opportunity records in each named stage (`{"Prospecting": 3}`)."""
        ids = []
        for stage, count in per_stage.items():
            for _ in range(count):
                ids.append(self.add_record("Opportunity", {"StageName": stage}))
        return ids

    def seed_leads(self, per_status: Mapping[str, int]) -> list[str]:
        """Add `count` Lead records in each named status (`{"Working - Contacted": 2}`)."""
        ids = []
        for status, count in per_status.items():
            for index in range(count):
                ids.append(self.add_record("Lead", {"LastName": f"Lead {index + 1}", "Company": "Acme",
                                                    "Status": status}))
        return ids

    # -- the standard value sets of a new org ---------------------------------------

    def _seed_value_sets(self) -> None:
        stages = etree.Element(md("StandardValueSet"), nsmap={None: MD_NS})
        sub(stages, "sorted", False)
        for name, probability, forecast, closed, won in standard.OPPORTUNITY_STAGES:
            value = sub(stages, "standardValue")
            for tag, content in (("fullName", name), ("default", False), ("label", name), ("closed", closed),
                                 ("forecastCategory", forecast), ("probability", probability), ("won", won)):
                sub(value, tag, content)
        self.put("StandardValueSet", "OpportunityStage", stages)
        statuses = etree.Element(md("StandardValueSet"), nsmap={None: MD_NS})
        sub(statuses, "sorted", False)
        for name, default, converted in standard.LEAD_STATUSES:
            value = sub(statuses, "standardValue")
            for tag, content in (("fullName", name), ("default", default), ("label", name),
                                 ("converted", converted)):
                sub(value, tag, content)
        self.put("StandardValueSet", "LeadStatus", statuses)


def stage_value(element: etree._Element) -> StageValue:
    name = text(element, "fullName") or ""
    return StageValue(
        full_name=name,
        label=text(element, "label") or name,
        default=flag(element, "default"),
        active=flag(element, "isActive", True),
        closed=flag(element, "closed"),
        won=flag(element, "won"),
        converted=flag(element, "converted"),
        probability=number(element, "probability"),
        forecast_category=text(element, "forecastCategory"),
    )


def field_info(component: Component) -> FieldInfo:
    """A stored CustomField as a FieldInfo."""
    body = component.body
    field_type = text(body, "type") or "Text"
    values: list[tuple[str, str, bool, bool]] = []
    value_set = child(body, "valueSet")
    definition = child(value_set, "valueSetDefinition") if value_set is not None else None
    if definition is not None:
        for value in kids(definition, "value"):
            name = text(value, "fullName") or ""
            values.append((name, text(value, "label") or name, flag(value, "isActive", True), flag(value, "default")))
    required = flag(body, "required")
    return FieldInfo(
        name=component.name, label=text(body, "label") or component.name, type=field_type, custom=True,
        required=required, reference_to=text(body, "referenceTo"),
        relationship=(component.name[:-3] + "__r") if field_type in ("Lookup", "MasterDetail") else None,
        picklist_values=tuple(values), length=number(body, "length"), precision=number(body, "precision"),
        scale=number(body, "scale"), unique=flag(body, "unique"), external_id=flag(body, "externalId"),
        updateable=text(body, "formula") is None, nillable=not required and field_type != "Checkbox",
        restricted=flag(value_set, "restricted") if value_set is not None else False,
        help_text=text(body, "inlineHelpText"), default_value=text(body, "defaultValue"),
        formula=text(body, "formula"), display_format=text(body, "displayFormat"),
    )


def _numbered(display_format: str, number: int) -> str:
    """An auto-number's text: `{0}` → 7, `L-{0000}` → L-0007 (Help, "Custom Field Attributes": Display Format)."""
    match = re.search(r"\{(0+)\}", display_format)
    return display_format if match is None else \
        display_format[:match.start()] + str(number).zfill(len(match[1])) + display_format[match.end():]


def _canonical_object(name: str) -> str:
    for candidate in standard.OBJECTS:
        if candidate.lower() == name.lower():
            return candidate
    return name


def canonical_object(name: str) -> str | None:
    """The standard object's proper spelling, or None if the emulator does not know it."""
    found = _canonical_object(name)
    return found if found in standard.OBJECTS else None

