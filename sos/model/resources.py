"""Address, Resource and Model: what a CRM holds, in sos's own words."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from collections.abc import Iterator, Mapping

from sos.errors import Span
from sos.expr.annotate import TypedExpr


class Kind(str, Enum):
    """Resource kinds, in the order a CRM needs them created (fields before the rules that read them)."""

    FIELD = "field"
    STAGE = "stage"
    PIPELINE = "pipeline"  # after its stages: a sales process lists stage values that must exist
    STAGE_REQUIREMENT = "stage_requirement"  # what a stage needs filled in (its `require`)
    LEAD_STATUS = "lead_status"
    RULE = "rule"
    # Written as the blueprint names them (a cadence, a route): the words plans and addresses show users.
    AUTOMATION = "cadence"
    ASSIGNMENT = "route"
    HANDOFF = "handoff"  # run by `sos handoff run` in a project-management tool; the CRM holds its link field

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {kind: position for position, kind in enumerate(Kind)}


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """Which resource: `field.opportunity.budget_confirmed`, `stage.new_business.proposal`.

    `scope` is the object for fields, rules, statuses and routes, the pipeline for stages and stage requirements,
    the object whose records fire it for a cadence (`schedule` for a timed one).
    """

    kind: Kind
    scope: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}.{self.scope}.{self.key}"

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, scope, key = text.split(".", 2)
        return cls(Kind(kind), scope, key)


def compact_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as every Model keeps them: no None, empty text or empty list (so equal states compare equal)."""
    return {k: v for k, v in attrs.items() if v is not None and v != "" and v != []}


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource's attributes (plain JSON data), where it came from, and whether sos manages it.

    `exprs`: its expressions type-checked, by attribute (`when`, `require`), each node keeping its blueprint
    span, so no backend parses expression text again; not compared (the attributes hold their text).
    """

    address: Address
    attrs: Mapping[str, Any]
    origin: Span | None = None
    managed: bool = True
    exprs: Mapping[str, TypedExpr] = field(default_factory=dict, compare=False, repr=False)
    spans: Mapping[str, Span] = field(default_factory=dict, compare=False)  # where each attribute is written
    renamed_from: str | None = None  # the key it had before (`renamed_from:`): a plan renames that one in place

    @property
    def old_address(self) -> Address | None:
        return Address(self.address.kind, self.address.scope, self.renamed_from) if self.renamed_from else None


@dataclass
class Model:
    """Resources by address: the desired state compiled from a blueprint, or a target's live state."""

    resources: dict[Address, Resource] = field(default_factory=dict)

    def add(self, resource: Resource) -> None:
        self.resources[resource.address] = resource

    def get(self, address: Address) -> Resource | None:
        return self.resources.get(address)

    def __contains__(self, address: object) -> bool:
        return address in self.resources

    def __iter__(self) -> Iterator[Resource]:
        return iter(sorted(self.resources.values(), key=lambda r: (r.address.kind.rank, r.address)))

    def __len__(self) -> int:
        return len(self.resources)

    def of_kind(self, kind: Kind) -> list[Resource]:
        return sorted((r for r in self.resources.values() if r.address.kind is kind), key=lambda r: r.address)

    def fingerprint(self) -> str:
        """A digest of every resource's attributes and ownership: equal fingerprints, equal states."""
        canonical = [[str(r.address), r.attrs, r.managed] for r in self]
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
