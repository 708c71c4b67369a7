"""The plan's one JSON form (schemas/plan.schema.json): saved plans and every rendering derive from it.

A saved plan also carries the desired resources it was made from (`desired`), so that `sos apply plan.json`
needs nothing from the machine that made it: only the CRM and the plan file.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sos import __version__
from sos.errors import SosError, Span
from sos.model.resources import Address, Model, Resource
from sos.plan.change import PLAN_FORMAT_VERSION, Action, Change, Impact, Plan, Unmanaged


def _span_text(span: Span | None) -> str | None:
    return span.origin if span else None


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as versioned, documented JSON data."""
    return {
        "format_version": plan.format_version,
        "sos_version": plan.sos_version,
        "target": {"name": plan.target, "type": plan.target_type},
        "blueprint_digest": plan.blueprint_digest,
        "live_fingerprint": plan.live_fingerprint,
        "summary": {"create": plan.count(Action.CREATE), "update": plan.count(Action.UPDATE),
                    "delete": plan.count(Action.DELETE), "adopt": plan.count(Action.ADOPT),
                    "unchanged": plan.unchanged},
        "changes": [
            {
                "address": str(c.address),
                "action": c.action.value,
                "origin": _span_text(c.origin),
                "before": c.before,
                "after": c.after,
                "attributes": [{"name": a.name, "before": a.before, "after": a.after}
                               for a in c.attr_changes] if c.action in (Action.UPDATE, Action.ADOPT) else [],
                "danger": c.danger or None,
                "reason": c.reason,
                "impact": _impact_json(c.impact),
                "renamed_from": str(c.renamed_from) if c.renamed_from else None,
            }
            for c in plan.changes
        ],
        "unmanaged": [{"address": str(u.address), "origin": _span_text(u.origin), "note": u.note}
                      for u in plan.unmanaged],
        "cannot_enforce": list(plan.cannot_enforce),
    }


def _impact_json(impact: Impact | None) -> dict[str, Any] | None:
    if impact is None:
        return None
    return {"records": impact.records, "owners": impact.owners, "object": impact.object, "enforce": impact.enforce,
            "unsupported": impact.unsupported, "more": impact.more, "sentence": impact.sentence()}


def _impact_from_json(data: dict[str, Any] | None) -> Impact | None:
    if not data:
        return None
    return Impact(data["records"], data["owners"], data["object"], data["enforce"], data.get("unsupported"),
                  bool(data.get("more")))


def plan_from_json(data: dict[str, Any]) -> Plan:
    """A Plan back from its JSON form; SosError when the file is not a plan this sos can apply."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION:
        raise SosError(f"this plan has format version {version!r}; this sos applies version {PLAN_FORMAT_VERSION}. "
                       "Run `sos plan` again.", "plan-format")
    if data.get("sos_version") != __version__:
        raise SosError(f"this plan was made by sos {data.get('sos_version')}, and this is sos {__version__}. "
                       "Run `sos plan` again.", "plan-version")
    return Plan(
        target=data["target"]["name"], target_type=data["target"]["type"],
        changes=tuple(Change(Address.parse(c["address"]), Action(c["action"]), c["before"], c["after"],
                             Span.from_origin(c["origin"]), c.get("danger") or "", c.get("reason"),
                             _impact_from_json(c.get("impact")),
                             Address.parse(c["renamed_from"]) if c.get("renamed_from") else None)
                      for c in data["changes"]),
        blueprint_digest=data["blueprint_digest"], live_fingerprint=data["live_fingerprint"],
        unchanged=data["summary"]["unchanged"],
        unmanaged=tuple(Unmanaged(Address.parse(u["address"]), Span.from_origin(u["origin"]), u["note"])
                        for u in data["unmanaged"]),
        cannot_enforce=tuple(data["cannot_enforce"]), sos_version=data["sos_version"],
        format_version=version,
    )


@dataclass(frozen=True, slots=True)
class PlanFile:
    """A saved plan and the desired model it was made from: all `sos apply plan.json` needs besides the CRM."""

    plan: Plan
    desired: Model


def desired_to_json(desired: Model) -> list[dict[str, Any]]:
    return [{"address": str(r.address), "attrs": r.attrs, "origin": _span_text(r.origin), "managed": r.managed}
            for r in desired]


def desired_from_json(items: list[dict[str, Any]]) -> Model:
    desired = Model()
    for item in items:
        desired.add(Resource(Address.parse(item["address"]), dict(item["attrs"]), Span.from_origin(item["origin"]),
                             bool(item["managed"])))
    return desired


def saved_json(plan: Plan, desired: Model) -> dict[str, Any]:
    """What a saved plan file holds: the plan's JSON form and the desired model it was made from."""
    return {**plan_to_json(plan), "desired": desired_to_json(desired)}


def save_plan(plan: Plan, desired: Model, path: Path) -> None:
    """Write `plan` and the desired model it was made from to `path`."""
    write_output(path, json.dumps(saved_json(plan, desired), indent=2, sort_keys=False) + "\n")


def write_output(path: Path, text: str) -> None:
    """Write a file the user named (-o); a folder that is missing or read-only is a clear error."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SosError(f"cannot write {path}: {exc.strerror}", "file-unwritable") from None


def load_plan(path: Path) -> PlanFile:
    """A saved plan and its desired model; SosError when the file is not a plan this sos applies, or its desired
    resources are not those its blueprint digest names (an edited plan)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise SosError(f"{path}: no such plan file", "file-missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SosError(f"{path}: not a plan file ({exc})", "plan-format") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise SosError(f"{path}: not a plan file (no format_version); make one with "
                       f"`sos plan -o {shlex.quote(str(path))}`",
                       "plan-format")
    try:
        plan = plan_from_json(data)
        desired = desired_from_json(data["desired"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SosError(f"{path}: not a valid plan file ({type(exc).__name__}: {exc})", "plan-format") from None
    if desired.fingerprint() != plan.blueprint_digest:
        raise SosError(f"{path}: its desired resources are not those of the blueprint it was made from "
                       "(blueprint_digest); run `sos plan` again and apply the plan it makes: a saved plan must "
                       "not be edited", "plan-mismatch")
    return PlanFile(replace(plan, written_at=_written_at(path, text, plan)), desired)


def _written_at(path: Path, text: str, plan: Plan) -> dict[Address, Span]:
    """Where each change's address is written in the plan file `text` (changes whose address is written
    otherwise than `save_plan` writes it are left out)."""
    found: dict[Address, Span] = {}
    start = text.find('"changes"')
    for change in plan.changes:
        written = f'"address": {json.dumps(str(change.address))}'
        at = text.find(written, start)
        if at < 0:
            continue
        line, col = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        found[change.address] = Span(str(path), line, col, line, col + len(written))
        start = at + 1
    return found
