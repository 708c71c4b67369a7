"""Whether a plan's changes follow from the live state a backend reads at apply time, whatever the plan says.

A saved plan is a file anyone between `sos plan` and `sos apply` could edit (a CI artifact). Each
backend calls `mismatches` on the state it has just read, before it writes anything: sos then
creates only what is absent, and updates or deletes only what it created itself, as it stands.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from collections.abc import Mapping

from sos.errors import Diagnostic, SosError
from sos.model.resources import Model
from sos.plan.change import Action, Change, Plan, held_stages, keep_stages

FIX = "run `sos plan` again and apply the plan it makes; a saved plan must not be edited"


def refuse_mismatches(plan: Plan, live: Model, desired: Model | None = None) -> None:
    """Raise SosError (nothing applied) when a change of `plan` does not follow from `live` (and `desired`)."""
    problems = [Diagnostic(plan.written_at.get(c.address, c.origin),
                           f"this plan cannot be applied: it {_verb(c)} {c.address}, {why}", "plan-mismatch",
                           why="the CRM (or the blueprint) does not say what the plan says", fix=FIX)
                for c in plan.changes if (why := _mismatch(plan, c, live, desired))]
    if problems:
        raise SosError(problems)


def _mismatch(plan: Plan, change: Change, live: Model, desired: Model | None) -> str:
    """Why `change` does not follow from the states, or ''."""
    renamed = change.renamed_from if change.action is Action.UPDATE else None
    if renamed is not None and change.address in live:
        return f"renaming {renamed}, but the CRM already holds the new key"
    have = live.get(renamed or change.address)
    if change.action is Action.CREATE and have is not None:
        owner = "sos manages" if have.managed else "sos did not create"
        return f"which the CRM already holds ({owner})"
    if change.action is not Action.CREATE:
        if have is None:
            return "which the CRM does not hold"
        if have.managed != (change.action is not Action.ADOPT):
            return "which sos did not create (`--adopt` takes it under management)" if not have.managed \
                else "which sos already manages"
        if not _same(have.attrs, change.before):
            return "but the CRM holds it otherwise than the plan says"
    if desired is not None:
        want = desired.get(change.address)
        if change.action is Action.DELETE and want is not None:
            return "which the blueprint the plan was made from keeps"
        if change.action is not Action.DELETE and (want is None or not _same(_wanted(plan, change, want.attrs),
                                                                             change.after)):
            return "otherwise than the blueprint the plan was made from says"
    return ""


def _wanted(plan: Plan, change: Change, attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the blueprint asks of a changed resource, as a plan applied without --allow-delete asks it."""
    held = held_stages(plan, replace(change, after=attrs))
    return keep_stages(attrs, change.before or {}, held) if held else attrs


def _verb(change: Change) -> str:
    return {Action.CREATE: "creates", Action.UPDATE: "changes", Action.DELETE: "deletes",
            Action.ADOPT: "adopts"}[change.action]


def _same(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> bool:
    """Equal as JSON (a saved plan turns tuples into lists)."""
    return json.dumps(left, sort_keys=True, default=str) == json.dumps(right, sort_keys=True, default=str)
