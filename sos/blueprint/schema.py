"""JSON Schema validation of loaded YAML, reported at the bad node."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any, cast
from collections.abc import Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from sos.blueprint.vars import WHOLE_REFERENCE
from sos.blueprint.yaml import Node
from sos.errors import Diagnostic, Severity, Span, did_you_mean
from sos.resources import load_schema

_TYPE_WORDS = {
    "string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
    "object": "a map of keys", "array": "a list", "null": "nothing",
}


MAX_PROBLEMS = 500  # per file: enough to show the pattern; finding and diagnosing more only costs time

MISSING_KEY_HINTS = {
    "trigger": "a cadence needs a `trigger:` (an event, e.g. {record_created: lead}) or a `schedule:` (a time)",
}


@cache
def _validator(name: str, partial: bool) -> Draft202012Validator:
    schema = load_schema(name)
    if partial:
        schema = {**_relax(schema), "required": schema.get("required", [])}
    return Draft202012Validator(schema)


def _relax(schema: Any) -> Any:
    """The schema with items' required keys dropped (but `key`), for a file that overrides inherited items.

    Conditions (`if`, `not`) keep theirs: they say what may go together, not what must be there.
    """
    if isinstance(schema, list):
        return [_relax(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    relaxed = {k: (v if k in ("if", "not") else _relax(v)) for k, v in schema.items()}
    if isinstance(schema.get("required"), list):
        relaxed["required"] = [key for key in schema["required"] if key == "key"]
    return relaxed


def validate_node(root: Node, schema_name: str, *, partial: bool = False) -> list[Diagnostic]:
    """Every schema problem in `root`, one Diagnostic each, at the offending node.

    `partial`: `root` is one layer of an `extends` chain, whose items may override
    only some attributes of inherited ones; the merged result is checked in full later.
    """
    errors = _validator(schema_name, partial).iter_errors(root.to_data())
    found: dict[tuple[object, ...], Diagnostic] = {}
    for error in _leaves(errors):
        if (isinstance(error.instance, str) and WHOLE_REFERENCE.match(error.instance)
                and "propertyNames" not in error.relative_schema_path):
            continue    # a variable's value, checked where it is put in (sos.blueprint.vars); a key is not one
        if len(found) >= MAX_PROBLEMS:
            stop = Diagnostic(root.span, f"stopped after {MAX_PROBLEMS} problems; more may follow", "too-many-problems",
                              Severity.WARNING, fix="fix these, then validate again", quote=False)
            return [*found.values(), stop]
        for diagnostic in _diagnose(root, error):
            found.setdefault((diagnostic.span, diagnostic.message), diagnostic)
    return list(found.values())


# The items of a blueprint, by where they sit and the definition each is checked against.
_ITEM_MAPS = {"pipelines": "Pipeline", "rules": "Rule", "cadences": "Cadence"}
_ITEM_LISTS = {"lead_statuses": "LeadStatus", "routing": "Route"}
_CLEAN_ITEMS: set[tuple[str, str]] = set()


def merged_problems(root: Node) -> list[Diagnostic]:
    """validate_node(root, "blueprint") for a whole merged blueprint, quicker when most of its items (fields,
    pipelines, rules, statuses, cadences, routes) are ones other clients share from their starters: each item's data
    is checked against its definition once per process, and the tree around the items on its own. A blueprint that
    breaks either goes through validate_node whole, which says where and why."""
    data = root.to_data()
    if next(_validator_of(_frame_schema()).iter_errors(data), None) is None and \
            all(_clean(definition, item) for definition, item in _items(data)):
        return []
    return validate_node(root, "blueprint")


def _items(data: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for fields in (data.get("fields") or {}).values():
        yield from (("Field", field) for field in fields.values())
    for section, definition in _ITEM_MAPS.items():
        yield from ((definition, item) for item in (data.get(section) or {}).values())
    for section, definition in _ITEM_LISTS.items():
        yield from ((definition, item) for item in data.get(section) or ())


def _clean(definition: str, item: Any) -> bool:
    key = (definition, json.dumps(item, sort_keys=True, default=str))
    if key not in _CLEAN_ITEMS:
        if next(_validator_of(_item_schema(definition)).iter_errors(item), None) is not None:
            return False
        _CLEAN_ITEMS.add(key)
    return True


@cache
def _item_schema(definition: str) -> str:
    schema = load_schema("blueprint")
    return json.dumps({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


@cache
def _frame_schema() -> str:
    """The blueprint schema with every item accepted as it is (each is checked against its definition apart)."""
    schema = copy.deepcopy(load_schema("blueprint"))
    schema["$defs"]["ObjectFields"]["additionalProperties"] = True
    for section in _ITEM_MAPS:
        schema["properties"][section]["additionalProperties"] = True
    for section in _ITEM_LISTS:
        schema["properties"][section]["items"] = True
    return json.dumps(schema)


@cache
def _validator_of(schema: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema))


def _leaves(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """Replace a failed oneOf/anyOf by the error of the branch that came closest."""
    for error in errors:
        if error.context:
            yield from _leaves([best_match(error.context)])
        else:
            yield error


def _where(path: Iterable[Any]) -> str:
    parts: list[str] = []
    for step in path:
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}" if parts else str(step))
    return "".join(parts) or "the top level"


def _diagnose(root: Node, error: ValidationError) -> list[Diagnostic]:
    path = list(error.absolute_path)
    node = root.at(path)
    where = _where(path)
    kind = error.validator
    schema = cast(Mapping[str, Any], error.schema)  # sos's schemas are objects, never bare true/false
    value: Any = error.validator_value
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = [k for k in cast(Mapping[str, Any], error.instance) if k not in allowed]
        return [
            Diagnostic(node.key_span(key), f"unknown key '{key}' in {where}", "unknown-key",
                       fix=did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}")
            for key in extra
        ]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        parent_keys = root.at(path[:-1]).key_spans if path and isinstance(path[-1], str) else {}
        span = parent_keys.get(str(path[-1]), node.span) if parent_keys else node.span  # an item's line is its key's
        return [Diagnostic(span, f"{where} is missing required key '{missing}'", "missing-key",
                           fix=MISSING_KEY_HINTS.get(missing, ""))]
    if "propertyNames" in error.relative_schema_path:
        key = str(error.instance)
        if kind == "maxLength":
            return [_long_key(node.key_span(key), key, value, f"key '{key}'")]
        return [_bad_key(node, error)]
    if kind == "maxLength" and schema.get("title") == "Key":
        return [_long_key(node.span, str(error.instance), value, where)]
    if kind == "type":
        return [_wrong_type(node, error, where)]
    if kind in ("enum", "const"):
        allowed = value if kind == "enum" else [value]
        words = ", ".join(str(a) for a in allowed)
        fix = did_you_mean(str(error.instance), [str(a) for a in allowed]) or f"use one of: {words}"
        return [Diagnostic(node.span, f"{where}: '{node.source or error.instance}' is not allowed here",
                           "bad-value", fix=fix)]
    return [Diagnostic(node.span, f"{where}: {_plain_message(error)}", f"schema-{kind}")]


def _bad_key(node: Node, error: ValidationError) -> Diagnostic:
    key = str(error.instance)
    return Diagnostic(node.key_span(key), f"'{key}' is not a valid key", "bad-key",
                      why="keys are snake_case names: lower-case letters, digits and underscores, "
                          "starting with a letter",
                      fix=f"rename it to '{_snake(key)}'")


def _long_key(span: Span, key: str, limit: int, where: str) -> Diagnostic:
    words, kept = key.split("_"), list[str]()
    while words and len("_".join([*kept, words[0]])) <= limit:
        kept.append(words.pop(0))
    shorter = "_".join(kept) or key[:limit]
    return Diagnostic(span, f"{where} is {len(key)} characters; keys allow at most {limit}", "key-too-long",
                      why="CRM API names are made from keys, and some CRMs allow only 40 characters",
                      fix=f"rename it to '{shorter}', or another name of at most {limit} characters")


def _snake(key: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)  # dealSize → deal_Size
    out = "".join(c.lower() if c.isalnum() else "_" for c in spaced).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out if out[:1].isalpha() else f"x_{out}"


def _wrong_type(node: Node, error: ValidationError, where: str) -> Diagnostic:
    expected: Any = error.validator_value
    expected_list = expected if isinstance(expected, list) else [expected]
    if "string" in expected_list and node.plain and not isinstance(node.value, (dict, list)):
        read_as = ("a boolean" if isinstance(node.value, bool) else "nothing (null)" if node.value is None
                   else "a number")
        return Diagnostic(node.span, f"'{node.source}' is read as {read_as}; quote it", "yaml-unquoted",
                          why="YAML 1.1 turns unquoted Yes/No/On/Off, numbers and ~ into other types",
                          fix=f"write \"{node.source}\"")
    words = " or ".join(_TYPE_WORDS.get(t, str(t)) for t in expected_list)
    return Diagnostic(node.span, f"{where} must be {words}", "wrong-type")


def _plain_message(error: ValidationError) -> str:
    value = error.validator_value
    instance = error.instance
    messages = {
        "minimum": f"{instance} is below the minimum {value}",
        "maximum": f"{instance} is above the maximum {value}",
        "exclusiveMinimum": f"{instance} must be more than {value}",
        "minLength": "must not be empty" if value == 1 else f"must be at least {value} characters",
        "maxLength": f"is {len(str(instance))} characters; the most allowed is {value}",
        "minItems": "must not be empty" if value == 1 else f"needs at least {value} items",
        "maxItems": f"allows at most {value} items",
        "uniqueItems": "has duplicate items",
        "pattern": f"'{instance}' does not have the expected form",
        "minProperties": "must not be empty" if value == 1 else f"needs at least {value} keys",
        "maxProperties": f"allows only {value} of its keys at once" if value == 1 else f"allows at most {value} keys",
        "not": "has a combination of keys that cannot go together",
    }
    return messages.get(str(error.validator), error.message)

