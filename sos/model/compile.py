"""Blueprint → Model: the desired resources, CRM-neutral, each keeping its blueprint origin."""

from __future__ import annotations

from typing import Any

from sos.blueprint.build import title_case
from sos.blueprint.types import NUMBER_DEFAULTS, Blueprint, Field, Pipeline, Stage
from sos.expr.dialects.canonical import to_text
from sos.errors import Span
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs, requirement_rule_key



def field_attrs(field: Field) -> dict[str, Any]:
    precision, scale = NUMBER_DEFAULTS.get(field.type, (None, None))
    return compact_attrs({
        "type": field.type, "label": field.label, "help": field.help, "description": field.description,
        "length": field.length or (255 if field.type == "text" else None),
        "precision": field.precision or precision,
        "scale": field.scale if field.scale is not None else scale,
        "values": list(field.values), "default": field.default, "to": field.to,
        "api_names": dict(sorted(field.api_names.items())) or None,
    })


def requirement_stages(pipeline: Pipeline, stage: Stage) -> list[str]:
    """Where a stage's `require` holds: the stage, every later open stage and the won stages.

    A lost stage's requirements hold only in that stage.
    """
    if not stage.is_open:
        return [stage.key]
    index = pipeline.stages.index(stage)
    return [s.key for position, s in enumerate(pipeline.stages)
            if s is stage or (s.is_open and position > index) or s.outcome == "won"]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def stage_requirement_rule(bp: Blueprint, pipeline: Pipeline, stage: Stage) -> dict[str, Any]:
    fields = bp.fields.get(pipeline.object, {})
    checks = [f"{key} == true" if key in fields and fields[key].type == "checkbox" else f"not is_blank({key})"
              for key in stage.require]
    stages = ", ".join(_quote(key) for key in requirement_stages(pipeline, stage))
    labels = [fields[key].label if key in fields else title_case(key) for key in stage.require]
    return {
        "when": f"stage in [{stages}]",
        "require": " and ".join(checks),
        "message": f"{stage.label} needs: {', '.join(labels)}."[:255],
    }


def compile_model(bp: Blueprint) -> Model:
    """The resources a CRM needs for `bp`. Expressions are stored as canonical text."""
    model = Model()
    for field in bp.all_fields():
        model.add(Resource(Address(Kind.FIELD, field.object, field.key), field_attrs(field), field.origin,
                           spans={key: child.span for key, child in field.node.items()} if field.node else {}))
    for pipeline in bp.pipelines.values():
        model.add(Resource(Address(Kind.PIPELINE, pipeline.object, pipeline.key),
                           compact_attrs({"label": pipeline.label, "description": pipeline.description,
                                     "stages": [s.key for s in pipeline.stages]}), pipeline.origin))
        for stage in pipeline.stages:
            model.add(Resource(Address(Kind.STAGE, pipeline.key, stage.key), compact_attrs({
                "label": stage.label, "probability": stage.probability, "forecast": stage.forecast,
                "outcome": stage.outcome, "max_days": stage.max_days, "description": stage.description,
            }), stage.origin))
            if stage.require:
                key = requirement_rule_key(pipeline.key, stage.key)
                model.add(Resource(Address(Kind.RULE, pipeline.object, key),
                                   stage_requirement_rule(bp, pipeline, stage), _require_span(stage)))
    for position, status in enumerate(bp.lead_statuses):
        model.add(Resource(Address(Kind.LEAD_STATUS, "lead", status.key), compact_attrs({
            "label": status.label, "default": status.default, "converted": status.converted,
            "description": status.description, "position": position,
        }), status.origin))
    for rule in bp.rules.values():
        model.add(Resource(Address(Kind.RULE, rule.object, rule.key), compact_attrs({
            "when": to_text(rule.when) if rule.when else None, "require": to_text(rule.require),
            "message": rule.message, "description": rule.description,
        }), rule.origin))
    for cadence in bp.cadences.values():
        model.add(Resource(Address(Kind.CADENCE, cadence.scope, cadence.key), compact_attrs({
            "trigger": cadence.trigger, "schedule": cadence.schedule, "action": cadence.action,
            "when": to_text(cadence.when) if cadence.when else None, "description": cadence.description,
        }), cadence.origin))
    for position, route in enumerate(bp.routing):
        model.add(Resource(Address(Kind.ROUTE, route.object, route.key), compact_attrs({
            "when": to_text(route.when) if route.when else None, "assign_to": route.assign_to,
            "description": route.description, "position": position,
        }), route.origin))
    return model


def _require_span(stage: Stage) -> Span:
    node = stage.node.get("require") if stage.node else None
    return node.span if node is not None else stage.origin
