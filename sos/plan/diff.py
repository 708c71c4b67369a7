"""diff(desired, live) → Plan: what to create, update and delete, in dependency order."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any
from collections.abc import Mapping

from sos import __version__
from sos.errors import Diagnostic, Severity
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan, Unmanaged


def blueprint_digest(desired: Model) -> str:
    return desired.fingerprint()


def _danger(change: Change) -> str:
    kind = change.address.kind
    if kind is Kind.STAGE and change.action is Action.DELETE:
        return "removes a stage: deals in it must move first, and reports that use it lose it"
    if change.renamed_from and change.action is Action.CREATE:
        return (f"{kind.value.replace('_', ' ')} {change.renamed_from.key} is not renamed in place: what records hold "
                "in it stays there until it is deleted")
    if kind is Kind.STAGE and change.renamed_from:
        return f"renames stage {change.renamed_from.key}: reports and list views that filter on it must follow"
    if kind is Kind.FIELD and change.renamed_from:
        return f"renames field {change.renamed_from.key}: formulas, reports and integrations that read it must follow"
    if kind is Kind.STAGE and change.action is Action.UPDATE and _changed(change, "label"):
        return "renames a stage reps and reports know by name"
    if kind is Kind.FIELD and change.action is Action.DELETE:
        return "deletes a field and the data in it"
    if kind is Kind.FIELD and change.action is Action.UPDATE and _changed(change, "type"):
        return "changes a field's type: the CRM may refuse it or lose data"
    if kind is Kind.LEAD_STATUS and change.action is Action.DELETE:
        return "removes a lead status that leads may be in"
    return ""


def _rename(want: Resource, live: Model, desired: Model, cannot_rename: Mapping[Kind, str]) -> Change | None:
    """The change that renames the managed live resource `want` is renamed from, when the target still has it under
    its old key: in place, or (a kind in `cannot_rename`) by creating `want`, saying why."""
    old = want.old_address
    have = live.get(old) if old is not None and old not in desired else None
    if have is None or not have.managed:
        return None
    if want.address.kind in cannot_rename:
        return Change(want.address, Action.CREATE, None, dict(want.attrs), want.origin,
                      reason=cannot_rename[want.address.kind], renamed_from=have.address)
    return Change(want.address, Action.UPDATE, dict(have.attrs), dict(want.attrs), want.origin,
                  renamed_from=have.address)


def _look_alike_note(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    differ = sorted(name for name in set(live) | set(wanted) if live.get(name) != wanted.get(name))
    differs = f"; it differs from the blueprint in {', '.join(differ)}" if differ else ""
    return (f"exists in the CRM but was not created by sos; left alone{differs} "
            "(`--adopt` takes it under management)")


def _changed(change: Change, attr: str) -> bool:
    return (change.before or {}).get(attr) != (change.after or {}).get(attr)


def _order(change: Change) -> tuple[int, int, Address]:
    """Creates and updates go fields-first; deletes come last, rules-first (the reverse)."""
    rank = change.address.kind.rank
    if change.action is Action.DELETE:
        return (1, -rank, change.address)
    return (0, rank, change.address)


def diff(desired: Model, live: Model, *, target: str, target_type: str,
         supported: frozenset[Kind] = frozenset(Kind), notes: Mapping[Kind, str] | None = None,
         drift: Mapping[Address, str] | None = None, live_fingerprint: str | None = None,
         adopt: bool = False, cannot_rename: Mapping[Kind, str] | None = None) -> Plan:
    """The Plan that makes `live` match `desired`.

    Only managed live resources are ever updated or deleted; a live resource that
    sits at a desired address but was not created by sos is reported, not touched.
    With `adopt`, such look-alikes are taken under management instead (ADOPT changes).
    A managed resource in `drift` (changed outside sos in a way its attributes do not show) is updated, with
    the drift as the change's reason. Kinds the target does not support are left out; `cannot_enforce` names
    them, and kinds it holds only in part, each with the target's note from `notes`.
    `live_fingerprint`: the target's own (by default the live Model's).
    A resource renamed from a managed live one the blueprint no longer has is an update of it (a rename in place),
    except for a kind in `cannot_rename`, which the target cannot rename in place (its reason): then the new one is
    created, saying why, and the old one deleted.
    """
    drift = drift or {}
    cannot_rename = cannot_rename or {}
    changes: list[Change] = []
    unmanaged: list[Unmanaged] = []
    unchanged = 0
    for want in desired:
        if want.address.kind not in supported:
            continue
        have = live.get(want.address)
        renamed = _rename(want, live, desired, cannot_rename) if have is None else None
        if renamed is not None:
            changes.append(renamed)
        elif have is None:
            changes.append(Change(want.address, Action.CREATE, None, dict(want.attrs), want.origin))
        elif not have.managed and adopt:
            changes.append(Change(want.address, Action.ADOPT, dict(have.attrs), dict(want.attrs), want.origin))
        elif not have.managed:
            unmanaged.append(Unmanaged(want.address, want.origin, _look_alike_note(have.attrs, want.attrs)))
        elif dict(have.attrs) != dict(want.attrs) or want.address in drift:
            changes.append(Change(want.address, Action.UPDATE, dict(have.attrs), dict(want.attrs), want.origin,
                                  reason=drift.get(want.address)))
        else:
            unchanged += 1
    moved = {c.renamed_from for c in changes if c.action is Action.UPDATE}
    for have in live:
        if have.managed and have.address not in desired and have.address not in moved \
                and have.address.kind in supported:
            changes.append(Change(have.address, Action.DELETE, dict(have.attrs), None, have.origin))
    changes = [_with_danger(c) for c in sorted(changes, key=_order)]
    notes = notes or {}
    noted = sorted({r.address.kind for r in desired if r.address.kind not in supported or r.address.kind in notes},
                   key=lambda k: k.rank)
    cannot = tuple(_not_enforced(kind, len(desired.of_kind(kind)), kind in supported, notes.get(kind))
                   for kind in noted)
    return Plan(target=target, target_type=target_type, changes=tuple(changes),
                blueprint_digest=blueprint_digest(desired),
                live_fingerprint=live.fingerprint() if live_fingerprint is None else live_fingerprint,
                unchanged=unchanged, unmanaged=tuple(unmanaged), cannot_enforce=cannot, sos_version=__version__)


PLURALS = {Kind.LEAD_STATUS: "lead statuses"}


def _not_enforced(kind: Kind, count: int, held: bool, note: str | None) -> str:
    """'2 cadences in the blueprint are not applied: <the target's note>'."""
    noun = kind.value.replace("_", " ")
    these = f"{count} {noun} in the blueprint is" if count == 1 else \
        f"{count} {PLURALS.get(kind, f'{noun}s')} in the blueprint are"
    outcome = "applied in part" if held else "not applied"
    return f"{these} {outcome}: {note}" if note else f"{these} {outcome}"


def _with_danger(change: Change) -> Change:
    danger = _danger(change)
    return replace(change, danger=danger) if danger else change


def settled_renames(desired: Model, live: Model, target: str) -> list[Diagnostic]:
    """A warning at each `renamed_from:` the target has applied (it holds the new key and not the old one)."""
    return [Diagnostic(r.spans.get("renamed_from", r.origin),
                       f"{r.address.kind.value.replace('_', ' ')} {r.address.key} is renamed from {r.renamed_from} "
                       f"in target '{target}' already", "rename-done",
                       fix="remove `renamed_from` once every target that had the old key has applied the rename",
                       severity=Severity.WARNING)
            for r in desired if (old := r.old_address) is not None and r.address.kind is not Kind.STAGE_REQUIREMENT
            and r.address in live and old not in live]


def plan_digest(plan_json: dict[str, object]) -> str:
    """A short digest of a plan's JSON form, recorded in history."""
    return hashlib.sha256(json.dumps(plan_json, sort_keys=True).encode()).hexdigest()[:12]

