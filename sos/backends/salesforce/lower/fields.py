"""FIELD → CustomField, in the object file of its object."""

from __future__ import annotations

from typing import Any

from sos.backends.salesforce.lint import description_with_mark
from sos.backends.salesforce.lower.context import Build, Part
from sos.backends.salesforce.names import (
    FIELD_TYPES,
    NUMERIC_TYPES,
    OBJECTS,
    PLURALS,
    developer_name,
    salesforce_field_name,
)
from sos.backends.salesforce.package import Component, FieldSpec, PicklistValue
from sos.errors import Diagnostic
from sos.model.resources import Address, Kind, Resource

PICKLIST_TYPES = ("picklist", "multi_picklist")
LONG_TEXT_LENGTH, LONG_TEXT_LINES, MULTI_PICKLIST_LINES = 32768, 3, 4


def write(b: Build) -> list[Part]:
    parts = []
    for address in sorted(a for a in b.writes if a.kind is Kind.FIELD):
        spec = field_spec(b, b.resource(address))
        obj = OBJECTS[address.scope]
        parts.append((obj, "fields", spec, Component("CustomField", f"{obj}.{spec.name}", address)))
    return parts


def delete(b: Build, address: Address) -> list[Component]:
    name = b.live.names.get(address) if b.live is not None else None
    return [Component("CustomField", name or f"{OBJECTS[address.scope]}.{salesforce_field_name(address.key)}",
                      address, deleted=True)]


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """A field's drift shows in its attributes; access to it is the permission set's (derived.py)."""


def field_spec(b: Build, resource: Resource) -> FieldSpec:
    attrs, address = resource.attrs, resource.address
    name = b.field_name(resource)
    blueprint_type = str(attrs.get("type"))
    label = str(attrs.get("label") or name[:-3].replace("_", " "))
    description = description_with_mark(b.desired, resource)
    sf_type = FIELD_TYPES.get(blueprint_type)
    if sf_type is None:
        b.problems.append(Diagnostic(resource.origin, f"field {address.scope}.{address.key} has type "
                                     f"'{blueprint_type}', which sos cannot create in Salesforce", "salesforce-type"))
        sf_type = "Text"
    options: dict[str, Any] = {}
    if blueprint_type == "text":
        options["length"] = attrs.get("length") or 255
    elif blueprint_type == "long_text":
        options.update(length=LONG_TEXT_LENGTH, visible_lines=LONG_TEXT_LINES)
    elif blueprint_type in NUMERIC_TYPES:
        options.update(precision=attrs.get("precision"), scale=attrs.get("scale"))
    elif blueprint_type == "checkbox":
        options["default_value"] = "true" if attrs.get("default") is True else "false"
    elif blueprint_type in PICKLIST_TYPES:
        default = attrs.get("default")
        options["picklist_values"] = tuple(PicklistValue(str(v), v == default) for v in attrs.get("values", ()))
        if blueprint_type == "multi_picklist":
            options["visible_lines"] = MULTI_PICKLIST_LINES
    elif blueprint_type == "lookup":
        target = str(attrs.get("to"))
        base = name.removesuffix("__c")
        plural = PLURALS[address.scope]
        options.update(reference_to=OBJECTS.get(target, target),
                       relationship_name=developer_name([base, plural], f"relationship {address}"),
                       relationship_label=f"{plural} ({label})")
    return FieldSpec(name=name, type=sf_type, label=label, description=description,
                     help=str(attrs.get("help") or ""), **options)
