"""The merged Node tree → typed Blueprint items; expressions parsed here."""

from __future__ import annotations

from typing import Any

from sos.blueprint.resolve import Merged
from sos.blueprint.types import (
    OBJECTS, Blueprint, Cadence, Field, LeadStatus, Pipeline, Route, Rule, Stage,
)
from sos.blueprint.yaml import Node
from sos.errors import Diagnostics, SosError, Span
from sos.expr.ast import Expr
from sos.expr.parse import parse_expression

DEFAULT_FORECAST = {"open": "pipeline", "won": "closed", "lost": "omitted"}


def title_case(key: str) -> str:
    return " ".join(word.capitalize() for word in key.split("_"))


def _get(node: Node, key: str, default: Any = None) -> Any:
    child = node.get(key)
    return default if child is None else child.to_data()


def expression_locator(node: Node):
    """Map character offsets in an expression scalar to spans in its YAML file."""
    span = node.span
    quote = 1 if node.style in ("'", '"') else 0
    block = node.style in ("|", ">")

    def locate(start: int, end: int) -> Span:
        text = str(node.value)
        line_offset = text.count("\n", 0, start)
        if line_offset == 0 and not block:
            return Span(span.file, span.line, span.col + quote + start, span.line, span.col + quote + end)
        line_start = text.rfind("\n", 0, start) + 1
        line = span.line + line_offset + (1 if block else 0)
        col = start - line_start + (span.col + 2 if block else 1)
        return Span(span.file, line, col, line, col + end - start)

    return locate


class Builder:
    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics

    def expression(self, node: Node | None) -> Expr | None:
        if node is None:
            return None
        try:
            return parse_expression(str(node.value), expression_locator(node))
        except SosError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return None

    def field(self, obj: str, key: str, node: Node) -> Field:
        api_name = _get(node, "api_name")
        api_names = {"*": api_name} if isinstance(api_name, str) else dict(api_name or {})
        return Field(
            object=obj, key=key, type=_get(node, "type"), label=_get(node, "label") or title_case(key),
            origin=node.span, help=_get(node, "help", ""), description=_get(node, "description", ""),
            length=_get(node, "length"), precision=_get(node, "precision"), scale=_get(node, "scale"),
            values=tuple(_get(node, "values", ())), default=_get(node, "default"), to=_get(node, "to"),
            api_names=api_names, node=node,
        )

    def stage(self, node: Node) -> Stage:
        outcome = _get(node, "outcome", "open")
        return Stage(
            key=_get(node, "key"), label=_get(node, "label"), probability=_get(node, "probability"),
            forecast=_get(node, "forecast") or DEFAULT_FORECAST[outcome], outcome=outcome, origin=node.span,
            max_days=_get(node, "max_days"), require=tuple(_get(node, "require", ())),
            description=_get(node, "description", ""), node=node,
        )

    def pipeline(self, key: str, node: Node) -> Pipeline:
        stages = tuple(self.stage(s) for s in node.get("stages").value)
        return Pipeline(key=key, label=_get(node, "label") or title_case(key),
                        object=_get(node, "object", "opportunity"), stages=stages, origin=node.span,
                        description=_get(node, "description", ""), node=node)

    def rule(self, key: str, node: Node) -> Rule | None:
        when = self.expression(node.get("when"))
        require = self.expression(node.get("require"))
        if require is None or (node.get("when") is not None and when is None):
            return None
        return Rule(key=key, object=_get(node, "object"), when=when, require=require,
                    when_text=_get(node, "when", ""), require_text=_get(node, "require"),
                    message=_get(node, "message"), origin=node.span,
                    description=_get(node, "description", ""), node=node)

    def lead_status(self, node: Node) -> LeadStatus:
        return LeadStatus(key=_get(node, "key"), label=_get(node, "label"), origin=node.span,
                          default=_get(node, "default", False), converted=_get(node, "converted", False),
                          description=_get(node, "description", ""), node=node)

    def cadence(self, key: str, node: Node) -> Cadence:
        return Cadence(key=key, trigger=_get(node, "trigger"), schedule=_get(node, "schedule"),
                       action=_get(node, "action"), origin=node.span, when=self.expression(node.get("when")),
                       when_text=_get(node, "when", ""), description=_get(node, "description", ""), node=node)

    def route(self, node: Node) -> Route:
        return Route(key=_get(node, "key"), object=_get(node, "object", "lead"), assign_to=_get(node, "assign_to"),
                     origin=node.span, when=self.expression(node.get("when")), when_text=_get(node, "when", ""),
                     description=_get(node, "description", ""), node=node)


def build_blueprint(merged: Merged, diagnostics: Diagnostics) -> Blueprint:
    """Turn the merged tree into typed items; expression syntax errors go to `diagnostics`."""
    builder = Builder(diagnostics)
    fields = {
        obj: {key: builder.field(obj, key, node) for key, node in merged.fields[obj].items()}
        for obj in OBJECTS if merged.fields.get(obj)
    }
    rules = {key: rule for key, node in merged.maps["rules"].items() if (rule := builder.rule(key, node))}
    return Blueprint(
        name=_get_top(merged, "name"), description=_get_top(merged, "description") or "",
        origin=merged.origin or Span("?", 1, 1), fields=fields,
        pipelines={key: builder.pipeline(key, node) for key, node in merged.maps["pipelines"].items()},
        rules=rules,
        lead_statuses=tuple(builder.lead_status(n) for n in merged.lists["lead_statuses"]),
        cadences={key: builder.cadence(key, node) for key, node in merged.maps["cadences"].items()},
        routing=tuple(builder.route(n) for n in merged.lists["routing"]),
        files=tuple(merged.files),
    )


def _get_top(merged: Merged, key: str) -> Any:
    node = merged.top.get(key)
    return None if node is None else node.to_data()
