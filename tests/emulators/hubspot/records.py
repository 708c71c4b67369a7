"""CRM records of deals, contacts and companies: `/crm/v3/objects/{objectType}` create, read, update, archive, list
with `after` paging, and search (`/crm/v3/objects/{objectType}/search`).

Sources: the objects guides (developers.hubspot.com/docs/api/crm/deals, .../contacts, .../companies: default
properties, `pipeline` defaulting to the default pipeline, list `limit` up to 100) and the search guide
(developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm, "Limits": "a maximum of five filterGroups
with up to six filters in each group, with a maximum of 18 filters in total", "The maximum number of supported
objects per page is 200", "limited to 10,000 total results for any given query. Attempting to page beyond 10,000
will result in a 400 error", default page size 10). The 2024 changelog allowed 10 filters a group and 25 in all;
the stricter current guide is followed.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ApiError, conflict, invalid, not_found, required
from .portal import CREATED, DEFAULT_PROPERTIES, MODIFIED, Portal, iso
from .request import Reply, Request

LIST_LIMIT = 100
BATCH_LIMIT = 100   # "up to 100 records per batch read" (the objects guides)
# "Usage of this parameter [propertiesWithHistory] will reduce the maximum number of objects that can be read by a
# single request" (the objects' OpenAPI spec); 50 per the objects guides (UNVERIFIED number).
HISTORY_LIST_LIMIT = 50
SEARCH_LIMIT = 200
SEARCH_CEILING = 10_000
MAX_GROUPS, MAX_GROUP_FILTERS, MAX_FILTERS = 5, 6, 18
# UNVERIFIED: one sort rule per search (older guide text); more are refused.
MAX_SORTS = 1
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
             "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
MAX_QUERY = 3000
# The properties a search `query` looks in (the search guide's "Search for default searchable properties").
SEARCHABLE = {"deals": ("dealname", "pipeline", "dealstage", "description", "dealtype"),
              "contacts": ("firstname", "lastname", "email", "phone", "hs_additional_emails", "fax", "mobilephone",
                           "company", "hs_marketable_until_renewal"),
              "companies": ("website", "phone", "name", "domain")}


# -- handlers -----------------------------------------------------------------------------

def list_records(req: Request) -> Reply:
    object_type = req.params["objectType"]
    with_history = _history_names(req)
    limit = page_limit(req.query.get("limit", "10"), HISTORY_LIST_LIMIT if with_history else LIST_LIMIT)
    archived = req.flag("archived")
    records = sorted((r for r in req.portal.records[object_type].values() if r["archived"] == archived),
                     key=lambda r: int(r["id"]))
    after = req.query.get("after")
    if after is not None:
        if not after.isdigit():
            raise invalid(f"after {after!r} is not a valid paging cursor", field="after")
        records = [r for r in records if int(r["id"]) >= int(after)]
    names = _names(req.portal, object_type, _listed(req.query.get("properties")))
    associated = _listed(req.query.get("associations")) or []
    page = records[:limit]
    reply: dict[str, Any] = {"results": [{**_view(r, names, with_history), **_associations(r, object_type, associated)}
                                         for r in page]}
    if len(records) > limit:
        reply["paging"] = {"next": {"after": records[limit]["id"]}}
    return 200, reply


def create_record(req: Request) -> Reply:
    object_type = req.params["objectType"]
    body = req.json_object()
    if not isinstance(body.get("properties"), dict):
        raise required("properties")
    record = store(req.portal, object_type, body["properties"])
    return 201, _view(record, DEFAULT_PROPERTIES[object_type] + tuple(body["properties"]))


def get_record(req: Request) -> Reply:
    object_type = req.params["objectType"]
    record = _record(req)
    return 200, _view(record, _names(req.portal, object_type, _listed(req.query.get("properties"))),
                      _history_names(req))


def update_record(req: Request) -> Reply:
    object_type = req.params["objectType"]
    record = _record(req)
    body = req.json_object()
    if not isinstance(body.get("properties"), dict):
        raise required("properties")
    values = valid_values(req.portal, object_type, body["properties"], record["properties"])
    _refuse_duplicate_email(req.portal, object_type, values, record["id"])
    write(record, object_type, values, req.portal.now())
    return 200, _view(record, DEFAULT_PROPERTIES[object_type] + tuple(body["properties"]))


def archive_record(req: Request) -> Reply:
    record = _record(req)
    record["archived"] = True
    record["archivedAt"] = req.portal.now()
    return 204, None


def search(req: Request) -> Reply:
    portal, object_type = req.portal, req.params["objectType"]
    body = req.json_object()
    limit = page_limit(body.get("limit", 10), SEARCH_LIMIT)
    offset = page_start(body.get("after", "0"))
    if offset + limit > SEARCH_CEILING:
        raise invalid(f"Search results are limited to {SEARCH_CEILING}; a page past them cannot be read",
                      field="after")
    matchers = _filter_groups(portal, object_type, body.get("filterGroups", []))
    query = _query_matcher(object_type, body.get("query"))
    records = [r for r in portal.records[object_type].values()
               if not r["archived"] and query(r)
               and (not matchers or any(all(m(r) for m in group) for group in matchers))]
    records = _sorted(portal, object_type, records, body.get("sorts", []))
    names = _names(portal, object_type, body.get("properties"))
    page = records[offset:offset + limit]
    reply: dict[str, Any] = {"total": len(records), "results": [_view(r, names) for r in page]}
    if offset + limit < len(records):
        reply["paging"] = {"next": {"after": str(offset + limit)}}
    return 200, reply


def batch_read(req: Request) -> Reply:
    """POST /crm/v3/objects/{objectType}/batch/read {inputs: [{id}], properties, propertiesWithHistory}: the records
    by id (the objects guides, "Retrieve records"; the BatchReadInputSimplePublicObjectId schema), as few as a list
    page reads (100; 50 with history, UNVERIFIED as for the list); ids of no live record answered 207 with an
    OBJECT_NOT_FOUND error naming them (UNVERIFIED message)."""
    portal, object_type = req.portal, req.params["objectType"]
    body = req.json_object()
    requested = body.get("propertiesWithHistory")
    with_history = _names(portal, object_type, requested) if requested else None
    inputs = _batch_inputs(body, HISTORY_LIST_LIMIT if with_history else BATCH_LIMIT,
                           " with propertiesWithHistory" if with_history else "")
    started = portal.now()
    names = _names(portal, object_type, body.get("properties"))
    found, missing = [], []
    for record_id in inputs:
        record = portal.records[object_type].get(record_id)
        if record is None or record["archived"]:
            missing.append(record_id)
        else:
            found.append(_view(record, names, with_history))
    return _batch_answer(portal, started, found, [{
        "status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing},
        "message": f"Could not get some {object_type} objects, they may be deleted or not exist."}] if missing else [])


def _batch_inputs(body: dict[str, Any], most: int, limited: str = "") -> list[str]:
    """The ids a batch read's `inputs` name ([{id}, …]), at most `most` of them."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
        raise required("inputs")
    if len(inputs) > most:
        raise invalid(f"A batch read takes at most {most} inputs{limited}, got {len(inputs)}", field="inputs")
    return [str(i["id"]) for i in inputs]


def _batch_answer(portal: Portal, started: str, results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> Reply:
    """A batch response: 200 with the results, or 207 with the errors beside them (BatchResponse…WithErrors)."""
    reply: dict[str, Any] = {"status": "COMPLETE", "results": results, "requestedAt": started, "startedAt": started,
                             "completedAt": portal.now(), "links": {}}
    if errors:
        reply.update(numErrors=len(errors), errors=errors)
    return (207 if errors else 200), reply


# The v4 associations API ("Associations v4" guide): a batch read takes at most 1,000 ids (the changelog "Bug Fix:
# Batch Read Limit for HubSpot Associations API", from February 2025); each association carries its type, HubSpot's
# own ids for the default ones (task to contact 204, task to deal 216, contact to deal 4, deal to contact 3, as
# integrations quote them; UNVERIFIED; others 0 here).
ASSOCIATIONS_BATCH_LIMIT = 1000
ASSOCIATION_TYPE_IDS = {("tasks", "contacts"): 204, ("tasks", "deals"): 216, ("contacts", "deals"): 4,
                        ("deals", "contacts"): 3}


def read_associations(req: Request) -> Reply:
    """POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read {inputs: [{id}]}: for each id, the
    records of the other type associated with it; an id with none (or of no record) is answered as an error of a
    207 instead (UNVERIFIED category)."""
    portal, source, target = req.portal, req.params["fromObjectType"], req.params["toObjectType"]
    if target not in portal.records:
        raise invalid(f"Unable to infer object type from: {target}", field="toObjectType")
    inputs = _batch_inputs(req.json_object(), ASSOCIATIONS_BATCH_LIMIT)
    started = portal.now()
    results, missing = [], []
    kind = {"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPE_IDS.get((source, target), 0), "label": None}
    for record_id in inputs:
        record = portal.records[source].get(record_id)
        linked = [] if record is None or record["archived"] else record["associations"].get(target, [])
        if linked:
            results.append({"from": {"id": record_id},
                            "to": [{"toObjectId": other, "associationTypes": [kind]} for other in linked]})
        else:
            missing.append(record_id)
    return _batch_answer(portal, started, results, [
        {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"fromObjectId": [i]},
         "message": f"No {target} is associated with {source} {i}."} for i in missing])


# -- storing ------------------------------------------------------------------------------

def write(record: dict[str, Any], object_type: str, values: dict[str, str], at: str,
          user_id: int | None = None) -> None:
    """Checked `values` saved on `record` at `at`, each changed one a new version of its history (by `user_id`, a
    user in HubSpot's UI; None: this API)."""
    for name, value in values.items():
        if record["properties"].get(name) != value:
            record["history"].setdefault(name, []).insert(0, version(value, at, user_id))
    record["properties"].update(values)
    record["updatedAt"] = record["properties"][MODIFIED[object_type]] = at


def store(portal: Portal, object_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check and store a new record (the create call and seeding both come here); `createdate` may be given."""
    if object_type == "deals":
        values = {"pipeline": "default", **values}
        # UNVERIFIED whether HubSpot creates a deal without dealname/dealstage; refused (stricter).
        missing = [name for name in ("dealname", "dealstage") if values.get(name) in (None, "")]
        if missing:
            raise _invalid_values([_problem(name, "REQUIRED", f"{name} is required to create a deal")
                                   for name in missing])
    checked = valid_values(portal, object_type, values, {})
    _refuse_duplicate_email(portal, object_type, checked)
    record_id = portal.new_id()
    checked.setdefault(CREATED[object_type], portal.now())
    checked.update({"hs_object_id": record_id, MODIFIED[object_type]: portal.now()})
    record = {"id": record_id, "properties": checked, "createdAt": checked[CREATED[object_type]],
              "updatedAt": portal.now(), "archived": False, "associations": {},
              "history": {name: [version(value, portal.now())] for name, value in checked.items()}}
    portal.records[object_type][record_id] = record
    return record


def _refuse_duplicate_email(portal: Portal, object_type: str, values: dict[str, str], own_id: str = "") -> None:
    """A contact's email is unique: HubSpot answers 409 {"message": "Contact already exists. Existing ID: 51",
    "category": "CONFLICT"} (quoted in hubspot-api-nodejs issue 545 and many integrations)."""
    email = values.get("email", "").casefold()
    if object_type != "contacts" or not email:
        return
    for record in portal.records["contacts"].values():
        if record["id"] != own_id and not record["archived"] \
                and (record["properties"].get("email") or "").casefold() == email:
            raise conflict(f"Contact already exists. Existing ID: {record['id']}")


def valid_values(portal: Portal, object_type: str, values: dict[str, Any], current: dict[str, str]) -> dict[str, str]:
    """Property values as HubSpot stores them (strings), or 400 naming each bad one."""
    merged = {**current}
    problems: list[dict[str, Any]] = []
    out: dict[str, str] = {}
    for name, raw in values.items():
        prop = portal.properties[object_type].get(name)
        if prop is None or prop["archived"]:
            problems.append(_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            continue
        if prop["modificationMetadata"]["readOnlyValue"]:
            problems.append(_problem(name, "READ_ONLY_VALUE", f"{name} is a read-only property; its value cannot "
                                     "be set"))
            continue
        value = "" if raw is None else (str(raw).lower() if isinstance(raw, bool) else str(raw))
        merged[name] = out[name] = value
    for name, value in out.items():
        problem = _value_problem(portal, object_type, name, value, merged)
        if problem:
            problems.append(_problem(name, *problem))
        else:
            out[name] = normalised(portal.properties[object_type][name]["type"], value)
    if problems:
        raise _invalid_values(problems)
    return out


def _value_problem(portal: Portal, object_type: str, name: str, value: str, values: dict[str, str]) \
        -> tuple[str, str] | None:
    if value == "":
        return None
    prop = portal.properties[object_type][name]
    kind = prop["type"]
    if kind == "number" and _decimal(value) is None:
        return "INVALID_DECIMAL", f"{value} was not a valid number."
    if kind in ("date", "datetime") and _millis(value) is None:
        return "INVALID_DATE", f"{value} is not a valid date (ISO 8601 or milliseconds since the epoch)"
    if kind == "bool" and value not in ("true", "false"):
        return "INVALID_BOOLEAN", f"{value} is not true or false"
    if object_type == "deals" and name == "dealstage":
        pipeline = portal.pipelines["deals"].get(values.get("pipeline", ""))
        stage = pipeline["stages"].get(value) if pipeline and not pipeline["archived"] else None
        if stage is None or stage["archived"]:
            return "INVALID_OPTION", f"{value} is not a valid dealstage of pipeline {values.get('pipeline')}"
        return None
    if kind == "enumeration" and (prop["options"] or name == "pipeline"):
        allowed = {o["value"] for o in portal.options_of(object_type, prop)}
        chosen = value.split(";") if prop["fieldType"] == "checkbox" else [value]
        bad = [v for v in chosen if v not in allowed]
        if bad:
            return "INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {', '.join(sorted(allowed))}"
    return None


def _problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _invalid_values(problems: list[dict[str, Any]]) -> ApiError:
    """HubSpot's answer to bad record values: the problems as JSON in the message, one error each."""
    return ApiError(400, "VALIDATION_ERROR", "Property values were not valid: " + json.dumps(problems),
                    errors=[{"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
                            for p in problems])


def normalised(kind: str, value: str) -> str:
    if kind == "datetime":
        return iso(datetime.fromtimestamp(_millis(value) / 1000, UTC))  # type: ignore[operator]
    if kind == "date":
        return datetime.fromtimestamp(_millis(value) / 1000, UTC).date().isoformat()  # type: ignore[operator]
    return value


# -- search -------------------------------------------------------------------------------

Matcher = Callable[[dict[str, Any]], bool]


def _filter_groups(portal: Portal, object_type: str, groups: Any) -> list[list[Matcher]]:
    if not isinstance(groups, list):
        raise invalid("filterGroups must be a list", field="filterGroups")
    if len(groups) > MAX_GROUPS:
        raise invalid(f"A search takes at most {MAX_GROUPS} filterGroups", field="filterGroups")
    total = 0
    matchers = []
    for i, group in enumerate(groups):
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not filters:
            raise invalid(f"filterGroups[{i}] needs at least one filter", field=f"filterGroups[{i}].filters")
        if len(filters) > MAX_GROUP_FILTERS:
            raise invalid(f"A filter group takes at most {MAX_GROUP_FILTERS} filters",
                          field=f"filterGroups[{i}].filters")
        total += len(filters)
        matchers.append([_matcher(portal, object_type, f, f"filterGroups[{i}].filters[{j}]")
                         for j, f in enumerate(filters)])
    if total > MAX_FILTERS:
        raise invalid(f"A search takes at most {MAX_FILTERS} filters in all, got {total}", field="filterGroups")
    return matchers


def _matcher(portal: Portal, object_type: str, spec: Any, where: str) -> Matcher:
    if not isinstance(spec, dict):
        raise invalid("A filter must be an object", field=where)
    name, operator = str(spec.get("propertyName")), spec.get("operator")
    if operator not in OPERATORS:
        raise invalid(f"Unknown operator {operator}; use one of {', '.join(sorted(OPERATORS))}",
                      field=f"{where}.operator")
    _known(portal, object_type, [name], f"{where}.propertyName")
    key = _sort_key(portal.properties[object_type][name]["type"])

    def value_of(record: dict[str, Any]) -> Any:
        value = record["properties"].get(name) or ""
        return key(value) if value != "" else None

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return (lambda r: value_of(r) is not None) if operator == "HAS_PROPERTY" else (lambda r: value_of(r) is None)
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise required(f"{where}.values")
        wanted = {key(str(v)) for v in values}
        if operator == "IN":
            return lambda r: value_of(r) in wanted
        return lambda r: value_of(r) not in wanted
    if spec.get("value") is None:
        raise required(f"{where}.value")
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = _token_matcher(str(spec["value"]), name)
        return found if operator == "CONTAINS_TOKEN" else (lambda r: not found(r))
    return _comparison(operator, key(str(spec["value"])), spec, where, key, value_of)


def _comparison(operator: str, target: Any, spec: dict[str, Any], where: str, key: Callable[[str], Any],
                value_of: Callable[[dict[str, Any]], Any]) -> Matcher:
    if operator == "BETWEEN":
        if spec.get("highValue") is None:
            raise required(f"{where}.highValue")
        high = key(str(spec["highValue"]))
        return lambda r: value_of(r) is not None and _compare(target, value_of(r), high)
    if operator == "NEQ":
        # UNVERIFIED: records without a value count as "not equal".
        return lambda r: value_of(r) != target
    compare = {"EQ": lambda a, b: a == b, "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b,
               "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b}[operator]
    return lambda r: value_of(r) is not None and _safe(compare, value_of(r), target)


def _compare(low: Any, value: Any, high: Any) -> bool:
    return _safe(lambda a, b: a <= b, low, value) and _safe(lambda a, b: a <= b, value, high)


def _safe(compare: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    try:
        return compare(a, b)
    except TypeError:   # a value of the wrong kind (a word against a number) matches nothing
        return False


def _query_matcher(object_type: str, query: Any) -> Matcher:
    """`query`: every word is the start of a word in one of the object's searchable properties, case ignored
    (UNVERIFIED beyond the guide's "default searchable properties"; at most 3,000 characters, the spec)."""
    if query is None:
        return lambda r: True
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise invalid(f"query must be text of at most {MAX_QUERY} characters", field="query")
    words = query.casefold().split()

    def found(record: dict[str, Any]) -> bool:
        tokens = [t for name in SEARCHABLE[object_type] for t in (record["properties"].get(name) or "").casefold()
                  .split()]
        return all(any(t.startswith(w) for t in tokens) for w in words)
    return found


def _token_matcher(pattern: str, name: str) -> Matcher:
    """CONTAINS_TOKEN: a whole word of the value, `*` a wildcard, case ignored."""
    wanted = pattern.casefold()
    return lambda r: any(fnmatch.fnmatchcase(token, wanted)
                         for token in r["properties"].get(name, "").casefold().split())


def _sort_key(kind: str) -> Callable[[str], Any]:
    """How a property's values compare: numbers as numbers, dates as instants, the rest as text without case."""
    if kind == "number":
        return lambda v: _decimal(v) if _decimal(v) is not None else v
    if kind in ("date", "datetime"):
        return lambda v: _millis(v) if _millis(v) is not None else v
    return lambda v: v.casefold()


def _sorted(portal: Portal, object_type: str, records: list[dict[str, Any]], sorts: Any) -> list[dict[str, Any]]:
    records = sorted(records, key=lambda r: int(r["id"]))
    if not isinstance(sorts, list) or len(sorts) > MAX_SORTS:
        raise invalid(f"A search takes at most {MAX_SORTS} sort", field="sorts")
    for rule in sorts:
        # The guide sends {"propertyName", "direction"}; the OpenAPI spec types a sort as a string, which clients
        # send as "name" or "-name" for descending (hubspot-api-nodejs issue 545; UNVERIFIED in the docs).
        if isinstance(rule, str):
            rule = {"propertyName": rule.removeprefix("-"),
                    "direction": "DESCENDING" if rule.startswith("-") else "ASCENDING"}
        name = str(rule.get("propertyName")) if isinstance(rule, dict) else ""
        direction = rule.get("direction", "ASCENDING") if isinstance(rule, dict) else None
        _known(portal, object_type, [name], "sorts.propertyName")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise invalid("direction must be ASCENDING or DESCENDING", field="sorts.direction")
        key = _sort_key(portal.properties[object_type][name]["type"])
        present = [r for r in records if r["properties"].get(name, "") != ""]
        absent = [r for r in records if r["properties"].get(name, "") == ""]
        present.sort(key=lambda r: key(r["properties"][name]), reverse=direction == "DESCENDING")
        records = present + absent
    return records


# -- helpers ------------------------------------------------------------------------------

def _record(req: Request) -> dict[str, Any]:
    record = req.portal.records[req.params["objectType"]].get(req.params["objectId"])
    if record is None or record["archived"]:
        raise not_found(f"Object not found. objectId {req.params['objectId']} does not exist.")
    return record


def _view(record: dict[str, Any], names: Any, with_history: list[str] | None = None) -> dict[str, Any]:
    shown = {k: v for k, v in record.items() if k not in ("properties", "history", "associations")}
    shown["properties"] = {name: record["properties"].get(name) for name in dict.fromkeys(names)}
    if with_history:
        shown["propertiesWithHistory"] = {name: record["history"].get(name, []) for name in with_history}
    return copy.deepcopy(shown)


def _associations(record: dict[str, Any], object_type: str, associated: list[str]) -> dict[str, Any]:
    """`associations`: "the object types to retrieve associated IDs for"; a type the record has none of is left out
    (UNVERIFIED), each id with its association type label (CollectionResponseAssociatedId: results of {id, type})."""
    label = object_type.removesuffix("s")
    found = {kind: {"results": [{"id": i, "type": f"{label}_to_{kind.removesuffix('s')}"}
                                for i in record["associations"][kind]]}
             for kind in associated if record["associations"].get(kind)}
    return {"associations": found} if found else {}


def version(value: str, timestamp: str, user_id: int | None = None) -> dict[str, Any]:
    """One ValueWithTimestamp (value, timestamp, sourceType required in the spec; updatedByUserId for a change a
    user made in HubSpot, sourceType CRM_UI); a history lists the newest first (UNVERIFIED order)."""
    if user_id is None:
        return {"value": value, "timestamp": timestamp, "sourceType": "API"}
    return {"value": value, "timestamp": timestamp, "sourceType": "CRM_UI", "updatedByUserId": user_id}


def _history_names(req: Request) -> list[str] | None:
    """`propertiesWithHistory`: "If any of the specified properties are not present ... they will be ignored"."""
    requested = _listed(req.query.get("propertiesWithHistory"))
    return _names(req.portal, req.params["objectType"], requested) if requested else None


def _names(portal: Portal, object_type: str, requested: list[Any] | None) -> list[str]:
    """The properties a read returns: the defaults, or the requested ones that exist. "If any of the specified
    properties are not present on the requested object(s), they will be ignored" (the objects' OpenAPI spec); a
    known property without a value comes back as null."""
    if not requested:
        return list(DEFAULT_PROPERTIES[object_type])
    known = portal.properties[object_type]
    return [n for n in requested if isinstance(n, str) and n in known and not known[n]["archived"]]


def _listed(raw: str | None) -> list[Any] | None:
    return [n for n in raw.split(",") if n] if raw else None


def _known(portal: Portal, object_type: str, names: list[Any], where: str) -> None:
    for name in names:
        prop = portal.properties[object_type].get(name) if isinstance(name, str) else None
        if prop is None or prop["archived"]:
            raise invalid(f"There was a problem with the request: property {name!r} does not exist", field=where)


def page_limit(raw: Any, most: int) -> int:
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"limit {raw!r} is not a number", field="limit") from None
    if not 1 <= limit <= most:
        raise invalid(f"limit must be between 1 and {most}, got {limit}", field="limit")
    return limit


def page_start(raw: Any) -> int:
    if not str(raw).isdigit():
        raise invalid(f"after {raw!r} is not a valid paging cursor", field="after")
    return int(str(raw))


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _millis(value: str) -> int | None:
    """ISO 8601 (a date or a date and time) or milliseconds since the epoch."""
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


