"""Properties and property groups: `/crm/v3/properties/{objectType}[/groups][/...]` (reference §5).

Rules from the properties guide (developers.hubspot.com/docs/api/crm/properties) and HubSpot's OpenAPI spec
(PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json): required create fields, type/fieldType pairs,
201 on create, DELETE archives (204). Where the reference says UNVERIFIED, the stricter choice is made and marked.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .errors import ApiError, already_exists, invalid, not_found, required
from .portal import EDITABLE_OPTIONS, GROUPS, MIRRORED, Portal
from .request import Reply, Request, integer

# type → valid fieldTypes (the properties guide's table; reference §5).
FIELD_TYPES = {
    "string": {"text", "textarea", "phonenumber", "html", "file", "calculation_equation"},
    "number": {"number", "calculation_equation"},
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
}
# "must be lowercase and shorter than 100 characters" (HubSpot's message, quoted in hubspot-api-nodejs issue 277);
# start with a letter, then letters, digits, underscores: UNVERIFIED exact rule, the strict reading.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,98}$")
MAX_OPTIONS = 5000
# UNVERIFIED: the batch size of the properties batch endpoints; 100, as for the CRM object batch endpoints.
MAX_BATCH = 100
CREATE_FIELDS = {"name", "label", "type", "fieldType", "groupName", "description", "displayOrder", "hidden",
                 "formField", "hasUniqueValue", "options", "calculationFormula", "referencedObjectType",
                 "externalOptions", "dataSensitivity", "showCurrencySymbol"}
UPDATE_FIELDS = CREATE_FIELDS - {"name", "hasUniqueValue", "referencedObjectType"}


# -- groups -------------------------------------------------------------------------------

def list_groups(req: Request) -> Reply:
    groups = req.portal.groups[req.params["objectType"]].values()
    return 200, {"results": [_group_view(g) for g in groups if not g["archived"]]}


def create_group(req: Request) -> Reply:
    body = req.json_object()
    groups = req.portal.groups[req.params["objectType"]]
    for name in ("name", "label"):
        if not body.get(name):
            raise required(name)
    _check_name(body["name"], "name")
    if body["name"] in groups:
        raise already_exists(f"Property group named '{body['name']}' already exists.")
    group = {"name": body["name"], "label": body["label"], "displayOrder": integer(body, "displayOrder", -1),
             "archived": False}
    groups[group["name"]] = group
    return 201, _group_view(group)


def get_group(req: Request) -> Reply:
    return 200, _group_view(_group(req))


def update_group(req: Request) -> Reply:
    body = req.json_object()
    group = _group(req)
    unknown = set(body) - {"label", "displayOrder"}
    if unknown:
        raise invalid(f"Unknown field {sorted(unknown)[0]} for a property group update", field=sorted(unknown)[0])
    if "label" in body and not body["label"]:
        raise required("label")
    group.update(label=body.get("label", group["label"]),
                 displayOrder=integer(body, "displayOrder", group["displayOrder"]))
    return 200, _group_view(group)


def archive_group(req: Request) -> Reply:
    group = _group(req)
    object_type = req.params["objectType"]
    if group["name"] == GROUPS[object_type][0]:
        raise invalid(f"The property group {group['name']} is HubSpot-defined and cannot be archived")
    # UNVERIFIED: whether a group that still holds properties can be archived; refused (stricter).
    holding = [p["name"] for p in req.portal.properties[object_type].values()
               if p["groupName"] == group["name"] and not p["archived"]]
    if holding:
        raise invalid(f"The property group {group['name']} still holds properties: {', '.join(sorted(holding))}")
    group["archived"] = True
    return 204, None


def _group(req: Request) -> dict[str, Any]:
    group = req.portal.groups[req.params["objectType"]].get(req.params["groupName"])
    if group is None or group["archived"]:
        raise not_found(f"Unable to find property group {req.params['groupName']}")
    return group


def _group_view(group: dict[str, Any]) -> dict[str, Any]:
    return {k: group[k] for k in ("name", "label", "displayOrder", "archived")}


# -- properties ---------------------------------------------------------------------------

def list_properties(req: Request) -> Reply:
    object_type = req.params["objectType"]
    archived = req.flag("archived")
    props = req.portal.properties[object_type].values()
    return 200, {"results": [view(req.portal, object_type, p) for p in props if p["archived"] == archived]}


def create_property(req: Request) -> Reply:
    object_type = req.params["objectType"]
    prop = _new_property(req.portal, object_type, req.json_object())
    req.portal.properties[object_type][prop["name"]] = prop
    return 201, view(req.portal, object_type, prop)


def get_property(req: Request) -> Reply:
    object_type = req.params["objectType"]
    return 200, view(req.portal, object_type, _property(req, archived=req.flag("archived")))


def update_property(req: Request) -> Reply:
    object_type = req.params["objectType"]
    prop = _property(req)
    body = req.json_object()
    unknown = set(body) - UPDATE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise invalid(f"{field} cannot be changed by a property update", field=field)
    if prop["hubspotDefined"]:
        _check_built_in_update(prop, body)
    merged = {**prop, **body}
    _check_definition(req.portal, object_type, merged)
    if merged["type"] != prop["type"] and _has_values(req.portal, object_type, prop["name"]):
        # "Changing type of a property that has values is restricted" (reference §5, details UNVERIFIED): refused.
        raise invalid(f"The type of {prop['name']} cannot change while records hold values for it", field="type")
    if "options" in body:
        # The whole list is replaced: options left out disappear (reference §5, "Facts checked in December 2026").
        merged["options"] = _options(body["options"])
    merged["updatedAt"] = req.portal.now()
    req.portal.properties[object_type][prop["name"]] = merged
    return 200, view(req.portal, object_type, merged)


def archive_property(req: Request) -> Reply:
    _archive(req.portal, req.params["objectType"], _property(req))
    return 204, None


def batch_create(req: Request) -> Reply:
    object_type = req.params["objectType"]
    inputs = _inputs(req)
    # An invalid input refuses the whole batch (400). A name already taken (archived properties keep theirs) fails
    # that input alone: the spec answers batch create with 201 or 207 BatchResponsePropertyWithErrors
    # (hubspot-api-client's batch_api.create), so the others are created; when none is, the refusal is the answer.
    # Which failures are per input: UNVERIFIED.
    created, errors, conflicts = [], [], []
    for item in inputs:
        try:
            created.append(_new_property(req.portal, object_type, item, names=[i.get("name") for i in inputs]))
        except ApiError as refused:
            if refused.status != 409:
                raise
            conflicts.append(refused)
            errors.append({**refused.body(), "context": {"name": [str(item.get("name"))]}})
    if conflicts and not created:
        raise conflicts[0]
    started = req.portal.now()
    for prop in created:
        req.portal.properties[object_type][prop["name"]] = prop
    reply = _batch_reply(req.portal, object_type, created, started)
    if not errors:
        return 201, reply
    return 207, {**reply, "numErrors": len(errors), "errors": errors}


def batch_read(req: Request) -> Reply:
    object_type = req.params["objectType"]
    body = req.json_object()
    archived = bool(body.get("archived", False))
    started = req.portal.now()
    found, missing = [], []
    for item in _inputs(req):
        prop = req.portal.properties[object_type].get(str(item.get("name")))
        if prop is None or prop["archived"] != archived:
            missing.append(str(item.get("name")))
        else:
            found.append(prop)
    reply = _batch_reply(req.portal, object_type, found, started)
    if not missing:
        return 200, reply
    reply["numErrors"] = len(missing)
    reply["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"Unable to find property {n}",
                        "context": {"name": [n]}} for n in missing]
    return 207, reply


def batch_archive(req: Request) -> Reply:
    object_type = req.params["objectType"]
    props = []
    for item in _inputs(req):
        prop = req.portal.properties[object_type].get(str(item.get("name")))
        if prop is None or prop["archived"]:
            raise not_found(f"Unable to find property {item.get('name')}")
        props.append(prop)
    for prop in props:
        if not prop["modificationMetadata"]["archivable"]:
            raise _not_archivable(prop)
    for prop in props:
        _archive(req.portal, object_type, prop)
    return 204, None


def view(portal: Portal, object_type: str, prop: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(prop)
    shown["options"] = portal.options_of(object_type, prop)
    return shown


def _new_property(portal: Portal, object_type: str, body: Any, names: list[Any] | None = None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("Invalid input JSON: a property must be an object", code="INVALID_JSON")
    for name in ("name", "label", "type", "fieldType", "groupName"):
        if body.get(name) in (None, ""):
            raise required(name)
    unknown = set(body) - CREATE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise invalid(f"Unrecognized field {field}", field=field)
    name = body["name"]
    _check_name(name, "name")
    if name.startswith("hs_"):
        # UNVERIFIED: the hs_ prefix is reserved for HubSpot-defined properties (reference §5); refused.
        raise invalid(f"Property name {name} uses the reserved prefix hs_", field="name")
    if name in portal.properties[object_type]:
        raise already_exists(f"Property named '{name}' already exists.")
    if names is not None and names.count(name) > 1:
        raise invalid(f"Property name {name} appears more than once in the batch", field="name")
    _check_definition(portal, object_type, body)
    now = portal.now()
    return {
        "name": name, "label": body["label"], "type": body["type"], "fieldType": body["fieldType"],
        "description": body.get("description", ""), "groupName": body["groupName"],
        "options": _options(body.get("options", [])), "displayOrder": integer(body, "displayOrder", -1),
        "calculated": body["fieldType"] == "calculation_equation", "externalOptions": bool(body.get("externalOptions")),
        "hasUniqueValue": bool(body.get("hasUniqueValue")), "hidden": bool(body.get("hidden")),
        "hubspotDefined": False, "formField": bool(body.get("formField")), "archived": False,
        "createdAt": now, "updatedAt": now, "createdUserId": "1234567", "updatedUserId": "1234567",
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        **({"calculationFormula": body["calculationFormula"]} if "calculationFormula" in body else {}),
    }


def _check_definition(portal: Portal, object_type: str, prop: dict[str, Any]) -> None:
    """type/fieldType pair, options where the type needs them, an existing group."""
    kind, field_type = prop["type"], prop["fieldType"]
    if kind not in FIELD_TYPES:
        raise invalid(f"{kind} is not a valid property type; valid types: {', '.join(sorted(FIELD_TYPES))}",
                      field="type")
    if field_type not in FIELD_TYPES[kind]:
        raise invalid(f"fieldType {field_type} is not valid for type {kind}; valid fieldTypes: "
                      f"{', '.join(sorted(FIELD_TYPES[kind]))}", field="fieldType")
    if field_type == "calculation_equation" and not prop.get("calculationFormula"):
        raise required("calculationFormula")
    group = portal.groups[object_type].get(prop["groupName"])
    if group is None or group["archived"]:
        raise invalid(f"Property group {prop['groupName']} does not exist", field="groupName")
    options = _options(prop.get("options") or [])
    if kind == "enumeration" and not options and prop["name"] not in MIRRORED and not prop.get("externalOptions"):
        raise invalid("Enumeration properties need at least one option", field="options")
    if kind == "bool" and {o["value"] for o in options} != {"true", "false"}:
        # UNVERIFIED whether HubSpot requires them (reference §5): required here, the stricter reading.
        raise invalid('bool properties need the options "true" and "false"', field="options")


def _options(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise invalid("options must be a list", field="options")
    if len(raw) > MAX_OPTIONS:
        raise invalid(f"A property can have at most {MAX_OPTIONS} options", field="options")
    options, seen = [], set()
    for i, option in enumerate(raw):
        if not isinstance(option, dict) or not option.get("label") or option.get("value") in (None, ""):
            raise invalid(f"options[{i}] needs a label and a value", field=f"options[{i}]")
        value = str(option["value"])
        if value in seen:
            raise invalid(f"Option value {value} appears more than once", field=f"options[{i}].value")
        seen.add(value)
        shown = {"label": option["label"], "value": value, "displayOrder": integer(option, "displayOrder", -1),
                 "hidden": bool(option.get("hidden", False))}
        if "description" in option:
            shown["description"] = option["description"]
        options.append(shown)
    return options


def _check_built_in_update(prop: dict[str, Any], body: dict[str, Any]) -> None:
    """A HubSpot-defined property keeps its definition; only some let the portal edit their options."""
    if prop["name"] in EDITABLE_OPTIONS and set(body) <= {"options"}:
        return
    raise ApiError(400, "VALIDATION_ERROR", f"The property {prop['name']} is HubSpot-defined; its definition is "
                   "read-only" + (" except its options" if prop["name"] in EDITABLE_OPTIONS else ""),
                   errors=[{"message": "read-only definition", "code": "READ_ONLY_DEFINITION", "in": prop["name"]}])


def _has_values(portal: Portal, object_type: str, name: str) -> bool:
    return any(record["properties"].get(name) not in (None, "") for record in portal.records[object_type].values())


def _archive(portal: Portal, object_type: str, prop: dict[str, Any]) -> None:
    if not prop["modificationMetadata"]["archivable"]:
        raise _not_archivable(prop)
    prop["archived"] = True
    prop["archivedAt"] = portal.now()


def _not_archivable(prop: dict[str, Any]) -> ApiError:
    # The 400 shape is UNVERIFIED (reference §5: "archiving them fails (4xx, UNVERIFIED shape)").
    return ApiError(400, "VALIDATION_ERROR", f"The property {prop['name']} is HubSpot-defined and cannot be archived",
                    errors=[{"message": "not archivable", "code": "NOT_ARCHIVABLE", "in": prop["name"]}])


def _property(req: Request, archived: bool = False) -> dict[str, Any]:
    prop = req.portal.properties[req.params["objectType"]].get(req.params["propertyName"])
    if prop is None or prop["archived"] != archived:
        raise not_found(f"Unable to find property {req.params['propertyName']}")
    return prop


def _inputs(req: Request) -> list[Any]:
    inputs = req.json_object().get("inputs")
    if not isinstance(inputs, list):
        raise required("inputs")
    if len(inputs) > MAX_BATCH:
        raise invalid(f"A batch takes at most {MAX_BATCH} inputs, got {len(inputs)}", field="inputs")
    return inputs


def _batch_reply(portal: Portal, object_type: str, props: list[dict[str, Any]], started: str) -> dict[str, Any]:
    return {"status": "COMPLETE", "results": [view(portal, object_type, p) for p in props], "requestedAt": started,
            "startedAt": started, "completedAt": portal.now(), "links": {}}


def _check_name(name: Any, field: str) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid(f"{name!r} is not a valid name: use lowercase letters, digits and underscores, starting with a "
                      "letter, shorter than 100 characters", field=field)

