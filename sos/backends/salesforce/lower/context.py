"""What one build shares across the kinds it lowers: the desired Model, the org as read, the plan's writes and
deletions, and the names each resource has (or gets) in Salesforce."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sos.backends.salesforce.names import field_api_name, process_api_name
from sos.backends.salesforce.read import LiveOrg
from sos.backends.salesforce.standard_fields import api_names_for
from sos.backends.salesforce.value_sets import ValueSets
from sos.errors import Diagnostic
from sos.expr.types import Scope
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change

# One component of an object file: (object API name, section of the file, its spec, the component).
Part = tuple[str, str, Any, Any]


class Build:
    """The state of one build. `live` None means offline: nothing of the org is known."""

    def __init__(self, desired: Model, changes: Sequence[Change], live: LiveOrg | None, allow_delete: bool,
                 value_sets: bool, held: frozenset[Kind]) -> None:
        self.desired = desired
        self.live = live
        self.value_sets = value_sets
        self.allow_delete = allow_delete
        planned = [c for c in changes if c.address.kind in held]
        self.writes = {c.address: c for c in planned if c.action is not Action.DELETE}
        self.deletes = {c.address: c for c in planned if c.action is Action.DELETE and allow_delete}
        self.renamed = {c.renamed_from for c in self.writes.values() if c.action is Action.UPDATE and c.renamed_from}
        self.problems: list[Diagnostic] = []
        self.notes: list[Diagnostic] = []
        self.rules: dict[Address, dict[str, str]] = {}    # each validation rule made, made once
        self.scopes: dict[str, Scope] = {}   # what an expression on each object reads, for exprs_of
        self._names: dict[str, dict[str, str]] = {}
        self.values = ValueSets(desired, live, self.writes, self.deletes, self.kept, self.problems, self.notes)
        self.stage_names, self.status_names = self.values.stage_names, self.values.status_names

    def resource(self, address: Address) -> Resource:
        """The desired resource at `address`; for a change made from another model, its `after`."""
        found = self.desired.get(address)
        if found is not None:
            return found
        change = self.writes[address]
        return Resource(address, dict(change.after or {}), change.origin)

    def managed_live(self, address: Address) -> bool:
        found = self.live.model.get(address) if self.live is not None else None
        return found is not None and found.managed

    def kept(self, address: Address) -> bool:
        """Whether sos manages `address` once this package is deployed (a deletion not allowed leaves it)."""
        if address in self.deletes or address in self.renamed:
            return False
        if self.live is None:
            return address in self.writes or address in self.desired
        return address in self.writes or self.managed_live(address)

    def managed_after(self, kind: Kind) -> list[Resource]:
        """Resources of `kind` sos manages after this deploy: desired ones, and live ones kept from deletion."""
        found = {r.address: r for r in self.desired.of_kind(kind) if self.kept(r.address)}
        if self.live is not None:
            found.update({r.address: r for r in self.live.model.of_kind(kind)
                          if r.address not in found and self.kept(r.address)})
        return [found[a] for a in sorted(found)]

    def live_name(self, address: Address) -> str | None:
        """The name a managed component already has in the org (a field's API name survives renames)."""
        if self.live is None or not self.managed_live(address):
            return None
        name = self.live.names.get(address)
        return name.split(".", 1)[-1] if name else None

    def field_name(self, resource: Resource) -> str:
        """A field's API name: the org's, or the one sos gives it."""
        return self.live_name(resource.address) or field_api_name(resource)

    def process_name(self, address: Address) -> str:
        """A pipeline's BusinessProcess and RecordType name."""
        return self.live_name(address) or process_api_name(address.key)

    def field_names(self, obj: str) -> dict[str, str]:
        """Field key → API name on `obj`, standard fields included."""
        if obj not in self._names:
            self._names[obj] = api_names_for(obj, {r.address.key: self.field_name(r)
                                                   for r in self.desired.of_kind(Kind.FIELD)
                                                   if r.address.scope == obj})
        return self._names[obj]

    def stage_names_by_key(self) -> dict[str, str]:
        return {address.key: name for address, name in self.stage_names.items()}

    def status_names_by_key(self) -> dict[str, str]:
        return {address.key: name for address, name in self.status_names.items()}

    def stage_outcome(self, pipeline: str, key: str) -> str:
        stage = self.desired.get(Address(Kind.STAGE, pipeline, key))
        return str(stage.attrs.get("outcome", "open")) if stage is not None else "open"


def same_formula(live: str | None, generated: str) -> bool:
    """Equal but for whitespace and line endings (Salesforce may store either)."""
    return live is not None and live.split() == generated.split()
