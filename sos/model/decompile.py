"""Model → blueprint data: what `sos import` writes from a live target.

The inverse of compile: compiling the result gives the same resources back, so
importing and then planning shows no changes.
"""

from __future__ import annotations

from typing import Any

from sos.model.resources import Address, Kind, Model, Resource
from sos.naming import EXIT_SUFFIX

FIELD_KEYS = ("type", "label", "help", "description", "length", "precision", "scale", "values", "default", "to")


def _field(resource: Resource) -> dict[str, Any]:
    attrs = resource.attrs
    data = {k: attrs[k] for k in FIELD_KEYS if k in attrs}
    if "api_names" in attrs:
        names = attrs["api_names"]
        data["api_name"] = names["*"] if list(names) == ["*"] else names
    return data


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
        "rules": {r.address.key: {"object": r.address.scope, **r.attrs} for r in model.of_kind(Kind.RULE)},
        "lead_statuses": [{"key": r.address.key, **_without(dict(r.attrs), "position")}
                          for r in _by_position(model.of_kind(Kind.LEAD_STATUS))],
        "cadences": {r.address.key: dict(r.attrs) for r in model.of_kind(Kind.AUTOMATION)},
        "routing": [{"key": r.address.key, "object": r.address.scope, **_without(dict(r.attrs), "position")}
                    for r in _by_position(model.of_kind(Kind.ASSIGNMENT))],
    }
    return data | {section: items for section, items in sections.items() if items}


def _pipelines(model: Model) -> dict[str, Any]:
    """Each pipeline with its stages in order, each with the fields its requirement names."""
    pipelines = {}
    for r in model.of_kind(Kind.PIPELINE):
        stages = []
        for key in r.attrs.get("stages", []):
            stage = model.get(Address(Kind.STAGE, r.address.key, key))
            attrs = dict(stage.attrs) if stage else {}
            stage_data = {"key": key, **attrs}
            for name, suffix in (("require", ""), ("require_to_leave", EXIT_SUFFIX)):
                requirement = model.get(Address(Kind.STAGE_REQUIREMENT, r.address.key, key + suffix))
                if requirement is not None and requirement.attrs.get("fields"):
                    stage_data[name] = list(requirement.attrs["fields"])
                    if requirement.attrs.get("enforce"):
                        stage_data["enforce"] = requirement.attrs["enforce"]
            stages.append(stage_data)
        pipelines[r.address.key] = {**_without(dict(r.attrs), "stages"), "object": r.address.scope, "stages": stages}
    return pipelines

