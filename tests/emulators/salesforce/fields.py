"""What the org checks when a CustomField is saved: name, label, type options, picklists, lookups."""

from __future__ import annotations

from lxml import etree

from . import formula, standard
from .naming import Candidate, Problem, custom_field_name_problem, developer_name_problem, split_child, too_long
from .org import Org, canonical_object
from .xmlutil import child, flag, kids, md, number, set_text, text

OPTION_ATTRIBUTES = ("length", "precision", "scale", "visibleLines", "valueSet", "referenceTo",
                     "relationshipName", "displayFormat")
# The options each type must have; any other option of OPTION_ATTRIBUTES is refused.
REQUIRED_OPTIONS: dict[str, tuple[str, ...]] = {
    "Text": ("length",), "TextArea": (), "LongTextArea": ("length", "visibleLines"),
    "Html": ("length", "visibleLines"), "EncryptedText": ("length",),
    "Email": (), "Phone": (), "Url": (), "Checkbox": (),
    "Number": ("precision", "scale"), "Currency": ("precision", "scale"), "Percent": ("precision", "scale"),
    "Date": (), "DateTime": (), "Time": (),
    "Picklist": ("valueSet",), "MultiselectPicklist": ("valueSet", "visibleLines"),
    "Lookup": ("referenceTo", "relationshipName"), "AutoNumber": ("displayFormat",),
}
FORMULA_RESULT_TYPES = {"Text", "Number", "Currency", "Percent", "Checkbox", "Date", "DateTime", "Time"}
UNIQUE_TYPES = {"Text", "Number", "Email", "AutoNumber", "EncryptedText"}
LOCKED_TYPES = {"LongTextArea", "Html", "MultiselectPicklist", "Lookup", "MasterDetail", "AutoNumber",
                "EncryptedText"}
RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("Text", "length"): (1, 255),
    ("EncryptedText", "length"): (1, 175),
    ("LongTextArea", "length"): (256, 131072),
    ("Html", "length"): (256, 131072),
    ("LongTextArea", "visibleLines"): (2, 50),
    ("Html", "visibleLines"): (10, 50),
    ("MultiselectPicklist", "visibleLines"): (3, 10),
}


def check_custom_field(org: Org, candidate: Candidate) -> list[Problem]:
    obj, name, problems = split_child(candidate)
    if problems or obj is None:
        return problems
    body = candidate.body
    if not name.lower().endswith("__c"):
        if name.lower() in {f.name.lower() for f in standard.OBJECTS[obj].fields}:
            return []            # customising a standard field: accepted, nothing stored
        message = custom_field_name_problem(name)
        return [Problem(message or f"Invalid field name {name}")]
    message = custom_field_name_problem(name)
    if message:
        return [Problem(message)]
    label = text(body, "label")
    if not label:
        problems.append(Problem("Must specify a non-empty label for the CustomField", "REQUIRED_FIELD_MISSING"))
    elif len(label) > 40:
        problems.append(Problem(f"Field label '{label}' is too long: at most 40 characters."))
    field_type = text(body, "type")
    if not field_type:
        return problems + [Problem("Must specify the type for the CustomField", "REQUIRED_FIELD_MISSING")]
    problems += _field_options(org, obj, name, field_type, body)
    problems += _field_texts(body)
    old = org.get("CustomField", candidate.full_name)
    if old is not None:
        old_type = text(old.body, "type") or ""
        if old_type != field_type and (old_type in LOCKED_TYPES or field_type in LOCKED_TYPES
                                       or (text(old.body, "formula") is None) != (text(body, "formula") is None)):
            problems.append(Problem(f"Cannot change type of field {candidate.full_name} from {old_type} to "
                                    f"{field_type}: delete the field and create it again"))
    return problems


def _field_options(org: Org, obj: str, name: str, field_type: str, body: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    present = {a for a in OPTION_ATTRIBUTES if child(body, a) is not None}
    field_formula = text(body, "formula")
    if field_formula is not None:
        if field_type not in FORMULA_RESULT_TYPES:
            return [Problem(f"Can not specify 'formula' for a CustomField of type {field_type}")]
        must: tuple[str, ...] = ("precision", "scale") if field_type in ("Number", "Currency", "Percent") else ()
        problems += [Problem(f"Formula: {p}", "FORMULA_EXPRESSION_INVALID")
                     for p in formula.check(field_formula, obj, org.object_fields)]
        if text(body, "defaultValue") is not None:
            problems.append(Problem("Can not specify 'defaultValue' for a formula field"))
    elif field_type in ("Summary", "Hierarchy", "MasterDetail"):
        return [Problem(f"Can not create a field of type {field_type} on {obj}")]
    elif field_type not in REQUIRED_OPTIONS:
        return []     # other types (Location, ...): accepted without option checks
    else:
        must = REQUIRED_OPTIONS[field_type]
    return (problems + _option_problems(field_type, present, must, body)
            + _type_problems(org, obj, name, field_type, body, field_formula))


def _option_problems(field_type: str, present: set[str], must: tuple[str, ...], body: etree._Element) -> list[Problem]:
    """The size options the type must have, may not have, and their ranges."""
    problems: list[Problem] = []
    for attribute in must:
        if attribute not in present:
            problems.append(Problem(f"Must specify '{attribute}' for a CustomField of type {field_type}",
                                    "REQUIRED_FIELD_MISSING"))
    for attribute in sorted(present - set(must)):
        problems.append(Problem(f"Can not specify '{attribute}' for a CustomField of type {field_type}"))
    for attribute in ("length", "visibleLines"):
        low_high = RANGES.get((field_type, attribute))
        value = number(body, attribute)
        if low_high and value is not None and not low_high[0] <= value <= low_high[1]:
            problems.append(Problem(f"'{attribute}' must be between {low_high[0]} and {low_high[1]} for a "
                                    f"CustomField of type {field_type} (got {value})"))
    if "precision" in must:
        problems += _precision_problems(body)
    return problems


def _precision_problems(body: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    precision, scale = number(body, "precision"), number(body, "scale")
    if precision is not None and not 1 <= precision <= 18:
        problems.append(Problem(f"'precision' must be between 1 and 18 (got {precision})"))
    if scale is not None and (scale < 0 or (precision is not None and scale > precision)):
        problems.append(Problem("The sum of the length and decimal places must be an integer less than or "
                                f"equal to 18 ('scale' {scale} must be between 0 and 'precision')"))
    return problems


def _checkbox_problems(body: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    default = text(body, "defaultValue")
    if default is None:
        problems.append(Problem("Must specify 'defaultValue' for a CustomField of type Checkbox",
                                "REQUIRED_FIELD_MISSING"))
    elif default.lower() not in ("true", "false"):
        problems.append(Problem(f"'defaultValue' of a Checkbox must be true or false (got '{default}')"))
    if flag(body, "required"):
        problems.append(Problem("Can not specify 'required' for a CustomField of type Checkbox"))
    return problems


def _type_problems(org: Org, obj: str, name: str, field_type: str, body: etree._Element,
                   field_formula: str | None) -> list[Problem]:
    """What only some types allow or need: a checkbox's default, uniqueness, picklist values, a lookup's target."""
    problems: list[Problem] = []
    if field_type == "Checkbox" and field_formula is None:
        problems += _checkbox_problems(body)
    for attribute in ("unique", "externalId"):
        if flag(body, attribute) and field_type not in UNIQUE_TYPES:
            problems.append(Problem(f"Can not specify '{attribute}' for a CustomField of type {field_type}"))
    value_set = child(body, "valueSet")
    if field_type in ("Picklist", "MultiselectPicklist") and value_set is not None:
        problems += _value_set_problems(value_set, field_type)
    if field_type == "Lookup" and field_formula is None:
        problems += _lookup_problems(org, obj, name, body)
    return problems


def _field_texts(body: etree._Element) -> list[Problem]:
    return too_long(body, {"description": 1000, "inlineHelpText": 510})


def _value_set_problems(value_set: etree._Element, field_type: str) -> list[Problem]:
    definition = child(value_set, "valueSetDefinition")
    global_name = text(value_set, "valueSetName")
    if global_name is not None:
        return [Problem(f"In field: valueSetName - no GlobalValueSet named {global_name} found",
                        "INVALID_CROSS_REFERENCE_KEY")]
    values = kids(definition, "value") if definition is not None else []
    if not values:
        return [Problem(f"Must specify at least one picklist value for a CustomField of type {field_type}",
                        "REQUIRED_FIELD_MISSING")]
    problems = []
    seen: set[str] = set()
    for value in values:
        name = text(value, "fullName") or ""
        if not name:
            problems.append(Problem("Picklist value: fullName is required", "REQUIRED_FIELD_MISSING"))
        elif name.lower() in seen:
            problems.append(Problem(f"Duplicate picklist value: {name}", "DUPLICATE_VALUE"))
        elif len(name) > 255:
            problems.append(Problem(f"Picklist value '{name[:40]}...' is longer than 255 characters"))
        elif ";" in name and field_type == "MultiselectPicklist":   # a record stores the chosen values ;-joined
            problems.append(Problem(f"Picklist value '{name}' of a multi-select picklist cannot contain ';'",
                                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"))
        seen.add(name.lower())
    if len(values) > 1000:
        problems.append(Problem("A picklist can have at most 1000 values", "LIMIT_EXCEEDED"))
    defaults = [v for v in values if flag(v, "default")]
    if field_type == "Picklist" and len(defaults) > 1:
        problems.append(Problem("Only one picklist value can be the default"))
    return problems


def _lookup_problems(org: Org, obj: str, name: str, body: etree._Element) -> list[Problem]:
    problems = []
    target = text(body, "referenceTo") or ""
    if target and canonical_object(target) is None:
        problems.append(Problem(f"In field: referenceTo - no CustomObject named {target} found",
                                "INVALID_CROSS_REFERENCE_KEY"))
    relationship = text(body, "relationshipName") or ""
    if relationship:
        message = developer_name_problem(relationship, "Child Relationship Name")
        if message:
            problems.append(Problem(message))
        for other in org.of_type("CustomField"):
            if other.name.lower() == name.lower() and other.object == obj:
                continue
            if (text(other.body, "referenceTo") or "").lower() == target.lower() and \
                    (text(other.body, "relationshipName") or "").lower() == relationship.lower():
                problems.append(Problem(f"Child relationship name {relationship} is already used on {target} by "
                                        f"{other.full_name}", "DUPLICATE_DEVELOPER_NAME"))
    constraint = text(body, "deleteConstraint") or "SetNull"
    if flag(body, "required") and constraint == "SetNull":
        problems.append(Problem("A required lookup field cannot use deleteConstraint SetNull: use Restrict or "
                                "Cascade"))
    return problems


def add_field_defaults(body: etree._Element) -> None:
    """What Salesforce adds on read (reference §10): the retrieve then shows these too."""
    field_type = text(body, "type") or ""
    defaults: list[tuple[str, object]] = [("trackFeedHistory", False), ("trackHistory", False),
                                          ("trackTrending", False)]
    if field_type in UNIQUE_TYPES:
        defaults += [("externalId", False), ("unique", False)]
    if field_type != "Checkbox":
        defaults.append(("required", False))
    for name, value in defaults:
        if child(body, name) is None:
            set_text(body, name, value)
    value_set = child(body, "valueSet")
    definition = child(value_set, "valueSetDefinition") if value_set is not None else None
    if definition is not None and child(definition, "sorted") is None:
        sorted_el = etree.Element(md("sorted"))
        sorted_el.text = "false"
        definition.insert(0, sorted_el)
