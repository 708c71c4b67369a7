"""What one retrieve says: the members to ask for, and the retrieved files read back into a Model.

`parse_retrieved` reads the files of a retrieve into a `LiveOrg`: the org in sos's terms
(components with sos's mark become managed resources, look-alikes of desired ones unmanaged
resources) and in the org's (every stage and lead-status value, names, formulas), so that
compile → build_package → parse_retrieved gives the Model again for the kinds Salesforce holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import formula_comment_texts, split_description
from sos.backends.salesforce.mdxml import child_flag, child_int, child_text, children, local_name
from sos.backends.salesforce.names import (
    BLUEPRINT_FORECASTS,
    BLUEPRINT_TYPES,
    NUMERIC_TYPES,
    OBJECTS,
    PERMISSION_SET,
    STAGE_SET,
    STATUS_SET,
    field_api_name,
    process_api_name,
    salesforce_field_name,
    validation_rule_name,
)
from sos.expr.types import STANDARD_FIELD_TYPES
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs
from sos.naming import REQUIREMENT_RULE_SUFFIX

# The StandardValue children (value_sets.STANDARD_VALUE_KEYS) that are booleans.
_BOOLEAN_VALUE_KEYS = {"default", "isActive", "allowEmail", "closed", "converted", "cssExposed", "highPriority",
                       "reviewed", "won"}


@dataclass
class LiveOrg:
    """What one retrieve says about the org, in sos's terms and in the org's."""

    model: Model                      # managed=True only where the sos mark is found
    stage_values: list[dict[str, Any]]        # every OpportunityStage value as retrieved, in order
    lead_status_values: list[dict[str, Any]]  # every LeadStatus value as retrieved, in order
    names: dict[Address, str] = field(default_factory=dict)     # each live resource's API name (value name for stages)
    formulas: dict[str, str] = field(default_factory=dict)      # "Opportunity.Sos_X" → formula, sos rules (active
    #                                                              ones) and deal-aging fields: to notice drift
    permission_set: dict[str, Any] | None = None                # {"fields": {name: editable}, "record_types": [...]}
    left_out: list[tuple[str, str]] = field(default_factory=list)  # with org_fields: (field, why sos cannot hold it)
    offered: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # record type → picklist → its values


def retrieve_members(desired: Model) -> dict[str, list[str]]:
    """Types → members for ONE retrieve that reads everything a plan and a build need.

    Whole objects (their custom fields, validation rules, business processes and record
    types: sos-made ones the blueprint dropped must be found too), both value sets, and the
    sos permission set. `desired` does not narrow it: deletions are found among what it lacks.
    """
    return {"CustomObject": sorted(OBJECTS.values()), "PermissionSet": [PERMISSION_SET],
            "StandardValueSet": [STATUS_SET, STAGE_SET]}


def parse_retrieved(files: Mapping[str, bytes], desired: Model | None = None, *,
                    org_fields: bool = False) -> LiveOrg:
    """The org as one retrieve (`retrieve_members`) shows it, unzipped: resources in sos's terms.

    A component with sos's mark becomes a managed resource at the address the mark names.
    With `desired`, an unmarked component that has a desired resource's Salesforce name
    becomes a managed=False resource there (a look-alike sos must leave alone). Stage and
    status values that are inactive are not resources (they are still in `stage_values`).
    With `org_fields` (for `sos import`), every other custom field sos could hold becomes a
    managed=False field too, keyed by its API name (`Competitor__c` → `competitor`); the
    ones it could not hold faithfully are listed in `left_out` with the reason.
    """
    reader = _Reader(desired, org_fields)
    files = {name.removeprefix("unpackaged/"): body for name, body in files.items()}
    for name in sorted(files):
        folder, _, rest = name.partition("/")
        if folder == "objects" and rest.endswith(".object"):
            obj = rest.removesuffix(".object")
            key = next((k for k, v in OBJECTS.items() if v.lower() == obj.lower()), None)
            if key is not None:
                reader.object_file(key, ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STAGE_SET}.standardValueSet":
            reader.stage_values = _standard_values(ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STATUS_SET}.standardValueSet":
            reader.status_values = _standard_values(ET.fromstring(files[name]))
        elif name == f"permissionsets/{PERMISSION_SET}.permissionset":
            reader.permission_set(ET.fromstring(files[name]))
    return reader.live()


def _standard_values(root: ET.Element) -> list[dict[str, Any]]:
    values = []
    for element in children(root, "standardValue"):
        value: dict[str, Any] = {}
        for child in element:
            key, text = local_name(child.tag), child.text or ""
            if key in _BOOLEAN_VALUE_KEYS:
                value[key] = text.strip().lower() == "true"
            elif key == "probability":
                value[key] = int(float(text)) if text.strip() else None
            else:
                value[key] = text
        value.setdefault("default", False)
        values.append(value)
    return values


class _Reader:
    def __init__(self, desired: Model | None, org_fields: bool = False) -> None:
        self.desired = desired
        self.org_fields = org_fields
        self.left_out: list[tuple[str, str]] = []
        self.model = Model()
        self.names: dict[Address, str] = {}
        self.formulas: dict[str, str] = {}
        self.stage_values: list[dict[str, Any]] = []
        self.status_values: list[dict[str, Any]] = []
        self.permissions: dict[str, Any] | None = None
        self.processes: list[tuple[str, str, ET.Element]] = []     # (object key, name, element)
        self.record_types: dict[tuple[str, str], ET.Element] = {}  # (object key, process name lower) → element
        self.offered: dict[str, dict[str, list[str]]] = {}

    def add(self, address: Address, attrs: dict[str, Any], name: str, *, managed: bool = True) -> None:
        self.model.add(Resource(address, compact_attrs(attrs), None, managed))
        self.names[address] = name

    def look_alike(self, kind: Kind, obj: str, name: str, named: Any) -> Address | None:
        """The desired address whose Salesforce name is `name` (case-insensitive), if any."""
        if self.desired is None:
            return None
        for resource in self.desired.of_kind(kind):
            anywhere = kind in (Kind.STAGE, Kind.STAGE_REQUIREMENT)    # scoped by pipeline, not by object
            if (anywhere or resource.address.scope == obj) and named(resource).lower() == name.lower():
                return resource.address
        return None

    # -- objects -------------------------------------------------------------------------

    def object_file(self, obj: str, root: ET.Element) -> None:
        unmarked: list[tuple[str, ET.Element]] = []
        for element in root:
            tag = local_name(element.tag)
            name = child_text(element, "fullName") or ""
            if tag == "fields" and name.endswith("__c"):
                if not self.custom_field(obj, name, element):
                    unmarked.append((name, element))
            elif tag == "validationRules":
                self.validation_rule(obj, name, element)
            elif tag == "businessProcesses":
                self.processes.append((obj, name, element))
            elif tag == "recordTypes":
                self.record_types[(obj, (child_text(element, "businessProcess") or "").lower())] = element
        if self.org_fields:     # after the marked ones, which keep their keys
            for name, element in unmarked:
                self.org_field(obj, name, element)

    def custom_field(self, obj: str, name: str, element: ET.Element) -> bool:
        """Read one custom field; False when it is neither sos's (marked or derived) nor a desired look-alike."""
        human, entries, derived = split_description(child_text(element, "description"))
        full = f"{OBJECTS[obj]}.{name}"
        if derived:
            self.formulas[full] = child_text(element, "formula") or ""
            return True
        entry = next(((a, x) for a, x in entries or [] if a.kind is Kind.FIELD and a.scope == obj), None)
        if entry is not None:
            self.add(entry[0], _field_attrs(element, human, entry[1]), full)
            return True
        address = self.look_alike(Kind.FIELD, obj, name, field_api_name)
        if address is not None and address not in self.model:
            # The blueprint's api_name, when it is the org's name exactly: adopting then changes no name.
            wanted = self.desired.get(address) if self.desired is not None else None
            named = wanted is not None and bool(wanted.attrs.get("api_names")) and field_api_name(wanted) == name
            extras = {"api_names": wanted.attrs["api_names"]} if named and wanted is not None else {}
            self.add(address, _field_attrs(element, human, extras), full, managed=False)
            return True
        return False

    def org_field(self, obj: str, name: str, element: ET.Element) -> None:
        """A custom field of the org's own, as an unmanaged field (import), or in `left_out` with why not."""
        full = f"{OBJECTS[obj]}.{name}"
        key = org_field_key(name, obj)
        address = Address(Kind.FIELD, obj, key)
        clash = "its key would be the same as another field's" if address in self.model else ""
        why = _not_holdable(element, name, key) or clash
        if why:
            self.left_out.append((full, why))
            return
        human = split_description(child_text(element, "description"))[0]
        attrs = _field_attrs(element, human, {})
        if salesforce_field_name(key) != name:
            attrs["api_names"] = {"salesforce": name}
        self.add(address, attrs, full, managed=False)

    def validation_rule(self, obj: str, name: str, element: ET.Element) -> None:
        human, entries, _ = split_description(child_text(element, "description"))
        formula = child_text(element, "errorConditionFormula") or ""
        texts = formula_comment_texts(formula)
        message, description = child_text(element, "errorMessage"), texts.get("description", human)
        full = f"{OBJECTS[obj]}.{name}"
        entry = next((requirement_of(a) for a, _ in entries or [] if a.kind in (Kind.RULE, Kind.STAGE_REQUIREMENT)
                      and (a.scope == obj or a.kind is Kind.STAGE_REQUIREMENT)), None)
        if entry is not None:
            self.add(entry, _rule_attrs(entry, texts, message, description), full)
            if child_flag(element, "active"):
                self.formulas[full] = formula
            return
        for kind in (Kind.RULE, Kind.STAGE_REQUIREMENT):
            address = self.look_alike(kind, obj, name, lambda r: validation_rule_name(r.address))
            if address is not None and address not in self.model:
                self.add(address, _rule_attrs(address, texts, message, human), full, managed=False)
                return

    # -- values, processes, permission set ---------------------------------------------------

    def values(self, kind: Kind, values: list[dict[str, Any]]) -> dict[str, Address]:
        """Stage or status resources from the active values; returns value name (lower) → one address."""
        found: dict[str, Address] = {}
        position = 0
        for value in values:
            if value.get("isActive") is False:
                continue
            name = str(value.get("fullName", ""))
            human, entries, _ = split_description(value.get("description"))
            mine = [(a, x) for a, x in entries or [] if a.kind is kind]
            if not mine:
                address = self.look_alike(kind, "lead", name, lambda r: str(r.attrs.get("label") or r.address.key))
                if address is not None and address not in self.model:
                    mine, managed = [(address, {})], False
                else:
                    continue
            else:
                managed = True
            for address, extras in mine:
                if kind is Kind.STAGE:
                    attrs = _stage_attrs(value, human, extras)
                else:
                    attrs = {"label": value.get("label") or name, "default": bool(value.get("default")),
                             "converted": bool(value.get("converted")), "description": human, "position": position}
                self.add(address, attrs, name, managed=managed)
                found.setdefault(name.lower(), address)
            position += 1
        return found

    def pipelines(self, stages: dict[str, Address]) -> None:
        by_value: dict[tuple[str, str], str] = {}    # (pipeline key, value name lower) → stage key
        for address in self.model.resources:
            if address.kind is Kind.STAGE:
                by_value[(address.scope, self.names[address].lower())] = address.key
        for obj, name, element in self.processes:
            human, entries, _ = split_description(child_text(element, "description"))
            entry = next((a for a, _ in entries or [] if a.kind is Kind.PIPELINE and a.scope == obj), None)
            managed = entry is not None
            if entry is None:
                entry = self.look_alike(Kind.PIPELINE, obj, name, lambda r: process_api_name(r.address.key))
                if entry is None or entry in self.model:
                    continue
            keys = []
            for value in children(element, "values"):
                value_name = (child_text(value, "fullName") or "").lower()
                key = by_value.get((entry.key, value_name))
                if key is None:
                    key = stages[value_name].key if value_name in stages else _value_key(value_name)
                keys.append(key)
            record_type = self.record_types.get((obj, name.lower()))
            label = child_text(record_type, "label") if record_type is not None else None
            if managed and record_type is not None:
                self.offered[f"{OBJECTS[obj]}.{name}"] = {
                    child_text(p, "picklist") or "": [child_text(v, "fullName") or "" for v in children(p, "values")]
                    for p in children(record_type, "picklistValues")}
            self.add(entry, {"label": label, "description": human, "stages": keys}, f"{OBJECTS[obj]}.{name}",
                     managed=managed)

    def permission_set(self, root: ET.Element) -> None:
        self.permissions = {
            "fields": {(child_text(p, "field") or ""): child_flag(p, "editable")
                       for p in children(root, "fieldPermissions") if child_flag(p, "readable")},
            "record_types": sorted((child_text(v, "recordType") or "") for v in children(root, "recordTypeVisibilities")
                                   if child_flag(v, "visible")),
        }

    def live(self) -> LiveOrg:
        stages = self.values(Kind.STAGE, self.stage_values)
        self.values(Kind.LEAD_STATUS, self.status_values)
        self.pipelines(stages)
        return LiveOrg(self.model, self.stage_values, self.status_values, self.names, self.formulas,
                       self.permissions, sorted(self.left_out), self.offered)


def org_field_key(name: str, obj: str) -> str:
    """The blueprint key of an org's own custom field on `obj`: `Competitor__c` → `competitor`, `NPS_Score__c` →
    `nps_score`; on opportunity `Amount__c` → `amount_custom` (a key may not shadow a standard field)."""
    key = re.sub(r"[^a-z0-9]+", "_", name.removesuffix("__c").lower()).strip("_")
    return f"{key}_custom" if key in STANDARD_FIELD_TYPES.get(obj, {}) else key


# Longest text a blueprint long_text holds (build.LONG_TEXT_LENGTH) and its help (the blueprint schema).
_LONG_TEXT_LENGTH, _HELP_LIMIT, _KEY_LIMIT = 32768, 255, 40


def _not_holdable(element: ET.Element, name: str, key: str) -> str:
    """Why sos cannot hold an org's custom field as a blueprint field without changing it on adoption ('' if it
    can): adopting deploys the blueprint's version of a field, so what a blueprint cannot say would be lost."""
    sf_type = (child_text(element, "type") or "").strip()
    if reason := _computed_or_taken(element, name):
        return reason
    if sf_type not in BLUEPRINT_TYPES:
        return f"sos has no field type for Salesforce's {sf_type or 'unnamed type'}"
    if len(key) > _KEY_LIMIT:
        return f"its key would be over {_KEY_LIMIT} characters"
    held = [word for flag, word in (("required", "required"), ("unique", "unique"), ("externalId", "an external id"))
            if child_flag(element, flag)]
    if held:
        return f"it is {' and '.join(held)}, which a blueprint field cannot say"
    if len(child_text(element, "inlineHelpText") or "") > _HELP_LIMIT:
        return f"its help text is over {_HELP_LIMIT} characters"
    if sf_type == "LongTextArea" and child_int(element, "length") not in (None, _LONG_TEXT_LENGTH):
        return f"it holds {child_int(element, 'length'):,} characters; a blueprint long_text holds 32,768"
    if sf_type == "Lookup":
        target = (child_text(element, "referenceTo") or "").strip()
        if target.lower() not in {o.lower() for o in OBJECTS.values()}:
            return f"it looks up {target or 'another object'}, which sos does not hold"
    if sf_type in ("Picklist", "MultiselectPicklist"):
        return _picklist_not_holdable(element)
    return ""


def _computed_or_taken(element: ET.Element, name: str) -> str:
    """Why the field is not the org admin's own data field to hand over ('' if it is)."""
    from sos.backends.salesforce.aging import DAYS_IN_STAGE, STALE

    if "__" in name.removesuffix("__c"):
        return "it belongs to an installed package"
    if name.lower() in (DAYS_IN_STAGE.lower(), STALE.lower()):
        return "sos keeps its name for deal aging"
    if child_text(element, "formula"):
        return "it is a formula field"
    if child_text(element, "summaryOperation"):
        return "it is a roll-up summary field"
    return ""


def _picklist_not_holdable(element: ET.Element) -> str:
    definitions = [d for v in children(element, "valueSet") for d in children(v, "valueSetDefinition")]
    if not definitions:
        return "its values come from a global value set"
    if any(child_text(v, "controllingField") for v in children(element, "valueSet")):
        return "it is a dependent picklist"
    values = [v for d in definitions for v in children(d, "value") if child_text(v, "isActive") != "false"]
    if not values:
        return "it has no active values"
    if any((child_text(v, "label") or child_text(v, "fullName")) != child_text(v, "fullName") for v in values):
        return "its values' labels differ from their API names"
    return ""


def _field_attrs(element: ET.Element, human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    sf_type = (child_text(element, "type") or "").strip()
    kind = BLUEPRINT_TYPES.get(sf_type, sf_type.lower())
    attrs: dict[str, Any] = {"type": kind, "label": child_text(element, "label"),
                             "help": child_text(element, "inlineHelpText"), "description": human,
                             "api_names": extras.get("api_names")}
    if kind == "text":
        attrs["length"] = child_int(element, "length")
    elif kind in NUMERIC_TYPES:
        attrs.update(precision=child_int(element, "precision"), scale=child_int(element, "scale"))
    elif kind == "checkbox":
        attrs["default"] = True if (child_text(element, "defaultValue") or "").strip().lower() == "true" \
            else extras.get("default")
    elif kind in ("picklist", "multi_picklist"):
        values = []
        for value_set in children(element, "valueSet"):
            for definition in children(value_set, "valueSetDefinition"):
                values = [v for v in children(definition, "value") if child_text(v, "isActive") != "false"]
        attrs["values"] = [child_text(v, "fullName") for v in values]
        attrs["default"] = next((child_text(v, "fullName") for v in values if child_flag(v, "default")), None)
    elif kind == "lookup":
        target = (child_text(element, "referenceTo") or "").strip()
        attrs["to"] = next((k for k, v in OBJECTS.items() if v.lower() == target.lower()), target)
    return attrs


def _stage_attrs(value: Mapping[str, Any], human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    closed, won = bool(value.get("closed")), bool(value.get("won"))
    category = str(value.get("forecastCategory") or "")
    return {"label": value.get("label") or value.get("fullName"), "probability": value.get("probability"),
            "forecast": BLUEPRINT_FORECASTS.get(category, category.lower() or None),
            "outcome": "won" if closed and won else "lost" if closed else "open",
            "max_days": extras.get("max_days"), "description": human}


def listed_org_stages(live: LiveOrg, desired: Model) -> None:
    """Org stage values a managed pipeline lists but sos does not manage ('Closed Won', say) become unmanaged
    stage resources, at the key the pipeline lists them by: an import then writes whole pipelines.

    Addresses `desired` names are left to parse_retrieved's look-alike matching.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for value in live.stage_values:
        if value.get("isActive") is not False:
            by_key.setdefault(_value_key(str(value.get("fullName", ""))), value)
    for pipeline in live.model.of_kind(Kind.PIPELINE):
        for key in pipeline.attrs.get("stages", ()):
            address = Address(Kind.STAGE, pipeline.address.key, str(key))
            listed = by_key.get(str(key))
            if listed is None or address in live.model or address in desired:
                continue
            human = split_description(str(listed.get("description") or ""))[0]
            live.model.add(Resource(address, compact_attrs(_stage_attrs(listed, human, {})), None, managed=False))
            live.names[address] = str(listed["fullName"])


def _value_key(name: str) -> str:
    """The key a pipeline lists an org stage value by when no stage resource has it: 'Closed Won' → closed_won."""
    return re.sub(r"\W+", "_", name.lower()).strip("_")


def requirement_of(address: Address) -> Address:
    """A stage requirement's address: earlier versions of sos marked the rules made from stages' `require` as rules
    keyed `<pipeline>__<stage>__required` (their names are the same, so a plan updates them in place)."""
    if address.kind is Kind.RULE and address.key.endswith(REQUIREMENT_RULE_SUFFIX):
        pipeline, _, stage = address.key.removesuffix(REQUIREMENT_RULE_SUFFIX).partition("__")
        return Address(Kind.STAGE_REQUIREMENT, pipeline, stage)
    return address


def _rule_attrs(address: Address, texts: dict[str, str], message: str | None, description: str) -> dict[str, Any]:
    if address.kind is Kind.STAGE_REQUIREMENT:
        return {"fields": texts.get("fields", "").split(), "stages": texts.get("stages", "").split(),
                "message": message}
    return {"when": texts.get("when"), "require": texts.get("require"), "message": message,
            "description": description}
