"""The typed expressions of a Model's resources: a stage requirement's meaning as an expression, the scope an
expression on an object reads, and the expressions of a resource read back from plain JSON (a saved plan)."""

from __future__ import annotations

from collections.abc import Sequence

from sos.errors import Diagnostic, SosError, Span
from sos.expr.annotate import TypedExpr, annotate
from sos.expr.ast import BoolOp, Call, Compare, Expr, In, ListExpr, Literal, Logic, Name, Op, Unary, UnaryOp, walk
from sos.expr.parse import parse_expression
from sos.expr.types import Kind as ValueKind
from sos.expr.types import STAGE_FIELDS, Scope, StageInfo, StatusInfo, scope_for, type_for_field
from sos.model.resources import Address, Kind, Model, Resource

EXPRESSION_ATTRS = {Kind.RULE: ("when", "require"), Kind.AUTOMATION: ("when",), Kind.ASSIGNMENT: ("when",)}


def requirement_exprs(fields: Sequence[str], stages: Sequence[str], scope: Scope, where: Span,
                      spans: Sequence[Span] = ()) -> dict[str, TypedExpr]:
    """What a stage requirement means, as a rule would say it: `when` the deal is in one of `stages`, each of
    `fields` is filled in (a checkbox ticked). `spans`: where each field is named (default `where`)."""
    checks: list[Expr] = []
    for key, span in zip(fields, [*spans, *[where] * (len(fields) - len(spans))], strict=True):
        found = scope.fields.get(key)
        name = Name(span, key)
        if found is not None and found.kind is ValueKind.BOOLEAN:
            checks.append(Compare(span, Op.EQ, name, Literal(span, True)))
        else:
            checks.append(Unary(span, UnaryOp.NOT, Call(span, "is_blank", (name,), span)))
    require = checks[0] if len(checks) == 1 else BoolOp(where, Logic.AND, tuple(checks))
    when = In(where, Name(where, "stage"), ListExpr(where, tuple(Literal(where, key) for key in stages)))
    return {"when": annotate(when, scope)[0], "require": annotate(require, scope)[0]}


def requirement_from_rule(when: str, require: str) -> tuple[list[str], list[str]]:
    """(fields, stages) of a stage requirement an earlier sos kept as a rule: `when: stage in ['a', 'b']`,
    `require: not is_blank(f) and c == true`. Raises SosError when the text does not parse."""
    def parsed(text: str) -> Expr:
        return parse_expression(text, lambda start, end: Span("<stored rule>", 1, start + 1))

    return ([node.name for node in walk(parsed(require)) if isinstance(node, Name)],
            [str(node.value) for node in walk(parsed(when)) if isinstance(node, Literal)])


def enforced_when(enforce: str, scope: Scope, where: Span) -> TypedExpr | None:
    """When a rule or stage requirement with `enforce` blocks a save, as a condition on the record and its values
    before the save: None for `always` (every save), `is_new() or is_changed(stage)` (a lead's status) for
    `on_stage_change`, false for `audit` (it never blocks)."""
    if enforce == "always":
        return None
    if enforce == "audit":
        return annotate(Literal(where, False), scope)[0]
    changed = Call(where, "is_changed", (Name(where, STAGE_FIELDS[scope.object]),), where)
    return annotate(BoolOp(where, Logic.OR, (Call(where, "is_new", (), where), changed)), scope)[0]


def model_scope(model: Model, obj: str) -> Scope:
    """What an expression on `obj` may read, from a Model: its fields, its pipelines' stages, the lead statuses."""
    custom = {r.address.key: type_for_field(str(r.attrs.get("type")), values=r.attrs.get("values", ()),
                                            to=str(r.attrs.get("to") or ""))
              for r in model.of_kind(Kind.FIELD) if r.address.scope == obj}
    stages: dict[str, StageInfo] = {}
    for pipeline in model.of_kind(Kind.PIPELINE):
        if pipeline.address.scope != obj:
            continue
        for key in pipeline.attrs.get("stages", ()):
            stage = model.get(Address(Kind.STAGE, pipeline.address.key, key))
            outcome = str(stage.attrs.get("outcome", "open")) if stage is not None else "open"
            stages.setdefault(key, StageInfo(key, outcome if outcome in ("won", "lost") else "open"))  # type: ignore[arg-type]
    statuses = [StatusInfo(r.address.key, bool(r.attrs.get("converted")))
                for r in sorted(model.of_kind(Kind.LEAD_STATUS), key=lambda r: r.attrs.get("position", 0))]
    return scope_for(obj, custom, stages=stages.values(), statuses=statuses if obj == "lead" else ())


def exprs_of(resource: Resource, model: Model, scopes: dict[str, Scope] | None = None) -> dict[str, TypedExpr]:
    """The typed expressions of `resource` (one read back from plain JSON) in the scope `model` gives it, each
    node at the resource's origin. `scopes` keeps each object's scope for the next call on the same model.
    Raises SosError for an expression that does not parse or type-check."""
    scopes = {} if scopes is None else scopes

    def scope_of(obj: str) -> Scope:
        if obj not in scopes:
            scopes[obj] = model_scope(model, obj)
        return scopes[obj]

    address, attrs = resource.address, resource.attrs
    where = resource.origin or Span(str(address), 1, 1)
    if address.kind is Kind.STAGE_REQUIREMENT:
        scope = scope_of(pipeline_object(model, address.scope))
        return requirement_exprs(list(attrs.get("fields", ())), list(attrs.get("stages", ())), scope, where)
    exprs: dict[str, TypedExpr] = {}
    problems: list[Diagnostic] = []
    for name in EXPRESSION_ATTRS.get(address.kind, ()):
        if attrs.get(name):
            try:
                expr = parse_expression(str(attrs[name]), lambda start, end: where)
            except SosError as error:
                problems.extend(error.diagnostics)
                continue
            exprs[name], found = annotate(expr, scope_of(address.scope))
            problems.extend(found)
    if problems:
        raise SosError(sorted(problems, key=Diagnostic.sort_key))
    return exprs


def pipeline_object(model: Model, pipeline: str) -> str:
    """The object whose records go through `pipeline` (opportunity when the Model does not hold it)."""
    return next((r.address.scope for r in model.of_kind(Kind.PIPELINE) if r.address.key == pipeline), "opportunity")
