"""The resolved blueprint: typed, merged, every item remembering its origin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from sos.blueprint.yaml import Node
from sos.errors import Span
from sos.expr.annotate import TypedExpr
from sos.expr.ast import Expr
from sos.expr.types import Scope

OBJECTS = ("lead", "contact", "account", "opportunity")
NUMBER_DEFAULTS = {"number": (18, 0), "currency": (18, 2), "percent": (5, 2)}  # (precision, scale) when not set


@dataclass(frozen=True, slots=True)
class Field:
    object: str
    key: str
    type: str
    label: str
    origin: Span
    help: str = ""
    description: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    values: tuple[str, ...] = ()
    default: bool | str | None = None
    to: str | None = None
    api_names: Mapping[str, str] = field(default_factory=dict)  # backend type → CRM name
    renamed_from: str | None = None  # the key it had before (`renamed_from:`)
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    probability: int
    forecast: str
    outcome: str  # open | won | lost
    origin: Span
    max_days: int | None = None
    require: tuple[str, ...] = ()
    require_to_leave: tuple[str, ...] = ()
    enforce: str = "on_stage_change"  # when `require` bites: always | on_stage_change | audit
    description: str = ""
    renamed_from: str | None = None  # the key it had before (`renamed_from:`)
    node: Node | None = field(default=None, compare=False, repr=False)

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"


@dataclass(frozen=True, slots=True)
class Pipeline:
    key: str
    label: str
    object: str
    stages: tuple[Stage, ...]
    origin: Span
    description: str = ""
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    object: str
    when: Expr | None
    require: Expr
    when_text: str
    require_text: str
    message: str
    origin: Span
    enforce: str = "always"  # always | on_stage_change | audit
    description: str = ""
    renamed_from: str | None = None  # the key it had before (`renamed_from:`)
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LeadStatus:
    key: str
    label: str
    origin: Span
    default: bool = False
    converted: bool = False
    description: str = ""
    renamed_from: str | None = None  # the key it had before (`renamed_from:`)
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Cadence:
    key: str
    trigger: Mapping[str, object] | None
    schedule: Mapping[str, object] | None
    action: Mapping[str, Any]  # create_task and notify take a map, report a name
    origin: Span
    when: Expr | None = None
    when_text: str = ""
    description: str = ""
    node: Node | None = field(default=None, compare=False, repr=False)

    @property
    def scope(self) -> str:
        """The object whose records trigger it (what its `when` reads), or 'schedule' when a timer runs it."""
        trigger = self.trigger or {}
        if "record_created" in trigger:
            return str(trigger["record_created"])
        if "status_entered" in trigger:
            return "lead"
        return "opportunity" if trigger else "schedule"


@dataclass(frozen=True, slots=True)
class Route:
    key: str
    object: str
    assign_to: Mapping[str, Any]
    origin: Span
    when: Expr | None = None
    when_text: str = ""
    description: str = ""
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Handoff:
    """When a deal reaches `stage`, what `sos handoff run` creates in a project-management tool (`tool`)."""

    key: str
    stage: str
    tool: str
    name: str
    origin: Span
    pipeline: str | None = None
    fields: tuple[str, ...] = ()
    assign_to: Mapping[str, str] = field(default_factory=dict)   # {user: email} | {team: gid}
    settings: Mapping[str, str] = field(default_factory=dict)    # the tool's own: team, template, project, list…
    link_field: str = ""
    description: str = ""
    node: Node | None = field(default=None, compare=False, repr=False)


DEFAULT_HANDOFF_NAME = "{account} — {name}"
HANDOFF_SETTINGS = ("team", "template", "project", "issue_type", "list")


@dataclass(frozen=True, slots=True)
class Blueprint:
    name: str
    description: str
    origin: Span
    fields: Mapping[str, Mapping[str, Field]]  # object → key → Field
    pipelines: Mapping[str, Pipeline]
    rules: Mapping[str, Rule]
    lead_statuses: tuple[LeadStatus, ...]
    cadences: Mapping[str, Cadence]
    routing: tuple[Route, ...]
    handoffs: Mapping[str, Handoff] = field(default_factory=dict)
    forecast_target: Mapping[str, float] = field(default_factory=dict)   # period (month, quarter) → the number
    files: tuple[str, ...] = ()  # every file that went into it, the blueprint itself first
    starters: Mapping[str, str] = field(default_factory=dict)   # the digest of each starter it extends
    # Each expression type-checked once per object it is read on (scope.typed_expr fills it), for the model.
    typed: dict[tuple[str, Expr], TypedExpr] = field(default_factory=dict, compare=False, repr=False)
    scopes: dict[str, Scope] = field(default_factory=dict, compare=False, repr=False)  # scope.scope_for's, by object

    def all_fields(self) -> list[Field]:
        return [f for obj in OBJECTS for f in self.fields.get(obj, {}).values()]
