"""What the org checks when a component is saved or deleted, one small function per type.

`save(org, candidate)` validates a schema-valid component against the org (which may be
a deploy's working copy) and stores it if nothing is wrong; `delete` removes one. Both
return Problems worded like the Metadata API's where the wording is known (reference
§5-§10); other wordings are the emulator's own. CustomField checks live in fields.py.
"""

from __future__ import annotations

from lxml import etree

from . import assignment, flows, formula, standard
from .fields import add_field_defaults, check_custom_field
from .formula_types import check_condition
from .naming import Candidate, Problem, developer_name_problem, split_child, too_long
from .org import Component, Org, canonical_object
from .xmlutil import child, flag, kids, md, number, set_text, text

FORECAST_OPEN = {"Pipeline", "BestCase", "MostLikely", "Forecast", "Omitted"}


def save(org: Org, candidate: Candidate) -> tuple[list[Problem], bool]:
    """Validate and store; returns (problems, created). Nothing is stored if there are problems."""
    checker = SAVE_CHECKS.get(candidate.type)
    if checker is None:
        return [Problem(f"Not supported by the emulator: metadata type {candidate.type}", "INVALID_TYPE")], False
    problems = checker(org, candidate)
    for problem in problems:
        problem.line = problem.line or candidate.line
    if problems:
        return problems, False
    if candidate.type == "StandardValueSet":
        _merge_value_set(org, candidate)
    if candidate.type == "CustomField" and not candidate.full_name.lower().endswith("__c"):
        return [], False           # a standard field listed in the object file: nothing to store
    if candidate.type == "CustomField":
        add_field_defaults(candidate.body)
    _, created = org.put(candidate.type, candidate.full_name, candidate.body)
    return [], created


# -- ValidationRule -------------------------------------------------------------------


def check_validation_rule(org: Org, candidate: Candidate) -> list[Problem]:
    obj, name, problems = split_child(candidate)
    if problems or obj is None:
        return problems
    message = developer_name_problem(name, "Rule Name")
    if message:
        return [Problem(message)]
    body = candidate.body
    problems += too_long(body, {"errorMessage": 255, "description": 255})
    if not text(body, "errorMessage"):
        problems.append(Problem("Required field is missing: errorMessage", "REQUIRED_FIELD_MISSING"))
    fields = org.object_fields(obj)
    display = text(body, "errorDisplayField")
    if display and display.lower() not in fields:
        problems.append(Problem(f"Error display field {display} does not exist on {obj}", "INVALID_FIELD"))
    condition = text(body, "errorConditionFormula") or ""
    found = formula.check(condition, obj, org.object_fields) or check_condition(condition, obj, org.object_fields)
    return problems + [Problem(p, "FORMULA_EXPRESSION_INVALID") for p in found]


# -- StandardValueSet -----------------------------------------------------------------


def check_standard_value_set(org: Org, candidate: Candidate) -> list[Problem]:
    name = candidate.full_name
    known = {n.lower(): n for n in standard.VALUE_SET_FIELDS}
    if name.lower() not in known:
        return [Problem(f"Not supported by the emulator: StandardValueSet {name} (only "
                        f"{', '.join(sorted(standard.VALUE_SET_FIELDS))})", "INVALID_CROSS_REFERENCE_KEY")]
    candidate.full_name = name = known[name.lower()]
    values = kids(candidate.body, "standardValue")
    problems: list[Problem] = []
    seen: set[str] = set()   # the values' names, lower-case
    for value in values:
        problems += _standard_value_problems(name, value, seen)
    problems += _active_value_problems(name, values)
    if problems:
        return problems
    usage = org.usage(name)
    obj, field_name = standard.VALUE_SET_FIELDS[name]
    for old in org.value_set(name):
        if old.active and old.full_name.lower() not in seen and usage[old.full_name.lower()]:
            problems.append(Problem(
                f"Cannot delete picklist value '{old.full_name}' of {name}: {usage[old.full_name.lower()]} "
                f"{obj} record(s) use it in {field_name}. Keep it in the file (with <isActive>false</isActive> "
                "to deactivate it) or move the records to another value first.", "DELETE_FAILED"))
    return problems


def _active_value_problems(name: str, values: list[etree._Element]) -> list[Problem]:
    """What the set's active values must include: one default, a converted lead status, an active stage."""
    problems: list[Problem] = []
    active = [v for v in values if flag(v, "isActive", True)]
    defaults = [v for v in active if flag(v, "default")]
    if len(defaults) > 1:
        problems.append(Problem(f"{name}: only one value can be the default"))
    if name == "LeadStatus":
        if len(defaults) != 1:
            problems.append(Problem("LeadStatus: exactly one value must be the default"))
        if not any(flag(v, "converted") for v in active):
            problems.append(Problem("LeadStatus: at least one active value must be converted"))
    if name == "OpportunityStage" and not active:
        problems.append(Problem("OpportunityStage: at least one value must be active"))
    return problems


def _standard_value_problems(set_name: str, value: etree._Element, seen: set[str]) -> list[Problem]:
    """One value's problems; its name joins `seen`."""
    value_name = text(value, "fullName") or ""
    line = value.sourceline
    if not value_name:
        return [Problem("Picklist value: fullName is required", "REQUIRED_FIELD_MISSING", line)]
    problems: list[Problem] = []
    if value_name.lower() in seen:
        problems.append(Problem(f"Duplicate picklist value: {value_name}", "DUPLICATE_VALUE", line))
    seen.add(value_name.lower())
    problems += too_long(value, {"description": 255})
    if set_name == "OpportunityStage":
        problems += _stage_problems(value, value_name, line)
    return problems


def _stage_problems(value: etree._Element, name: str, line: int | None) -> list[Problem]:
    problems = []
    closed, won = flag(value, "closed"), flag(value, "won")
    forecast = text(value, "forecastCategory")
    probability = number(value, "probability")
    if won and not closed:
        problems.append(Problem(f"Stage {name}: a won stage must be closed", line=line))
    if probability is not None and not 0 <= probability <= 100:
        problems.append(Problem(f"Stage {name}: probability must be between 0 and 100 (got {probability})",
                                line=line))
    if forecast is not None:
        if won and forecast != "Closed":
            problems.append(Problem(f"Stage {name}: a won stage must have forecastCategory Closed "
                                    f"(got {forecast})", line=line))
        elif closed and not won and forecast != "Omitted":
            problems.append(Problem(f"Stage {name}: a lost stage must have forecastCategory Omitted "
                                    f"(got {forecast})", line=line))
        elif not closed and forecast not in FORECAST_OPEN:
            problems.append(Problem(f"Stage {name}: an open stage cannot have forecastCategory {forecast}",
                                    line=line))
    return problems


def _merge_value_set(org: Org, candidate: Candidate) -> None:
    """The deployed file is the new active list; old values it omits stay, inactive (reference §6)."""
    listed = {(text(v, "fullName") or "").lower() for v in kids(candidate.body, "standardValue")}
    for old in org.value_set(candidate.full_name):
        if old.full_name.lower() in listed:
            continue
        kept = etree.SubElement(candidate.body, md("standardValue"))
        values: list[tuple[str, object]] = [("fullName", old.full_name), ("default", False), ("isActive", False),
                                            ("label", old.label)]
        if candidate.full_name == "OpportunityStage":
            values += [("closed", old.closed), ("forecastCategory", old.forecast_category),
                       ("probability", old.probability), ("won", old.won)]
        for tag, value in values:
            if value is not None:
                set_text(kept, tag, value)
        if candidate.full_name != "OpportunityStage":
            set_text(kept, "converted", old.converted)
    if child(candidate.body, "sorted") is None:
        set_text(candidate.body, "sorted", False)


# -- BusinessProcess, RecordType ------------------------------------------------------


def check_business_process(org: Org, candidate: Candidate) -> list[Problem]:
    obj, name, problems = split_child(candidate)
    if problems or obj is None:
        return problems
    if not name.strip() or name != name.strip() or len(name) > 80:
        return [Problem(f"Invalid business process name '{name}'")]
    value_set = standard.PROCESS_VALUE_SETS.get(obj)
    if value_set is None:
        return [Problem(f"Not supported by the emulator: business processes on {obj}")]
    problems += too_long(candidate.body, {"description": 255})
    picklist = standard.VALUE_SET_FIELDS[value_set][1]
    active = {v.full_name.lower() for v in org.value_set(value_set) if v.active}
    values = kids(candidate.body, "values")
    if not values:
        problems.append(Problem(f"A business process needs at least one {picklist} value",
                                "REQUIRED_FIELD_MISSING"))
    seen: set[str] = set()
    for value in values:
        value_name = text(value, "fullName") or ""
        if value_name.lower() not in active:
            problems.append(Problem(f"Picklist value: {value_name} in picklist: {picklist} not found",
                                    "INVALID_CROSS_REFERENCE_KEY", value.sourceline))
        if value_name.lower() in seen:
            problems.append(Problem(f"Duplicate picklist value: {value_name}", "DUPLICATE_VALUE", value.sourceline))
        seen.add(value_name.lower())
    if sum(flag(v, "default") for v in values) > 1:
        problems.append(Problem("Only one value of a business process can be the default"))
    return problems


def check_record_type(org: Org, candidate: Candidate) -> list[Problem]:
    obj, name, problems = split_child(candidate)
    if problems or obj is None:
        return problems
    message = developer_name_problem(name, "Record Type Name", 80)
    if message:
        return [Problem(message)]
    body = candidate.body
    problems += too_long(body, {"description": 255})
    label = text(body, "label") or ""
    if not label:
        problems.append(Problem("Must specify a non-empty label for the RecordType", "REQUIRED_FIELD_MISSING"))
    elif len(label) > 80:
        problems.append(Problem(f"Record type label '{label}' is too long: at most 80 characters."))
    process = text(body, "businessProcess")
    if obj in standard.PROCESS_VALUE_SETS and not process:
        problems.append(Problem(f"Required field is missing: businessProcess (record types on {obj} need a "
                                "business process)", "REQUIRED_FIELD_MISSING"))
    if process and org.get("BusinessProcess", f"{obj}.{process}") is None:
        problems.append(Problem(f"In field: businessProcess - no BusinessProcess named {obj}.{process} found",
                                "INVALID_CROSS_REFERENCE_KEY"))
    return problems + _record_type_picklist_problems(org, obj, body)


def _record_type_picklist_problems(org: Org, obj: str, body: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    fields = org.object_fields(obj)
    for picklist in kids(body, "picklistValues"):
        field_name = text(picklist, "picklist") or ""
        info = fields.get(field_name.lower())
        if info is None:
            problems.append(Problem(f"In field: picklist - no CustomField named {obj}.{field_name} found",
                                    "INVALID_CROSS_REFERENCE_KEY", picklist.sourceline))
            continue
        known = {value.lower() for value, _, _, _ in info.picklist_values}
        for value in kids(picklist, "values"):     # a record type offers only values its picklist has
            value_name = text(value, "fullName") or ""
            if value_name.lower() not in known:
                problems.append(Problem(f"Picklist value: {value_name} in picklist: {field_name} not found",
                                        "INVALID_CROSS_REFERENCE_KEY", value.sourceline))
    return problems


# -- PermissionSet --------------------------------------------------------------


def check_permission_set(org: Org, candidate: Candidate) -> list[Problem]:
    message = developer_name_problem(candidate.full_name, "API Name", 80)
    if message:
        return [Problem(message)]
    problems = []
    body = candidate.body
    if not text(body, "label"):
        problems.append(Problem("Must specify a non-empty label for the PermissionSet", "REQUIRED_FIELD_MISSING"))
    for permission in kids(body, "fieldPermissions"):
        reference = text(permission, "field") or ""
        obj, _, name = reference.partition(".")
        info = org.object_fields(obj).get(name.lower()) if canonical_object(obj) else None
        line = permission.sourceline
        if info is None:
            problems.append(Problem(f"In field: field - no CustomField named {reference} found",
                                    "INVALID_CROSS_REFERENCE_KEY", line))
        elif info.required:
            problems.append(Problem(f"You cannot deploy to a required field: {reference}",
                                    "FIELD_INTEGRITY_EXCEPTION", line))
        elif flag(permission, "editable") and not flag(permission, "readable"):
            problems.append(Problem(f"Field permission on {reference}: edit access requires read access", line=line))
    for visibility in kids(body, "recordTypeVisibilities"):
        reference = text(visibility, "recordType") or ""
        if org.get("RecordType", reference) is None:
            problems.append(Problem(f"In field: recordType - no RecordType named {reference} found",
                                    "INVALID_CROSS_REFERENCE_KEY", visibility.sourceline))
    return problems


def check_custom_object(org: Org, candidate: Candidate) -> list[Problem]:
    obj = canonical_object(candidate.full_name)
    if obj is None or not standard.OBJECTS[obj].deployable:
        if candidate.full_name.endswith("__c"):
            return [Problem(f"Not supported by the emulator: custom object {candidate.full_name}", "INVALID_TYPE")]
        return [Problem(f"Cannot find object {candidate.full_name}", "INVALID_CROSS_REFERENCE_KEY")]
    candidate.full_name = obj
    enable = child(candidate.body, "enableHistory")
    if enable is not None:     # the object's "Track Field History" (history.py), as the file says it
        (org.history_enabled.add if flag(candidate.body, "enableHistory") else org.history_enabled.discard)(obj)
    return []


SAVE_CHECKS = {
    "AssignmentRule": assignment.check_rule,
    "CustomField": check_custom_field,
    "ValidationRule": check_validation_rule,
    "StandardValueSet": check_standard_value_set,
    "BusinessProcess": check_business_process,
    "RecordType": check_record_type,
    "PermissionSet": check_permission_set,
    "Flow": flows.check_flow,
    "CustomNotificationType": flows.check_notification_type,
}


# -- deletion -------------------------------------------------------------------------


def delete(org: Org, type_name: str, full_name: str) -> list[Problem]:
    """Delete a component as destructiveChanges or deleteMetadata would."""
    if type_name == "StandardValueSet" or (type_name == "CustomObject" and canonical_object(full_name)):
        return [Problem(f"Cannot delete {type_name} {full_name}: it is a standard component", "DELETE_FAILED")]
    if type_name == "CustomField" and not full_name.lower().endswith("__c"):
        return [Problem(f"Cannot delete standard field {full_name}", "DELETE_FAILED")]
    if type_name not in SAVE_CHECKS:
        return [Problem(f"Not supported by the emulator: deleting {type_name}", "INVALID_TYPE")]
    existing = org.get(type_name, full_name)
    if existing is None:
        return [Problem(f"No {type_name} named: {full_name} found", "NOT_FOUND", warning=True)]
    problems = DELETE_CHECKS.get(type_name, lambda o, c: [])(org, existing)
    if problems:
        return problems
    org.remove(type_name, existing.full_name)
    _forget_references(org, type_name, existing.full_name)
    return []


def _field_in_use(org: Org, component: Component) -> list[Problem]:
    users = []
    for rule in org.of_type("ValidationRule", component.object):
        refs = formula.references(text(rule.body, "errorConditionFormula") or "")
        display = (text(rule.body, "errorDisplayField") or "").lower()
        if component.name.lower() in refs or component.name.lower() == display:
            users.append(f"Validation Rule - {rule.full_name}")
    for other in org.of_type("CustomField", component.object):
        if other.full_name != component.full_name and \
                component.name.lower() in formula.references(text(other.body, "formula") or ""):
            users.append(f"Formula Field - {other.full_name}")
    if users:
        return [Problem("This custom field is referenced elsewhere in salesforce.com. : " + ", ".join(users),
                        "DELETE_FAILED")]
    return []


def _process_in_use(org: Org, component: Component) -> list[Problem]:
    users = [rt.full_name for rt in org.of_type("RecordType", component.object)
             if (text(rt.body, "businessProcess") or "").lower() == component.name.lower()]
    if users:
        return [Problem(f"Business process {component.full_name} is used by record type(s) {', '.join(users)}",
                        "DELETE_FAILED")]
    return []


def _permission_set_assigned(org: Org, component: Component) -> list[Problem]:
    assigned = [a for a in org.records["PermissionSetAssignment"].values() if a.get("PermissionSetId") == component.id]
    if assigned:
        return [Problem(f"Cannot delete permission set {component.full_name}: it is assigned to "
                        f"{len(assigned)} user(s)", "DELETE_FAILED")]
    return []


DELETE_CHECKS = {
    "Flow": flows.delete_problems,
    "CustomField": _field_in_use,
    "BusinessProcess": _process_in_use,
    "PermissionSet": _permission_set_assigned,
}


def _forget_references(org: Org, type_name: str, full_name: str) -> None:
    """Salesforce drops a deleted field or record type from permission sets."""
    entry, key = {"CustomField": ("fieldPermissions", "field"),
                  "RecordType": ("recordTypeVisibilities", "recordType")}.get(type_name, (None, None))
    if entry is None or key is None:
        return
    for permission_set in org.of_type("PermissionSet"):
        for element in kids(permission_set.body, entry):
            if (text(element, key) or "").lower() == full_name.lower():
                permission_set.body.remove(element)
