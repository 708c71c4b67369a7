"""What an expression on an object may read, from a resolved blueprint."""

from __future__ import annotations

from sos.blueprint.types import Blueprint
from sos.errors import Diagnostic
from sos.expr import types as expr_types
from sos.expr.annotate import TypedExpr, annotate
from sos.expr.ast import Expr
from sos.expr.types import Scope, StageInfo, StatusInfo, type_for_field


def standard_field_names(obj: str) -> set[str]:
    return set(expr_types.STANDARD_FIELD_TYPES.get(obj, {}))


def scope_for(bp: Blueprint, obj: str) -> Scope:
    """The scope of a rule, cadence or route on `obj`: its fields, and every pipeline's stages in order (made once
    per blueprint and object)."""
    if obj not in bp.scopes:
        bp.scopes[obj] = _scope(bp, obj)
    return bp.scopes[obj]


def _scope(bp: Blueprint, obj: str) -> Scope:
    custom = {f.key: type_for_field(f.type, values=f.values, to=f.to or "")
              for f in bp.fields.get(obj, {}).values()}
    stages: dict[str, StageInfo] = {}
    for pipeline in bp.pipelines.values():
        if pipeline.object == obj:
            for stage in pipeline.stages:
                stages.setdefault(stage.key, StageInfo(stage.key, stage.outcome))  # type: ignore[arg-type]
    statuses = [StatusInfo(s.key, s.converted) for s in bp.lead_statuses] if obj == "lead" else []
    return expr_types.scope_for(obj, custom, stages=stages.values(), statuses=statuses)


def typed_expr(bp: Blueprint, expr: Expr, obj: str) -> tuple[TypedExpr, list[Diagnostic]]:
    """`expr` (a condition on `obj`) type-checked, and its problems; checked once per blueprint (its problems
    are returned the first time only)."""
    found = bp.typed.get((obj, expr))    # one expression may be aliased into conditions on two objects
    if found is not None:
        return found, []
    typed, problems = annotate(expr, scope_for(bp, obj))
    bp.typed[(obj, expr)] = typed
    return typed, problems
