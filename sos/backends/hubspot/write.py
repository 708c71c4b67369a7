"""Apply a plan to a portal, in HubSpot's order: property groups, properties (created 100 to a call), pipelines
and stages, lead statuses, then archives. HubSpot has no transaction: the first refusal stops the apply, and
the result says what was applied and what was not, so the next plan shows exactly the remainder."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sos.backends.base import ApplyResult
from sos.backends.hubspot.client import BATCH_SIZE, HubSpotClient, PartlyMade
from sos.backends.hubspot.names import (
    GROUP,
    GROUP_LABEL,
    LEAD_STATUS,
    OBJECT_TYPES,
    REGISTRY,
    mark_attrs,
    property_definition,
    property_name,
    split_mark,
    stage_metadata,
    with_mark,
)
from sos.backends.hubspot.read import LivePortal, registry_text
from sos.errors import SosError
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan

NOT_REACHED = "not applied: sos stopped at the first failure (see above); `sos plan` shows what is left"


@dataclass
class Step:
    addresses: list[Address]      # what it applies
    run: Callable[[], object]


class Writer:
    """One apply's calls, in order, and the registry of pipelines and stages they keep up to date."""

    def __init__(self, client: HubSpotClient, live: LivePortal, plan: Plan, desired: Model) -> None:
        self.client, self.live, self.plan, self.desired = client, live, plan, desired
        self.registry = {k: dict(v) for k, v in live.registry.items()}
        self.registry_changed = False
        self.changes = {c.address: c for c in plan.changes}

    def apply(self) -> ApplyResult:
        steps = list(self._steps())
        applied: list[Address] = []
        failed: dict[Address, str] = {}
        try:
            for position, step in enumerate(steps):
                try:
                    step.run()
                except SosError as error:
                    reason = self.client.connection.redact(error.diagnostics[0].message)
                    if isinstance(error, PartlyMade):
                        applied += [a for a in step.addresses
                                    if property_name(_resource(self.changes[a])) in error.made]
                    rest = [a for s in steps[position:] for a in s.addresses if a not in applied]
                    failed = {a: reason if a in step.addresses or not step.addresses else NOT_REACHED for a in rest}
                    break
                applied += step.addresses
        finally:
            if self.registry_changed:
                try:
                    self._save_registry()
                except SosError as error:
                    # What this apply made is lost to sos; what it changed keeps its old entry (planned again).
                    lost = [a for a in applied if a.kind in (Kind.PIPELINE, Kind.STAGE)
                            and str(a) not in self.live.registry]
                    reason = (f"made in HubSpot, but sos could not record it as its own "
                              f"({error.diagnostics[0].message}); `sos plan --adopt` takes it under management")
                    applied = [a for a in applied if a not in lost]
                    failed = {**{a: reason for a in lost}, **failed}
        return ApplyResult(applied=tuple(applied), failed=failed)

    # -- the steps, in order ------------------------------------------------------------------

    def _steps(self) -> Iterator[Step]:
        changes = self.plan.changes
        writes = [c for c in changes if c.action is not Action.DELETE]
        deletes = [c for c in changes if c.action is Action.DELETE]
        yield from self._groups(writes)
        yield from self._field_creates([c for c in writes
                                        if c.address.kind is Kind.FIELD and c.action is Action.CREATE])
        for change in writes:
            if change.address.kind is Kind.FIELD and change.action is not Action.CREATE:
                yield Step([change.address], partial(self._update_property, change))
        yield from self._pipelines(writes)
        statuses = [c for c in changes if c.address.kind is Kind.LEAD_STATUS]
        if statuses:
            yield Step([c.address for c in statuses], partial(self._write_lead_statuses, statuses))
        yield from self._archives(deletes)

    def _groups(self, writes: list[Change]) -> Iterator[Step]:
        needed = {OBJECT_TYPES[c.address.scope] for c in writes if c.address.kind is Kind.FIELD}
        if any(c.address.kind in (Kind.PIPELINE, Kind.STAGE) for c in writes):
            needed.add("deals")     # the registry lives in the deals group
        for object_type in sorted(needed - {t for t, names in self.live.groups.items() if GROUP in names}):
            yield Step([], partial(self.client.create_group, object_type,
                                   {"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1}))

    def _field_creates(self, creates: list[Change]) -> Iterator[Step]:
        by_type: dict[str, list[Change]] = {}
        for change in creates:
            by_type.setdefault(OBJECT_TYPES[change.address.scope], []).append(change)
        for object_type, group in sorted(by_type.items()):
            for start in range(0, len(group), BATCH_SIZE):
                batch = group[start:start + BATCH_SIZE]
                yield Step([c.address for c in batch], partial(
                    self.client.create_properties, object_type, [property_definition(_resource(c)) for c in batch]))

    def _update_property(self, change: Change) -> None:
        definition = property_definition(_resource(change))
        name = definition.pop("name")
        self.client.update_property(OBJECT_TYPES[change.address.scope], name, definition)

    # -- pipelines and stages -------------------------------------------------------------------

    def _pipelines(self, writes: list[Change]) -> Iterator[Step]:
        pipelines = [c for c in writes if c.address.kind is Kind.PIPELINE]
        created = {c.address.key for c in pipelines if c.action is Action.CREATE}
        for change in pipelines:
            if change.action is Action.CREATE:
                stages = [self._stage_change(change.address.key, key) for key in _after(change)["stages"]]
                yield Step([change.address, *(s.address for s in stages if s is not None)],
                           partial(self._create_pipeline, change))
            else:
                yield Step([change.address], partial(self._update_pipeline, change))
        for change in writes:
            if change.address.kind is Kind.STAGE and change.address.scope not in created:
                yield Step([change.address], partial(self._write_stage, change))

    def _stage_change(self, pipeline: str, key: str) -> Change | None:
        return self.changes.get(Address(Kind.STAGE, pipeline, key))

    def _stage_input(self, pipeline: str, key: str, attrs: dict[str, Any]) -> dict[str, Any]:
        order = list(self._pipeline_attrs(pipeline).get("stages", ())).index(key)
        return {"label": attrs["label"], "displayOrder": order, "metadata": stage_metadata(attrs)}

    def _pipeline_attrs(self, pipeline: str) -> dict[str, Any]:
        address = Address(Kind.PIPELINE, "opportunity", pipeline)
        change = self.changes.get(address)
        if change is not None and change.after is not None:
            return dict(change.after)
        return dict(self.live.model.get(address).attrs) if address in self.live.model else {}  # type: ignore[union-attr]

    def _create_pipeline(self, change: Change) -> None:
        key, after = change.address.key, _after(change)
        stages = {}
        for stage_key in after["stages"]:
            stage = self.desired.get(Address(Kind.STAGE, key, stage_key))
            if stage is not None:
                stages[stage_key] = dict(stage.attrs)
        body = {"label": after["label"], "displayOrder": len(self.live.pipelines) + 1,
                "stages": [self._stage_input(key, k, attrs) for k, attrs in stages.items()]}
        made = self.client.create_pipeline("deals", body)
        self._register(change.address, made["id"], after)
        by_label = {s["label"]: s["id"] for s in made["stages"]}
        for stage_key, attrs in stages.items():
            self._register(Address(Kind.STAGE, key, stage_key), by_label[attrs["label"]], attrs)

    def _update_pipeline(self, change: Change) -> None:
        pipeline_id, after = self.live.ids[change.address], _after(change)
        if self.live.pipelines[pipeline_id]["label"] != after["label"]:
            self.client.update_pipeline("deals", pipeline_id, {"label": after["label"]})
        self._register(change.address, pipeline_id, after)
        # Stages whose place alone changed: each keeps its metadata (a stage update must send it).
        for stage in self.live.pipelines[pipeline_id]["stages"]:
            address = next((a for a, i in self.live.ids.items() if i == stage["id"] and a.kind is Kind.STAGE), None)
            if address is None or address in self.changes or address.key not in after["stages"]:
                continue
            order = list(after["stages"]).index(address.key)
            if stage["displayOrder"] != order:
                self.client.update_stage("deals", pipeline_id, stage["id"],
                                         {"displayOrder": order, "metadata": stage["metadata"]})

    def _write_stage(self, change: Change) -> None:
        pipeline_id = self.live.ids.get(Address(Kind.PIPELINE, "opportunity", change.address.scope)) or \
            self.registry.get(str(Address(Kind.PIPELINE, "opportunity", change.address.scope)), {}).get("id")
        if pipeline_id is None:
            raise SosError(f"the pipeline of stage {change.address.scope}.{change.address.key} is not in HubSpot",
                           "hs-api-error")
        body = self._stage_input(change.address.scope, change.address.key, dict(_after(change)))
        if change.action is Action.CREATE:
            made = self.client.create_stage("deals", pipeline_id, body)
            self._register(change.address, made["id"], _after(change))
        else:       # a renamed stage keeps its id, and the deals in it
            stage_id = self.live.ids[change.renamed_from or change.address]
            self.client.update_stage("deals", pipeline_id, stage_id, body)
            self._register(change.address, stage_id, _after(change))
            if change.renamed_from is not None:
                self.registry.pop(str(change.renamed_from), None)

    def _register(self, address: Address, hubspot_id: str, attrs: Mapping[str, Any]) -> None:
        self.registry[str(address)] = {"id": hubspot_id, "attrs": mark_attrs(Resource(address, dict(attrs)))}
        self.registry_changed = True

    def _save_registry(self) -> None:
        text = registry_text(self.registry)
        if self.live.registry_name:
            self.client.update_property("deals", self.live.registry_name, {"description": text})
            return
        # HubSpot keeps an archived property's name taken (reference §5): an archived registry is replaced by a new one.
        taken = set(self.live.properties["deals"]) | {p["name"] for p in self.client.properties("deals", archived=True)}
        name = next(n for n in (REGISTRY, *(f"{REGISTRY}_{i}" for i in range(2, len(taken) + 3))) if n not in taken)
        self.client.create_properties("deals", [{
            "name": name, "label": "sos: managed pipelines and stages", "type": "string", "fieldType": "text",
            "groupName": GROUP, "hidden": True, "description": text}])

    # -- lead statuses ----------------------------------------------------------------------------

    def _write_lead_statuses(self, changes: list[Change]) -> None:
        """One update of hs_lead_status: HubSpot replaces the whole option list, so the portal's own options are
        sent back beside sos's, and only an option sos added is ever left out (a deletion, --allow-delete)."""
        statuses = {r.address: dict(r.attrs) for r in self.live.model.of_kind(Kind.LEAD_STATUS) if r.managed}
        held_as: dict[Address, Address] = {}
        for change in changes:
            if change.action is Action.DELETE:
                statuses.pop(change.address, None)
            else:
                statuses[change.address] = dict(change.after or {})
            if change.renamed_from is not None and change.action is Action.UPDATE:
                statuses.pop(change.renamed_from, None)
                held_as[change.address] = change.renamed_from
        # An adopted or renamed option keeps its value: contacts hold it.
        values = {}
        for address in statuses:
            held = held_as.get(address, address)
            values[address] = self.live.ids.get(held, held.key)
        own = [o for o in self.live.lead_options
               if split_mark(o.get("description"))[1] is None and str(o["value"]) not in values.values()]
        ours = [{"label": attrs["label"], "value": values[address], "hidden": False,
                 "description": with_mark("", address, mark_attrs(Resource(address, attrs)))}
                for address, attrs in sorted(statuses.items(), key=lambda item: item[1].get("position", 0))]
        options = [{**option, "displayOrder": order} for order, option in enumerate(ours + own)]
        self.client.update_property("contacts", LEAD_STATUS, {"options": options})

    # -- archives ----------------------------------------------------------------------------------

    def _archives(self, deletes: list[Change]) -> Iterator[Step]:
        pipelines = {c.address.key for c in deletes if c.address.kind is Kind.PIPELINE}
        for change in deletes:
            if change.address.kind is Kind.STAGE and change.address.scope not in pipelines:
                yield Step([change.address], partial(self._archive_stage, change))
        for change in deletes:
            if change.address.kind is Kind.PIPELINE:
                stages = [c.address for c in deletes if c.address.kind is Kind.STAGE
                          and c.address.scope == change.address.key]
                yield Step([change.address, *stages], partial(self._archive_pipeline, change))
        by_type: dict[str, list[Change]] = {}
        for change in deletes:
            if change.address.kind is Kind.FIELD:
                by_type.setdefault(OBJECT_TYPES[change.address.scope], []).append(change)
        for object_type, group in sorted(by_type.items()):
            yield Step([c.address for c in group], partial(
                self.client.archive_properties, object_type, [property_name(_resource(c)) for c in group]))

    def _archive_stage(self, change: Change) -> None:
        pipeline_id = self.live.ids[Address(Kind.PIPELINE, "opportunity", change.address.scope)]
        self.client.archive_stage("deals", pipeline_id, self.live.ids[change.address])
        self._unregister(change.address)

    def _archive_pipeline(self, change: Change) -> None:
        self.client.archive_pipeline("deals", self.live.ids[change.address])
        self._unregister(change.address)
        for text in list(self.registry):
            if Address.parse(text).kind is Kind.STAGE and Address.parse(text).scope == change.address.key:
                self._unregister(Address.parse(text))

    def _unregister(self, address: Address) -> None:
        self.registry.pop(str(address), None)
        self.registry_changed = True


def _after(change: Change) -> Mapping[str, Any]:
    return change.after or {}


def _resource(change: Change) -> Resource:
    return Resource(change.address, dict(change.after or change.before or {}))
