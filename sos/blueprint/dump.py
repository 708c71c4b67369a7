"""A resolved Blueprint back to plain data: for `sos show`, golden files and `sos import`."""

from __future__ import annotations

from typing import Any

import yaml

from sos.blueprint.types import Blueprint, Cadence, Field, Handoff, LeadStatus, Pipeline, Route, Rule, Stage

FIELD_OPTIONS = ("label", "help", "description", "renamed_from", "length", "precision", "scale", "values", "default",
                 "to")


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", (), [], {})}


def field_to_data(field: Field) -> dict[str, Any]:
    data: dict[str, Any] = {"type": field.type}
    data.update({option: getattr(field, option) for option in FIELD_OPTIONS})
    data["values"] = list(field.values)
    api_names = dict(field.api_names)
    data["api_name"] = api_names.pop("*", None) if list(api_names) == ["*"] else api_names
    return _compact(data)


def stage_to_data(stage: Stage) -> dict[str, Any]:
    return _compact({"key": stage.key, "label": stage.label, "probability": stage.probability,
                     "forecast": stage.forecast, "outcome": stage.outcome, "max_days": stage.max_days,
                     "require": list(stage.require),
                     "require_to_leave": list(stage.require_to_leave),
                     "enforce": stage.enforce if stage.require or stage.require_to_leave else None,
                     "description": stage.description, "renamed_from": stage.renamed_from})


def pipeline_to_data(pipeline: Pipeline) -> dict[str, Any]:
    return _compact({"label": pipeline.label, "object": pipeline.object, "description": pipeline.description,
                     "stages": [stage_to_data(s) for s in pipeline.stages]})


def rule_to_data(rule: Rule) -> dict[str, Any]:
    return _compact({"object": rule.object, "when": rule.when_text, "require": rule.require_text,
                     "message": rule.message, "enforce": rule.enforce,
                     "description": rule.description, "renamed_from": rule.renamed_from})


def status_to_data(status: LeadStatus) -> dict[str, Any]:
    return _compact({"key": status.key, "label": status.label, "default": status.default or None,
                     "converted": status.converted or None, "description": status.description,
                     "renamed_from": status.renamed_from})


def cadence_to_data(cadence: Cadence) -> dict[str, Any]:
    return _compact({"description": cadence.description, "trigger": cadence.trigger, "when": cadence.when_text,
                     "schedule": cadence.schedule, "action": cadence.action})


def route_to_data(route: Route) -> dict[str, Any]:
    return _compact({"key": route.key, "object": route.object, "description": route.description,
                     "when": route.when_text, "assign_to": route.assign_to})


def handoff_to_data(handoff: Handoff) -> dict[str, Any]:
    return _compact({"description": handoff.description, "stage": handoff.stage, "pipeline": handoff.pipeline,
                     "tool": handoff.tool, "name": handoff.name, "fields": list(handoff.fields),
                     "assign_to": dict(handoff.assign_to), **handoff.settings, "link_field": handoff.link_field})


def blueprint_to_data(bp: Blueprint) -> dict[str, Any]:
    """The blueprint with inheritance applied and defaults filled in, as a standalone document."""
    return _compact({
        "sos": 1,
        "name": bp.name,
        "description": bp.description,
        "forecast_target": dict(bp.forecast_target),
        "fields": {obj: {k: field_to_data(f) for k, f in fields.items()} for obj, fields in bp.fields.items()},
        "pipelines": {k: pipeline_to_data(p) for k, p in bp.pipelines.items()},
        "rules": {k: rule_to_data(r) for k, r in bp.rules.items()},
        "lead_statuses": [status_to_data(s) for s in bp.lead_statuses],
        "cadences": {k: cadence_to_data(c) for k, c in bp.cadences.items()},
        "routing": [route_to_data(r) for r in bp.routing],
        "handoffs": {k: handoff_to_data(h) for k, h in bp.handoffs.items()},
    })


def dump_yaml(data: Any) -> str:
    """YAML that loads back as written (PyYAML quotes strings such as 'Yes' or '1.10')."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
