"""What SOQL can read: rows and columns per queryable object (REST and Tooling).

Record objects read the org's records; OpportunityStage, LeadStatus, RecordType and
friends are views of the metadata, as in a real org. Tooling objects (ValidationRule,
CustomField, EntityDefinition, FieldDefinition) are views too, with `Metadata` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from lxml import etree

from . import standard
from .history import HISTORY_COLUMNS, history_rows, tracked_fields
from .org import Component, FieldInfo, Org, canonical_object, field_info
from .schema import MetadataSchema
from .xmlutil import flag, kids, text

MASTER_RECORD_TYPE_ID = "012000000000000AAA"


@dataclass
class Table:
    """One queryable object: canonical name, rows, and the column paths it accepts."""

    name: str
    rows: list[dict[str, object]]
    columns: dict[str, str]        # lower-case path → canonical path ("entitydefinition.qualifiedapiname")
    url_base: str = "sobjects"
    one_row_columns: frozenset[str] = frozenset()   # selecting these allows at most one row (Tooling)


FieldFilter = Callable[[str, FieldInfo], bool]      # (object, field) → visible to the running user


# Objects the org keeps as plain records, by lower-case name: (name, the columns a query may name when none is held).
_RECORD_TABLES: dict[str, tuple[str, list[str] | None]] = {
    "permissionsetassignment": ("PermissionSetAssignment", ["Id", "AssigneeId", "PermissionSetId"]),
    "group": ("Group", ["Id", "Name", "DeveloperName", "Type", "Email"]),
    "user": ("User", None),
}


def rest_table(org: Org, name: str, visible: FieldFilter) -> Table | None:
    """The REST-queryable object called `name` (any case), or None if there is none."""
    obj = canonical_object(name)
    if obj is not None and standard.OBJECTS[obj].deployable:
        return _records(org, obj, visible)
    lowered = name.lower()
    rows: list[dict[str, object]]
    if lowered == "opportunitystage":
        rows = [{"Id": f"01JEm{index:010d}AAA", "ApiName": v.full_name, "MasterLabel": v.label,
                 "IsActive": v.active, "IsClosed": v.closed, "IsWon": v.won, "DefaultProbability": v.probability,
                 "ForecastCategory": v.forecast_category,
                 "ForecastCategoryName": standard.FORECAST_CATEGORY_NAMES.get(v.forecast_category or ""),
                 "SortOrder": index, "Description": None}
                for index, v in enumerate(org.value_set("OpportunityStage"), start=1)]
        return _plain("OpportunityStage", rows)
    if lowered == "leadstatus":
        rows = [{"Id": f"01JEm{index + 100:010d}AAA", "ApiName": v.full_name, "MasterLabel": v.label,
                 "IsConverted": v.converted, "IsDefault": v.default, "SortOrder": index}
                for index, v in enumerate(org.value_set("LeadStatus"), start=1)]
        return _plain("LeadStatus", rows)
    if lowered == "recordtype":
        rows = [_record_type_row(org, c) for c in org.of_type("RecordType")]
        return _plain("RecordType", rows, standard_columns=[f.name for f in standard.OBJECTS["RecordType"].fields])
    if lowered == "permissionset":
        rows = [{"Id": c.id, "Name": c.full_name, "Label": text(c.body, "label"),
                 "Description": text(c.body, "description"), "IsOwnedByProfile": False}
                for c in org.of_type("PermissionSet")]
        return _plain("PermissionSet", rows, standard_columns=["Id", "Name", "Label", "Description",
                                                               "IsOwnedByProfile"])
    if lowered in _RECORD_TABLES:
        table, columns = _RECORD_TABLES[lowered]
        return _plain(table, [dict(row) for row in org.records[table].values()], standard_columns=columns)
    if lowered == "task":
        users = org.records["User"]
        rows = [{**task, "Owner": dict(users[str(task["OwnerId"])]) if str(task["OwnerId"]) in users else None}
                for task in org.records["Task"].values()]
        return _plain("Task", rows, standard_columns=[f.name for f in standard.OBJECTS["Task"].fields]
                      + ["Owner.Username"])
    history = next((table for table in HISTORY_COLUMNS if table.lower() == lowered), None)
    if history is not None:
        return _plain(history, history_rows(org, history), standard_columns=list(HISTORY_COLUMNS[history]))
    return None


def tooling_table(org: Org, name: str, schema: MetadataSchema) -> Table | None:
    """The Tooling-queryable object called `name`, or None."""
    lowered = name.lower()
    if lowered == "validationrule":
        rows = []
        for rule in org.of_type("ValidationRule"):
            rows.append({
                "Id": rule.id, "ValidationName": rule.name, "Active": flag(rule.body, "active"),
                "Description": text(rule.body, "description"),
                "ErrorDisplayField": text(rule.body, "errorDisplayField"),
                "ErrorMessage": text(rule.body, "errorMessage"), "EntityDefinitionId": rule.object,
                "EntityDefinition": _entity(rule.object), "NamespacePrefix": None, "ManageableState": "unmanaged",
                "CreatedDate": rule.created, "LastModifiedDate": rule.modified,
                "FullName": rule.full_name, "Metadata": _metadata_json(rule, schema)})
        return _plain("ValidationRule", rows, url_base="tooling/sobjects", one_row=("FullName", "Metadata"))
    if lowered == "customfield":
        rows = []
        for custom in org.of_type("CustomField"):
            info = field_info(custom)
            rows.append({
                "Id": custom.id, "DeveloperName": custom.name[:-3], "TableEnumOrId": custom.object,
                "EntityDefinitionId": custom.object, "EntityDefinition": _entity(custom.object),
                "NamespacePrefix": None, "Description": text(custom.body, "description"),
                "InlineHelpText": info.help_text, "Length": info.length, "Precision": info.precision,
                "Scale": info.scale, "ManageableState": "unmanaged", "CreatedDate": custom.created,
                "LastModifiedDate": custom.modified, "FullName": custom.full_name,
                "Metadata": _metadata_json(custom, schema)})
        return _plain("CustomField", rows, url_base="tooling/sobjects", one_row=("FullName", "Metadata"))
    if lowered == "entitydefinition":
        rows = [{"Id": f"01IEm{index:010d}AAA", "DurableId": o.name, "QualifiedApiName": o.name,
                 "DeveloperName": o.name, "KeyPrefix": o.key_prefix, "Label": o.label, "PluralLabel": o.plural,
                 "IsCustomizable": o.deployable}
                for index, o in enumerate(standard.OBJECTS.values(), start=1)]
        return _plain("EntityDefinition", rows, url_base="tooling/sobjects")
    if lowered == "fielddefinition":
        rows = []
        for obj in standard.DEPLOYABLE_OBJECTS:
            tracked = tracked_fields(org, obj)
            for info in org.object_fields(obj).values():
                rows.append({"DurableId": f"{obj}.{info.name}", "QualifiedApiName": info.name,
                             "DeveloperName": info.name[:-3] if info.custom else info.name,
                             "DataType": _data_type(info), "Label": info.label, "EntityDefinitionId": obj,
                             "EntityDefinition": _entity(obj), "IsNillable": info.nillable,
                             "IsFieldHistoryTracked": info.name in tracked})
        return _plain("FieldDefinition", rows, url_base="tooling/sobjects")
    return None


def _records(org: Org, obj: str, visible: FieldFilter) -> Table:
    fields = {k: f for k, f in org.object_fields(obj).items() if not f.custom or visible(obj, f)}
    columns = {k: f.name for k, f in fields.items()}
    rows = []
    names = [f.name for f in fields.values()]
    lookups = [(f.name, f.relationship, f.reference_to) for f in fields.values() if f.relationship and f.reference_to]
    related: dict[tuple[str, object], dict[str, object] | None] = {}   # each related record read once per query
    for record in org.records[obj].values():
        row = {name: record.get(name) for name in names}
        for name, relationship, target_object in lookups:
            key = (target_object, record.get(name))
            if key not in related:
                related[key] = _related(org, target_object, key[1])
            if related[key] is not None:
                row[relationship] = related[key]
        rows.append(row)
    for info in fields.values():
        if info.relationship and info.reference_to:
            target_fields = _target_columns(org, info.reference_to)
            for lower_name, canonical in target_fields.items():
                columns[f"{info.relationship.lower()}.{lower_name}"] = f"{info.relationship}.{canonical}"
    return Table(obj, rows, columns)


def _target_columns(org: Org, obj: str) -> dict[str, str]:
    if obj in standard.OBJECTS:
        if standard.OBJECTS[obj].deployable:
            return {k: f.name for k, f in org.object_fields(obj).items()}
        return {f.name.lower(): f.name for f in standard.OBJECTS[obj].fields}
    return {}


def _related(org: Org, obj: str, record_id: object) -> dict[str, object] | None:
    if record_id is None:
        return None
    if obj == "User":
        user = org.records["User"].get(str(record_id))
        return dict(user) if user is not None else None
    if obj == "RecordType":
        found = [c for c in org.of_type("RecordType") if c.id == record_id]
        return _record_type_row(org, found[0]) if found else None
    record = org.records.get(obj, {}).get(str(record_id))
    return dict(record) if record is not None else None


def _record_type_row(org: Org, component: Component) -> dict[str, object]:
    process = text(component.body, "businessProcess")
    business = org.get("BusinessProcess", f"{component.object}.{process}") if process else None
    return {"Id": component.id, "Name": text(component.body, "label"), "DeveloperName": component.name,
            "SobjectType": component.object, "IsActive": flag(component.body, "active"),
            "BusinessProcessId": business.id if business else None,
            "Description": text(component.body, "description")}


def _plain(name: str, rows: list[dict[str, object]], *, standard_columns: list[str] | None = None,
           url_base: str = "sobjects", one_row: tuple[str, ...] = ()) -> Table:
    columns: dict[str, str] = {}
    for column in standard_columns or []:
        columns[column.lower()] = column
    for row in rows:
        for key, value in row.items():
            columns[key.lower()] = key
            if isinstance(value, dict) and key != "Metadata":
                for inner in value:
                    if inner != "attributes":
                        columns[f"{key.lower()}.{inner.lower()}"] = f"{key}.{inner}"
    return Table(name, rows, columns, url_base, frozenset(c.lower() for c in one_row))


def _entity(obj: str) -> dict[str, object]:
    return {"attributes": {"type": "EntityDefinition", "url": f"/services/data/v63.0/tooling/sobjects/"
                                                             f"EntityDefinition/{obj}"},
            "QualifiedApiName": obj, "DeveloperName": obj}


def _data_type(info: FieldInfo) -> str:
    if info.type == "Text" and info.length:
        return f"Text({info.length})"
    if info.type in ("Number", "Currency", "Percent") and info.precision is not None:
        return f"{info.type}({info.precision - (info.scale or 0)}, {info.scale or 0})"
    if info.type == "Lookup":
        return f"Lookup({info.reference_to})"
    return {"Checkbox": "Checkbox", "Picklist": "Picklist", "Id": "Lookup()"}.get(info.type, info.type)


def _metadata_json(component: Component, schema: MetadataSchema) -> dict[str, object]:
    return to_json(component.body, component.type, schema)


def to_json(element: etree._Element, type_name: str, schema: MetadataSchema) -> dict[str, object]:
    """A component as the Tooling API's `Metadata` column shows it: every field, null if unset."""
    out: dict[str, object] = {}
    for spec in schema.children.get(type_name, ()):
        if spec.name == "fullName":
            continue
        found = kids(element, spec.name)
        values = [_json_value(k, spec.type, spec.builtin, schema) for k in found]
        out[spec.name] = values if spec.repeated else (values[0] if values else None)
    return out


def _json_value(element: etree._Element, type_name: str, builtin: bool, schema: MetadataSchema) -> object:
    if not builtin and type_name in schema.children:
        return to_json(element, type_name, schema)
    raw = (element.text or "").strip()
    if type_name == "boolean":
        return raw.lower() == "true"
    if type_name in ("int", "long"):
        try:
            return int(raw)
        except ValueError:
            return raw
    if type_name == "double":
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw
