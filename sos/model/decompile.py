"""Model → blueprint data: what `sos import` writes from a live target.

The inverse of compile: compiling the result gives the same resources back, so
importing and then planning shows no changes.
"""

from __future__ import annotations

from typing import Any

from sos.errors import Span
from sos.expr.ast import Name, walk
from sos.expr.parse import parse_expression
from sos.model.resources import Address, Kind, Model, Resource, requirement_rule_key, requirement_rule_stage

FIELD_KEYS = ("type", "label", "help", "description", "length", "precision", "scale", "values", "default", "to")


def _field(resource: Resource) -> dict[str, Any]:
    attrs = resource.attrs
    data = {k: attrs[k] for k in FIELD_KEYS if k in attrs}
    if "api_names" in attrs:
        names = attrs["api_names"]
        data["api_name"] = names["*"] if list(names) == ["*"] else names
    return data


def _is_generated(rule: Resource) -> bool:
    return requirement_rule_stage(rule.address.key) is not None


def _required_fields(rule: Resource) -> list[str]:
    """The fields a generated stage rule checks, in order: `not is_blank(a) and b == true` → [a, b]."""
    expr = parse_expression(str(rule.attrs["require"]), lambda start, end: Span("<live>", 1, start + 1))
    return [node.name for node in walk(expr) if isinstance(node, Name)]


def _by_position(resources: list[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: r.attrs.get("position", 0))


def _without(attrs: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in names}


def model_to_blueprint(model: Model, name: str, description: str = "") -> dict[str, Any]:
    """A standalone blueprint (no extends) holding every resource in `model`."""
    data: dict[str, Any] = {"sos": 1, "name": name}
    if description:
        data["description"] = description
    fields: dict[str, dict[str, Any]] = {}
    for r in model.of_kind(Kind.FIELD):
        fields.setdefault(r.address.scope, {})[r.address.key] = _field(r)
    sections: dict[str, Any] = {
        "fields": fields,
        "pipelines": _pipelines(model),
        "rules": {r.address.key: {"object": r.address.scope, **r.attrs}
                  for r in model.of_kind(Kind.RULE) if not _is_generated(r)},
        "lead_statuses": [{"key": r.address.key, **_without(dict(r.attrs), "position")}
                          for r in _by_position(model.of_kind(Kind.LEAD_STATUS))],
        "cadences": {r.address.key: dict(r.attrs) for r in model.of_kind(Kind.CADENCE)},
        "routing": [{"key": r.address.key, "object": r.address.scope, **_without(dict(r.attrs), "position")}
                    for r in _by_position(model.of_kind(Kind.ROUTE))],
    }
    return data | {section: items for section, items in sections.items() if items}


def _pipelines(model: Model) -> dict[str, Any]:
    """Each pipeline with its stages in order, a stage's required fields read back from its generated rule."""
    requires = {r.address.key: _required_fields(r) for r in model.of_kind(Kind.RULE) if _is_generated(r)}
    pipelines = {}
    for r in model.of_kind(Kind.PIPELINE):
        stages = []
        for key in r.attrs.get("stages", []):
            stage = model.get(Address(Kind.STAGE, r.address.key, key))
            attrs = dict(stage.attrs) if stage else {}
            stage_data = {"key": key, **attrs}
            if (fields_required := requires.get(requirement_rule_key(r.address.key, key))):
                stage_data["require"] = fields_required
            stages.append(stage_data)
        pipelines[r.address.key] = {**_without(dict(r.attrs), "stages"), "object": r.address.scope, "stages": stages}
    return pipelines

