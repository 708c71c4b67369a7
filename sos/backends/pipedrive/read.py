"""A Pipedrive account, read with the fewest calls (one list each: pipelines, stages, the fields of deals, persons
and organizations, and lead labels when sos has any), and the same account in sos's words.

A managed resource whose lowered form (lower.py) Pipedrive holds as it is reads back with the blueprint's
attributes, so what Pipedrive cannot hold (a stage's forecast, a field's length) never shows as a change; one
Pipedrive holds otherwise reads back as Pipedrive has it, with the rest taken from the blueprint, so the plan
shows exactly the difference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sos.backends.pipedrive import registry
from sos.backends.pipedrive.client import PipedriveClient
from sos.backends.pipedrive.lower import (BLUEPRINT_TYPES, CHECKBOX_OPTIONS, ENTITIES, LOOKUP_TARGETS,
                                          field_form, marked, required_setting, stage_form)
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs

CLOSED = ("won", "lost")


@dataclass
class Account:
    """What one read found: the active pipelines and stages by id, custom fields by entity, lead labels by id
    (None when not read) and the registry."""

    pipelines: dict[int, dict[str, Any]]
    stages: dict[int, dict[str, Any]]
    fields: dict[str, list[dict[str, Any]]]
    lead_labels: dict[str, dict[str, Any]] | None
    registry: registry.Registry = field(default_factory=registry.Registry)

    def fingerprint(self) -> str:
        """A digest of everything sos reads (times left out): equal digests, and a plan made against one account
        state still applies to the other."""
        def timeless(item: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in item.items() if not k.endswith("_time")}
        state = [[timeless(p) for p in self.pipelines.values()], [timeless(s) for s in self.stages.values()],
                 {e: [timeless(f) for f in fs] for e, fs in self.fields.items()},
                 sorted(self.lead_labels or {}), [timeless(label) for label in (self.lead_labels or {}).values()],
                 self.registry.description()]
        return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()

    def stage_order(self, pipeline_id: int) -> list[int]:
        return [s["id"] for s in sorted(self.stages.values(), key=lambda s: s["order_nr"])
                if s["pipeline_id"] == pipeline_id]

    def field_by_mark(self, address: Address) -> dict[str, Any] | None:
        return next((f for f in self.fields[ENTITIES[address.scope]]
                     if marked(str(f.get("description") or ""))[1] == (address.scope, address.key)), None)


def read_account(client: PipedriveClient, *, labels: bool) -> Account:
    """The account as sos needs it; lead labels only when `labels` or the registry names some."""
    pipelines = {p["id"]: p for p in client.pipelines() if not p.get("is_deleted")}
    stages = {s["id"]: s for s in client.stages() if not s.get("is_deleted") and s["pipeline_id"] in pipelines}
    fields: dict[str, list[dict[str, Any]]] = {}
    found = registry.Registry()
    for entity in sorted(set(ENTITIES.values())):
        fields[entity] = []
        for item in client.fields(entity):
            if entity == "deal" and registry.is_registry(item):
                found = registry.parse(item)
            elif item.get("is_custom_field"):
                fields[entity].append(item)
    lead_labels = {label["id"]: label for label in client.lead_labels()} if labels or found.lead_labels else None
    return Account(pipelines, stages, fields, lead_labels, found)


@dataclass
class Reading:
    """The account in sos's words: the model and the drift (what the attributes cannot show)."""

    model: Model = field(default_factory=Model)
    drift: dict[Address, str] = field(default_factory=dict)


def live_model(account: Account, desired: Model) -> Reading:
    reading = Reading()
    _pipelines(account, desired, reading)
    _stages(account, desired, reading)
    _fields(account, desired, reading)
    _lead_statuses(account, desired, reading)
    _requirements(account, desired, reading)
    return reading


def add(reading: Reading, address: Address, attrs: dict[str, Any], want: Resource | None, *,
         managed: bool = True) -> None:
    reading.model.add(Resource(address, compact_attrs(attrs), want.origin if want else None, managed))


def pipeline_of(desired: Model, key: str) -> Resource | None:
    return next((r for r in desired.of_kind(Kind.PIPELINE) if r.address.key == key), None)


def _stages_of(desired: Model, pipeline: Resource) -> list[Resource]:
    return [r for key in pipeline.attrs.get("stages", ())
            if (r := desired.get(Address(Kind.STAGE, pipeline.address.key, key))) is not None]


def open_stage_keys(desired: Model, pipeline: Resource) -> list[str]:
    return [r.address.key for r in _stages_of(desired, pipeline) if r.attrs.get("outcome") not in CLOSED]


def probabilities(desired: Model, pipeline: Resource) -> bool:
    """Whether the pipeline's deal probability is on: when its stages carry one (reference §9)."""
    return any(r.attrs.get("probability") is not None for r in _stages_of(desired, pipeline))


def _pipelines(account: Account, desired: Model, reading: Reading) -> None:
    held = set()
    for key, pipeline_id in account.registry.pipelines.items():
        found = account.pipelines.get(pipeline_id)
        if found is None:
            continue     # deleted in Pipedrive: planned again
        held.add(pipeline_id)
        want = pipeline_of(desired, key)
        address = want.address if want else Address(Kind.PIPELINE, "opportunity", key)
        ours = account.registry.stages_of(key)
        ids = {value: stage for stage, value in ours.items()}
        live_open = [ids[i] for i in account.stage_order(pipeline_id) if i in ids]
        order = list(want.attrs.get("stages", ())) if want else []
        closed = sorted((stage for stage, value in ours.items() if value in CLOSED),
                        key=lambda stage: order.index(stage) if stage in order else len(order))
        if want is not None:
            if probabilities(desired, want) != found["is_deal_probability_enabled"]:
                state = "on" if found["is_deal_probability_enabled"] else "off"
                reading.drift[address] = f"deal probability is {state} for this pipeline in Pipedrive"
            wanted = open_stage_keys(desired, want)
            # Stages still to create or to delete are changes of their own: only the order of the others counts.
            if found["name"] == want.attrs.get("label") and \
                    [k for k in live_open if k in wanted] == [k for k in wanted if k in live_open]:
                add(reading, address, dict(want.attrs), want)
                continue
        add(reading, address, {**(want.attrs if want else {}), "label": found["name"], "stages": live_open + closed},
             want)
    for want in desired.of_kind(Kind.PIPELINE):
        if want.address not in reading.model:
            twin = next((p for p in account.pipelines.values()
                         if p["id"] not in held and p["name"] == want.attrs.get("label")), None)
            if twin is not None:
                add(reading, want.address, {"label": twin["name"]}, want, managed=False)


def look_alike_pipeline(account: Account, desired: Model, key: str) -> int | None:
    """The id of the pipeline sos did not create that a blueprint pipeline looks like."""
    want = pipeline_of(desired, key)
    held = set(account.registry.pipelines.values())
    return next((p["id"] for p in account.pipelines.values()
                 if want is not None and p["id"] not in held and p["name"] == want.attrs.get("label")), None)


def _stages(account: Account, desired: Model, reading: Reading) -> None:
    for full_key, value in account.registry.stages.items():
        pipeline, _, key = full_key.partition(".")
        address = Address(Kind.STAGE, pipeline, key)
        want = desired.get(address)
        if value in CLOSED:
            if account.registry.pipelines.get(pipeline) in account.pipelines:
                _closed_stage(reading, address, str(value), want)
        elif int(value) in account.stages:
            _open_stage(reading, address, account.stages[int(value)], want)
    for want in desired.of_kind(Kind.STAGE):
        if want.address not in reading.model:
            _stage_look_alike(account, desired, want, reading)


def _closed_stage(reading: Reading, address: Address, outcome: str, want: Resource | None) -> None:
    """A won or lost stage: a deal status in Pipedrive, held as the registry says."""
    if want is not None and want.attrs.get("outcome") == outcome:
        add(reading, address, dict(want.attrs), want)
    else:
        known = {"label": address.key.replace("_", " ").capitalize(), "probability": 100 if outcome == "won" else 0}
        add(reading, address, {**(want.attrs if want else known), "outcome": outcome}, want)


def stage_attrs(found: dict[str, Any]) -> dict[str, Any]:
    return {"label": found["name"], "probability": found["deal_probability"],
            "max_days": found["days_to_rotten"] if found["is_deal_rot_enabled"] else None}


def _open_stage(reading: Reading, address: Address, found: dict[str, Any], want: Resource | None) -> None:
    live = {"name": found["name"], "deal_probability": found["deal_probability"],
            "is_deal_rot_enabled": bool(found["is_deal_rot_enabled"]),
            "days_to_rotten": found["days_to_rotten"] if found["is_deal_rot_enabled"] else None}
    if want is not None and want.attrs.get("outcome") not in CLOSED and stage_form(want.attrs) == live:
        add(reading, address, dict(want.attrs), want)
    else:
        add(reading, address, {**(want.attrs if want else {}), **stage_attrs(found), "outcome": "open"}, want)


def _stage_look_alike(account: Account, desired: Model, want: Resource, reading: Reading) -> None:
    """A stage of the blueprint sos did not create: in a pipeline sos created, one of the same name; in a
    look-alike pipeline, one of the same name or its won and lost stages."""
    pipeline_id = account.registry.pipelines.get(want.address.scope)
    if pipeline_id not in account.pipelines:
        pipeline_id = look_alike_pipeline(account, desired, want.address.scope)
    if pipeline_id is None:
        return
    if want.attrs.get("outcome") in CLOSED:
        if want.address.scope not in account.registry.pipelines:
            add(reading, want.address, dict(want.attrs), want, managed=False)
        return
    ours = set(account.registry.stages.values())
    twin = next((s for s in account.stages.values() if s["pipeline_id"] == pipeline_id and s["id"] not in ours
                 and s["name"] == want.attrs.get("label")), None)
    if twin is not None:
        add(reading, want.address, stage_attrs(twin), want, managed=False)


def field_attrs(found: dict[str, Any]) -> dict[str, Any]:
    """A Pipedrive field in the blueprint's words, where no blueprint says more."""
    kind = str(found["field_type"])
    attrs: dict[str, Any] = {"type": BLUEPRINT_TYPES.get(kind, "text"), "label": found["field_name"],
                             "help": marked(str(found.get("description") or ""))[0].strip()}
    if kind in LOOKUP_TARGETS:
        attrs["to"] = LOOKUP_TARGETS[kind]
    labels = [o["label"] for o in found.get("options") or []]
    if kind == "enum" and labels == CHECKBOX_OPTIONS:
        attrs["type"] = "checkbox"     # what sos makes of a checkbox (lower.py)
    elif labels:
        attrs["values"] = labels
    return attrs


def held_form(found: dict[str, Any], wanted_options: list[str] | None) -> dict[str, Any]:
    """What Pipedrive holds of a field, as field_form says it: the account's own options (not in the blueprint)
    left out, and options compared as a set (Pipedrive's API cannot reorder them)."""
    labels = [o["label"] for o in found.get("options") or []]
    options = None if wanted_options is None else sorted(label for label in labels if label in wanted_options)
    return {"field_name": found["field_name"], "field_type": found["field_type"], "options": options,
            "description": str(found.get("description") or "")}


def _fields(account: Account, desired: Model, reading: Reading) -> None:
    for entity, found_fields in account.fields.items():
        for found in found_fields:
            owner = marked(str(found.get("description") or ""))[1]
            if owner is not None and ENTITIES.get(owner[0]) == entity:
                address = Address(Kind.FIELD, *owner)
                want = desired.get(address)
                add(reading, address, field_attrs(found) if want is None else _held_field(found, want), want)
    for want in desired.of_kind(Kind.FIELD):
        if want.address in reading.model or want.address.scope not in ENTITIES:
            continue
        twin = next((f for f in account.fields[ENTITIES[want.address.scope]]
                     if marked(str(f.get("description") or ""))[1] is None
                     and f["field_name"] == want.attrs.get("label")), None)
        if twin is not None:
            add(reading, want.address, field_attrs(twin), want, managed=False)


def _held_field(found: dict[str, Any], want: Resource) -> dict[str, Any]:
    """A field sos made, as the blueprint says it when Pipedrive holds what sos wrote, else as Pipedrive has it;
    the account's own options (not in the blueprint) left out."""
    wanted = field_form(want)
    wanted["options"] = None if wanted["options"] is None else sorted(wanted["options"])
    if held_form(found, wanted["options"]) == wanted:
        return dict(want.attrs)
    attrs = {**want.attrs, **field_attrs(found)}
    if want.attrs.get("type") == "checkbox" and found["field_type"] == "enum":
        attrs["type"] = "checkbox"
        attrs.pop("values", None)
    elif "values" in attrs and wanted["options"] is not None:
        attrs["values"] = [v for v in want.attrs.get("values", ()) if v in attrs["values"]]
    return attrs


def kept_options(account: Account, desired: Model) -> list[str]:
    """What no change can show: the options of sos's dropdowns that the blueprint does not list, which sos keeps
    (an option the account added is its own, and sos cannot tell them from the ones it added)."""
    kept = []
    for want in desired.of_kind(Kind.FIELD):
        wanted = field_form(want)["options"] if want.address.scope in ENTITIES else None
        found = account.field_by_mark(want.address) if wanted is not None else None
        extra = [o["label"] for o in (found or {}).get("options") or [] if o["label"] not in (wanted or ())]
        if extra:
            kept.append(f"{want.address} keeps {', '.join(extra)} in Pipedrive, which the blueprint does not "
                        "list: sos never removes a dropdown's options (remove them in Pipedrive if they should go)")
    return kept


def status_flags(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What the registry keeps of a lead status beside its label's name."""
    return {"default": bool(attrs.get("default")), "converted": bool(attrs.get("converted")),
            "position": int(attrs.get("position", 0))}


def _lead_statuses(account: Account, desired: Model, reading: Reading) -> None:
    if account.lead_labels is None:
        return
    for key, label_id in account.registry.lead_labels.items():
        found = account.lead_labels.get(label_id)
        if found is None:
            continue
        address = Address(Kind.LEAD_STATUS, "lead", key)
        want = desired.get(address)
        flags = account.registry.lead_statuses.get(key, {})
        if want is not None and want.attrs.get("label") == found["name"] and status_flags(want.attrs) == flags:
            add(reading, address, dict(want.attrs), want)
        else:
            add(reading, address, {**(want.attrs if want else {}), "label": found["name"], **flags}, want)
    ours = set(account.registry.lead_labels.values())
    for want in desired.of_kind(Kind.LEAD_STATUS):
        if want.address in reading.model:
            continue
        twin = next((label for label in account.lead_labels.values()
                     if label["id"] not in ours and label["name"] == want.attrs.get("label")), None)
        if twin is not None:
            add(reading, want.address, {"label": twin["name"]}, want, managed=False)


def requirement_settings(account: Account, requirements: dict[str, dict[str, list[str]]],
                         desired: Model) -> dict[Address, dict[str, Any]]:
    """Each deal field's `required_fields` for these stage requirements (by "pipeline.stage"): the ids of the
    open stages they hold in, and the won and lost statuses of their pipelines; fields sos does not hold (standard
    fields, lint.py says so) are left out."""
    stage_ids: dict[Address, set[int]] = {}
    statuses: dict[Address, dict[str, set[str]]] = {}
    for full_key, spec in requirements.items():
        pipeline = full_key.partition(".")[0]
        pipeline_id = account.registry.pipelines.get(pipeline)
        ours = account.registry.stages_of(pipeline)
        for key in spec["fields"]:
            address = Address(Kind.FIELD, "opportunity", key)
            if account.field_by_mark(address) is None and desired.get(address) is None:
                continue
            for stage in spec["stages"]:
                value = ours.get(stage)
                if value in CLOSED and pipeline_id is not None:
                    statuses.setdefault(address, {}).setdefault(str(pipeline_id), set()).add(str(value))
                elif isinstance(value, int):
                    stage_ids.setdefault(address, set()).add(value)
            stage_ids.setdefault(address, set())
    return {address: required_setting(ids, statuses.get(address, {})) for address, ids in stage_ids.items()}


def held_setting(found: dict[str, Any]) -> dict[str, Any]:
    """A field's `required_fields` as required_setting says it."""
    spec = found.get("required_fields") or {}
    if not spec.get("enabled"):
        return {"enabled": False}
    return {"enabled": True, "stage_ids": sorted(spec.get("stage_ids") or []),
            "statuses": {p: sorted(s) for p, s in sorted((spec.get("statuses") or {}).items()) if s}}


def _requirements(account: Account, desired: Model, reading: Reading) -> None:
    """A stage requirement sos set is held as the registry records it; when a field it names is required otherwise
    in Pipedrive (or is gone), that is its drift, and the plan sets it again."""
    wanted = requirement_settings(account, account.registry.requirements, desired)
    for full_key, spec in account.registry.requirements.items():
        pipeline, _, key = full_key.partition(".")
        address = Address(Kind.STAGE_REQUIREMENT, pipeline, key)
        want = desired.get(address)
        fine = all(held_setting(found) == wanted[f] for f in wanted
                   if f.key in spec["fields"] and (found := account.field_by_mark(f)) is not None)
        missing = [f for f in spec["fields"] if Address(Kind.FIELD, "opportunity", f) in wanted
                   and account.field_by_mark(Address(Kind.FIELD, "opportunity", f)) is None]
        stages_held = _stages_held(account, pipeline, spec["stages"])
        stored = {"fields": spec["fields"], "stages": spec["stages"]}
        if want is not None and fine and not missing and stages_held and \
                stored == {"fields": list(want.attrs.get("fields", ())), "stages": list(want.attrs.get("stages", ()))}:
            add(reading, address, dict(want.attrs), want)
            continue
        if want is not None and not stages_held:
            reading.drift[address] = "a stage it names was deleted in Pipedrive (changed outside sos)"
        elif want is not None and not (fine and not missing):
            reading.drift[address] = "its fields are required otherwise in Pipedrive (changed outside sos)"
        add(reading, address, {**(want.attrs if want else {}), **stored}, want)



def _stages_held(account: Account, pipeline: str, stages: list[str]) -> bool:
    """Whether Pipedrive still holds every stage of `pipeline` these keys name, as the registry records them (a
    pipeline or stage deleted in Pipedrive leaves the fields required in stages that are gone)."""
    ours = account.registry.stages_of(pipeline)
    return account.registry.pipelines.get(pipeline) in account.pipelines and \
        all(ours.get(stage) in CLOSED or ours.get(stage) in account.stages for stage in stages)
