"""The merged Node tree → typed Blueprint items; expressions parsed here."""

from __future__ import annotations

from typing import Any

from sos.blueprint.resolve import Merged
from sos.blueprint.types import (
    DEFAULT_HANDOFF_NAME, HANDOFF_SETTINGS, OBJECTS, Blueprint, Cadence, Field, Handoff, LeadStatus, Pipeline,
    Route, Rule, Stage,
)
from sos.blueprint.yaml import Node
from sos.errors import Diagnostics, SosError, Span
from sos.expr.ast import Expr
from sos.expr.parse import Locate, parse_expression

DEFAULT_FORECAST = {"open": "pipeline", "won": "closed", "lost": "omitted"}


def title_case(key: str) -> str:
    return " ".join(word.capitalize() for word in key.split("_"))


def _get(node: Node, key: str, default: Any = None) -> Any:
    child = node.get(key)
    return default if child is None else child.to_data()


def expression_locator(node: Node) -> Locate:
    """Map character offsets in an expression scalar to spans in its YAML file.

    The scalar's value differs from its text in the file: quotes, `''` and backslash
    escapes, a block scalar's `|`/`>` header and indentation, and line breaks that YAML
    folds into spaces. Each character of the value is found in `node.raw`, in order.
    """
    text = str(node.value)
    places = _value_places(node, text)

    def locate(start: int, end: int) -> Span:
        line, col = places[min(start, len(text))]
        if end <= start:
            return Span(node.span.file, line, col, line, col)
        end_line, end_col = places[min(end, len(text)) - 1]
        return Span(node.span.file, line, col, end_line, end_col + 1)

    return locate


_LINE_BREAKS = "\n\r\x85\u2028\u2029"  # as PyYAML counts lines
_ESCAPE_LENGTHS = {"x": 4, "u": 6, "U": 10}  # a double-quoted escape, backslash included; others are 2


def _value_places(node: Node, text: str) -> list[tuple[int, int]]:
    """(line, column) in the file of every character of `text` (the scalar's value), and of its end."""
    raw, span = node.raw, node.span
    quote = 1 if node.style in ("'", '"') else 0
    on_one_line = [(span.line, span.col + quote + i) for i in range(len(text) + 1)]
    if not raw or not isinstance(node.value, str):  # a node made without its text, or a non-string scalar
        return on_one_line
    coords = _raw_coords(raw, span.line, span.col)
    if node.style in ("|", ">"):  # the content starts on the line after the header (`|-2  # a comment`)
        at = next((i for i, char in enumerate(raw) if char in _LINE_BREAKS), len(raw))
        at += 2 if raw.startswith("\r\n", at) else 1
    else:
        at = quote
    places = []
    for char in text:
        while at < len(raw):
            found = raw[at]
            if node.style == '"' and found == "\\":
                if raw[at + 1 : at + 2] in tuple(_LINE_BREAKS):  # an escaped line break: no character
                    at += 2
                    continue
                places.append(coords[at])
                at += _ESCAPE_LENGTHS.get(raw[at + 1 : at + 2], 2)
                break
            at += 1
            if found == char or (char == " " and found in _LINE_BREAKS):  # a folded line break reads as a space
                places.append(coords[at - 1])
                break
        else:  # not found: the value is not what we think it is (never seen); count from the start
            return on_one_line
    places.append(coords[min(at, len(raw))])
    return places


def _raw_coords(raw: str, line: int, col: int) -> list[tuple[int, int]]:
    """(line, column) of every character of `raw`, which starts at `line`:`col`, and of its end."""
    coords = []
    for i, char in enumerate(raw):
        coords.append((line, col))
        if char in _LINE_BREAKS and not (char == "\r" and raw.startswith("\n", i + 1)):
            line, col = line + 1, 1
        else:
            col += 1
    coords.append((line, col))
    return coords


# Each expression parsed once per process, by its text and where it is written: `sos status` reads the same starters'
# expressions for every client (the nodes are frozen, so clients share them).
_PARSED: dict[tuple[str, Span, str, str | None], Expr] = {}


class Builder:
    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics

    def expression(self, node: Node | None) -> Expr | None:
        if node is None:
            return None
        key = (str(node.value), node.span, node.raw, node.style)
        if key in _PARSED:
            return _PARSED[key]
        try:
            parsed = _PARSED[key] = parse_expression(str(node.value), expression_locator(node))
        except SosError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return None
        return parsed

    def field(self, obj: str, key: str, node: Node) -> Field:
        api_name = _get(node, "api_name")
        api_names = {"*": api_name} if isinstance(api_name, str) else dict(api_name or {})
        return Field(
            object=obj, key=key, type=_get(node, "type"), label=_get(node, "label") or title_case(key),
            origin=node.span, help=_get(node, "help", ""), description=_get(node, "description", ""),
            length=_get(node, "length"), precision=_get(node, "precision"), scale=_get(node, "scale"),
            values=tuple(_get(node, "values", ())), default=_get(node, "default"), to=_get(node, "to"),
            api_names=api_names, renamed_from=_get(node, "renamed_from"), node=node,
        )

    def stage(self, node: Node) -> Stage:
        outcome = _get(node, "outcome", "open")
        return Stage(
            key=_get(node, "key"), label=_get(node, "label"), probability=_get(node, "probability"),
            forecast=_get(node, "forecast") or DEFAULT_FORECAST[outcome], outcome=outcome, origin=node.span,
            max_days=_get(node, "max_days"), require=tuple(_get(node, "require", ())),
            require_to_leave=tuple(_get(node, "require_to_leave", ())),
            enforce=_get(node, "enforce", "on_stage_change"), description=_get(node, "description", ""),
            renamed_from=_get(node, "renamed_from"), node=node,
        )

    def pipeline(self, key: str, node: Node) -> Pipeline:
        stages = tuple(self.stage(s) for s in node["stages"].value)
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
                    message=_get(node, "message"), origin=node.span, enforce=_get(node, "enforce", "always"),
                    description=_get(node, "description", ""), renamed_from=_get(node, "renamed_from"), node=node)

    def lead_status(self, node: Node) -> LeadStatus:
        return LeadStatus(key=_get(node, "key"), label=_get(node, "label"), origin=node.span,
                          default=_get(node, "default", False), converted=_get(node, "converted", False),
                          description=_get(node, "description", ""), renamed_from=_get(node, "renamed_from"),
                          node=node)

    def cadence(self, key: str, node: Node) -> Cadence:
        return Cadence(key=key, trigger=_get(node, "trigger"), schedule=_get(node, "schedule"),
                       action=_get(node, "action"), origin=node.span, when=self.expression(node.get("when")),
                       when_text=_get(node, "when", ""), description=_get(node, "description", ""), node=node)

    def route(self, node: Node) -> Route:
        return Route(key=_get(node, "key"), object=_get(node, "object", "lead"), assign_to=_get(node, "assign_to"),
                     origin=node.span, when=self.expression(node.get("when")), when_text=_get(node, "when", ""),
                     description=_get(node, "description", ""), node=node)

    def handoff(self, key: str, node: Node) -> Handoff:
        return Handoff(key=key, stage=_get(node, "stage"), tool=_get(node, "tool"),
                       name=_get(node, "name", DEFAULT_HANDOFF_NAME), origin=node.span, pipeline=_get(node, "pipeline"),
                       fields=tuple(_get(node, "fields", ())), assign_to=_get(node, "assign_to", {}),
                       settings={k: _get(node, k) for k in HANDOFF_SETTINGS if node.get(k) is not None},
                       link_field=_get(node, "link_field") or f"{key}_link", description=_get(node, "description", ""),
                       node=node)


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
        handoffs={key: builder.handoff(key, node) for key, node in merged.maps["handoffs"].items()},
        files=tuple(merged.files), starters=dict(merged.starters),
        forecast_target={period: float(n) for period, n in (_get_top(merged, "forecast_target") or {}).items()},
    )


def _get_top(merged: Merged, key: str) -> Any:
    node = merged.top.get(key)
    return None if node is None else node.to_data()
