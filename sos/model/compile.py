"""Blueprint → Model: the desired resources, CRM-neutral, each keeping its blueprint origin."""

from __future__ import annotations

from typing import Any

from sos.blueprint.build import title_case
from sos.blueprint.renames import Renamable, renamed_from_span
from sos.blueprint.scope import scope_for, typed_expr
from sos.blueprint.types import NUMBER_DEFAULTS, Blueprint, Field, Handoff, Pipeline, Stage
from sos.blueprint.yaml import Node
from sos.errors import Span
from sos.expr.annotate import TypedExpr
from sos.expr.ast import Expr
from sos.expr.dialects.canonical import to_text
from sos.model.automation import (
    Assignment,
    Automation,
    action_from,
    assignee_from,
    assignment_attrs,
    automation_attrs,
    trigger_from,
)
from sos.model.exprs import requirement_exprs
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs
from sos.naming import EXIT_SUFFIX


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


def requirement(bp: Blueprint, pipeline: Pipeline, stage: Stage, *, leaving: bool = False) -> Resource:
    """The stage's `require` (or, `leaving`, its `require_to_leave`: the same from the next stage on) as its own
    resource: which fields, in which stages, the message reps see; and what that means as an expression, with each
    field at the line that names it."""
    name, required = ("require_to_leave", stage.require_to_leave) if leaving else ("require", stage.require)
    fields = bp.fields.get(pipeline.object, {})
    labels = [fields[key].label if key in fields else title_case(key) for key in required]
    stages = [key for key in requirement_stages(pipeline, stage) if not (leaving and key == stage.key)]
    needs = f"Leaving {stage.label} needs" if leaving else f"{stage.label} needs"
    attrs = {"fields": list(required), "stages": stages, "message": f"{needs}: {', '.join(labels)}."[:255],
             "enforce": stage.enforce}
    node = stage.node.get(name) if stage.node else None
    where = node.span if node is not None else stage.origin
    spans = [item.span for item in node.value] if node is not None and node.is_list else []
    exprs = requirement_exprs(required, stages, scope_for(bp, pipeline.object), where, spans)
    suffix = EXIT_SUFFIX if leaving else ""
    return Resource(Address(Kind.STAGE_REQUIREMENT, pipeline.key, stage.key + suffix), attrs, where, exprs=exprs,
                    renamed_from=stage.renamed_from and stage.renamed_from + suffix)  # it follows its stage


LINK_LABELS = {"asana": "Asana project", "jira": "Jira issue", "clickup": "ClickUp task"}


def handoff_resources(bp: Blueprint) -> dict[Address, Resource]:
    """Each handoff, and the url field its link goes back into when the blueprint does not declare it (sos manages
    it like any field: every plan creates it where the CRM can hold it)."""
    return {r.address: r for handoff in bp.handoffs.values() for r in _handoff(bp, handoff)}


def _handoff(bp: Blueprint, handoff: Handoff) -> list[Resource]:
    attrs = compact_attrs({"stage": handoff.stage, "pipeline": handoff.pipeline, "tool": handoff.tool,
                           "name": handoff.name, "fields": list(handoff.fields), "assign_to": dict(handoff.assign_to),
                           **handoff.settings, "link_field": handoff.link_field, "description": handoff.description})
    resources = [Resource(Address(Kind.HANDOFF, "opportunity", handoff.key), attrs, handoff.origin)]
    if handoff.link_field not in bp.fields.get("opportunity", {}):
        label = LINK_LABELS.get(handoff.tool, "Delivery link")
        resources.append(Resource(Address(Kind.FIELD, "opportunity", handoff.link_field), {
            "type": "url", "label": label, "length": 255,
            "help": f"Written by `sos handoff run` when the deal is handed off ({handoff.key}); do not edit."},
            handoff.origin))
    return resources


def _exprs(bp: Blueprint, obj: str, **exprs: Expr | None) -> dict[str, TypedExpr]:
    return {name: typed_expr(bp, expr, obj)[0] for name, expr in exprs.items() if expr is not None}


def _action_spans(cadence: Node | None) -> dict[str, Span]:
    """Where a cadence names who gets its task or notification (`assign_to:`, `to:`), as its `assignee` span, and
    where a notification's `message:` is, as its `message` span."""
    action = cadence.get("action") if cadence is not None and cadence.is_map else None
    spans: dict[str, Span] = {}
    for name, body in action.items() if action is not None and action.is_map else ():
        for key, span_name in (({"create_task": "assign_to", "notify": "to"}.get(name, ""), "assignee"),
                               ("message" if name == "notify" else "", "message")):
            found = body.get(key) if body.is_map and key else None
            if found is not None:
                spans[span_name] = found.span
    return spans


def _rename_spans(item: Renamable) -> dict[str, Span]:
    return {"renamed_from": renamed_from_span(item)} if item.renamed_from else {}


def compile_model(bp: Blueprint) -> Model:
    """The resources a CRM needs for `bp`: expressions as canonical text in the attributes, typed in `exprs`."""
    model = Model()
    for field in bp.all_fields():
        model.add(Resource(Address(Kind.FIELD, field.object, field.key), field_attrs(field), field.origin,
                           spans={key: child.span for key, child in field.node.items()} if field.node else {},
                           renamed_from=field.renamed_from))
    for pipeline in bp.pipelines.values():
        model.add(Resource(Address(Kind.PIPELINE, pipeline.object, pipeline.key),
                           compact_attrs({"label": pipeline.label, "description": pipeline.description,
                                     "stages": [s.key for s in pipeline.stages]}), pipeline.origin))
        for stage in pipeline.stages:
            model.add(Resource(Address(Kind.STAGE, pipeline.key, stage.key), compact_attrs({
                "label": stage.label, "probability": stage.probability, "forecast": stage.forecast,
                "outcome": stage.outcome, "max_days": stage.max_days, "description": stage.description,
            }), stage.origin, spans=_rename_spans(stage), renamed_from=stage.renamed_from))
            if stage.require:
                model.add(requirement(bp, pipeline, stage))
            if stage.require_to_leave and stage.is_open:
                model.add(requirement(bp, pipeline, stage, leaving=True))
    for position, status in enumerate(bp.lead_statuses):
        model.add(Resource(Address(Kind.LEAD_STATUS, "lead", status.key), compact_attrs({
            "label": status.label, "default": status.default, "converted": status.converted,
            "description": status.description, "position": position,
        }), status.origin, spans=_rename_spans(status), renamed_from=status.renamed_from))
    for rule in bp.rules.values():
        model.add(Resource(Address(Kind.RULE, rule.object, rule.key), compact_attrs({
            "when": to_text(rule.when) if rule.when else None, "require": to_text(rule.require),
            "message": rule.message, "enforce": rule.enforce, "description": rule.description,
        }), rule.origin, exprs=_exprs(bp, rule.object, when=rule.when, require=rule.require),
            spans=_rename_spans(rule), renamed_from=rule.renamed_from))
    for cadence in bp.cadences.values():
        automation = Automation(trigger_from(cadence.trigger, cadence.schedule), action_from(cadence.action),
                                to_text(cadence.when) if cadence.when else None, cadence.description)
        model.add(Resource(Address(Kind.AUTOMATION, cadence.scope, cadence.key), automation_attrs(automation),
                           cadence.origin, exprs=_exprs(bp, cadence.scope, when=cadence.when),
                           spans=_action_spans(cadence.node)))
    for position, route in enumerate(bp.routing):
        assignment = Assignment(assignee_from(route.assign_to), position,  # type: ignore[arg-type]
                                to_text(route.when) if route.when else None, route.description)
        model.add(Resource(Address(Kind.ASSIGNMENT, route.object, route.key), assignment_attrs(assignment),
                           route.origin, exprs=_exprs(bp, route.object, when=route.when),
                           spans={key: child.span for key, child in route.node.items()} if route.node else {}))
    model.resources.update(handoff_resources(bp))
    return model
