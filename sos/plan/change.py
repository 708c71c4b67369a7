"""Action, AttrChange, Change and Plan: plain data, rendered and applied by others."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from collections.abc import Mapping

from sos.errors import Span
from sos.model.resources import Address, Kind

PLAN_FORMAT_VERSION = 2  # 2: plans carry their desired resources, drift reasons, stage requirements


class Action(str, Enum):
    CREATE = "create"  # +
    UPDATE = "update"  # ~
    DELETE = "delete"  # -
    ADOPT = "adopt"  # =  take a look-alike sos did not create under management (after `sos import`)


@dataclass(frozen=True, slots=True)
class AttrChange:
    name: str
    before: Any
    after: Any


# What a blocked save is, by the object's records, in words a plan shows.
_MOVES = {"opportunity": ("stage move", "open deal", "open deals"),
          "lead": ("status change", "open lead", "open leads")}


@dataclass(frozen=True, slots=True)
class Impact:
    """How many records still in play (open deals, unconverted leads) break a rule or stage requirement that a plan
    adds or tightens, counted in the target before the plan is applied: the saves it would block."""

    records: int
    owners: int
    object: str
    enforce: str                    # always (every save) or on_stage_change
    unsupported: str | None = None  # why the target could not count them
    more: bool = False              # a tightened one: only the records its earlier version let through

    def sentence(self) -> str:
        move, one, many = _MOVES.get(self.object, ("save", f"{self.object} record", f"{self.object} records"))
        more = "more " if self.more else ""
        if self.unsupported:
            return f"impact not counted: {self.unsupported}"
        if not self.records:
            return f"blocks no {more}{one} today"
        what = "save" if self.enforce == "always" else move
        owners = f" ({self.owners} owner{'s' if self.owners != 1 else ''})" if self.owners else ""
        return f"would block the next {what} of {self.records} {more}{one if self.records == 1 else many}{owners}"


@dataclass(frozen=True, slots=True)
class Change:
    """What one resource will undergo. `before`/`after` are its whole attributes (None when absent)."""

    address: Address
    action: Action
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    origin: Span | None = None  # the blueprint line that asked for it
    danger: str = ""  # why a reviewer should look twice (a stage renamed or removed); shown, never read by apply
    reason: str | None = None  # why an update is planned where no attribute says it (changed outside sos); shown only
    impact: Impact | None = None  # the open records it would block, when the target reads records; shown only
    # `renamed_from:` the resource it renames (an update: in place, `before` is the old one's; a create: the target
    # cannot rename it in place, `reason` says why, and the old one is deleted)
    renamed_from: Address | None = None

    @property
    def attr_changes(self) -> list[AttrChange]:
        before, after = self.before or {}, self.after or {}
        names = sorted(set(before) | set(after))
        return [AttrChange(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """A live resource with a desired one's address that sos did not create: reported, never touched."""

    address: Address
    origin: Span | None
    note: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Ordered changes that would make a target match a blueprint, and what they were made from."""

    target: str
    target_type: str
    changes: tuple[Change, ...]
    blueprint_digest: str
    live_fingerprint: str
    unchanged: int = 0
    unmanaged: tuple[Unmanaged, ...] = ()
    cannot_enforce: tuple[str, ...] = ()
    sos_version: str = ""
    format_version: int = PLAN_FORMAT_VERSION
    # Where each change is written in the saved plan file it was loaded from (empty for a plan just made).
    written_at: Mapping[Address, Span] = field(default_factory=dict, compare=False, repr=False)

    def count(self, action: Action) -> int:
        return sum(c.action is action for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def keep_stages(after: Mapping[str, Any], before: Mapping[str, Any], keep: set[str]) -> dict[str, Any]:
    """A pipeline's `after`, with the stages of its `before` named in `keep` back in their places."""
    stages = list(after.get("stages", ()))
    place = 0
    for key in before.get("stages", ()):
        if key in stages:
            place = stages.index(key) + 1
        elif key in keep:
            stages.insert(place, key)
            place += 1
    return {**after, "stages": stages}


def held_stages(plan: Plan, change: Change) -> set[str]:
    """The stages a pipeline change drops that `plan` does not delete: without --allow-delete they stay in it."""
    if change.address.kind is not Kind.PIPELINE or change.action is not Action.UPDATE:
        return set()
    dropped = set((change.before or {}).get("stages", ())) - set((change.after or {}).get("stages", ()))
    stages = [c for c in plan.changes if c.address.kind is Kind.STAGE and c.address.scope == change.address.key]
    deleted = {c.address.key for c in stages if c.action is Action.DELETE}
    renamed = {c.renamed_from.key for c in stages if c.action is Action.UPDATE and c.renamed_from}
    return dropped - deleted - renamed
