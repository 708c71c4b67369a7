"""A plan's changes, written to Pipedrive one call at a time in dependency order: pipelines, stages (then their
order), fields and their options, lead labels, the fields' per-stage requirements, then deletions.

Pipedrive has no transaction: the first refusal stops the apply, the changes before it stay applied, and the
registry (registry.py) is saved after every change that adds to it or takes from it, so the next plan, from any
clone, shows exactly the remainder.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sos.backends.base import ApplyResult
from sos.backends.pipedrive import registry
from sos.backends.pipedrive.client import FIELDS, LEAD_LABELS, PIPELINES, STAGES, PipedriveClient
from sos.backends.pipedrive.lower import ENTITIES, field_form, field_type, marked, stage_form
from sos.backends.pipedrive.read import (CLOSED, Account, held_setting, look_alike_pipeline, open_stage_keys,
                                         pipeline_of, probabilities, requirement_settings, status_flags)
from sos.errors import SosError
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Action, Change, Plan

DEALS = "/api/v2/deals"
# The order Pipedrive needs them written in (ids flow from pipelines to stages to required fields).
WRITE_ORDER = (Kind.PIPELINE, Kind.STAGE, Kind.FIELD, Kind.LEAD_STATUS, Kind.STAGE_REQUIREMENT)
LABEL_COLOR = "gray"     # a lead label needs one of Pipedrive's colours; the blueprint has none


class Refused(Exception):
    """A change sos will not make (found at apply time); its message says why."""


def deals_in(client: PipedriveClient, **where: int) -> int:
    """How many deals (open, won or lost) are in a stage or pipeline: Pipedrive's v2 deals list, filtered on it."""
    return sum(1 for _ in client.paged(DEALS, where))


class Writer:
    """Writes one plan's changes to the account as read at the start of the apply (kept current as it writes)."""

    def __init__(self, client: PipedriveClient, account: Account, desired: Model) -> None:
        self.client = client
        self.account = account
        self.registry = account.registry
        self.desired = desired
        self.doomed: set[str] = set()      # the pipelines this plan deletes (their stages go with them)

    def run(self, plan: Plan) -> ApplyResult:
        """Each step in order; at the first failure, what was applied, what failed and why, and what was not."""
        rank = {kind: position for position, kind in enumerate(WRITE_ORDER)}
        writes = sorted((c for c in plan.changes if c.action is not Action.DELETE),
                        key=lambda c: rank.get(c.address.kind, len(rank)))
        deletions = sorted((c for c in plan.changes if c.action is Action.DELETE),
                           key=lambda c: -rank.get(c.address.kind, 0))
        self.doomed = {c.address.key for c in deletions if c.address.kind is Kind.PIPELINE}
        processes = [c for c in writes if c.address.kind in (Kind.PIPELINE, Kind.STAGE)]
        steps = [(c.address, partial(self.write, c)) for c in processes] + self.reorders(processes)
        steps += [(c.address, partial(self.write, c)) for c in writes[len(processes):] + deletions]
        applied: list[Address] = []
        for address, step in steps:
            try:
                step()
            except (SosError, Refused) as error:
                reason = error.diagnostics[0].message if isinstance(error, SosError) else str(error)
                failed = {address: self.client.redact(reason)}
                failed.update({c.address: "not applied: sos stopped at the first failure" for c in plan.changes
                               if c.address not in applied and c.address not in failed})
                return ApplyResult(applied=tuple(a for a in applied if a not in failed), failed=failed)
            if address not in applied:
                applied.append(address)
        return ApplyResult(applied=tuple(applied))

    def reorders(self, processes: list[Change]) -> list[tuple[Address, Callable[[], None]]]:
        """Putting each pipeline's stages in order once they are written (a failure blamed on its last change)."""
        last = {c.address.key if c.address.kind is Kind.PIPELINE else c.address.scope: c.address for c in processes}
        return [(address, partial(self.reorder, pipeline)) for pipeline, address in last.items()]

    def write(self, change: Change) -> None:
        kind = change.address.kind
        delete = change.action is Action.DELETE
        if change.renamed_from is not None and change.action is Action.UPDATE:
            self.follow_rename(change.renamed_from, change.address)
        if kind is Kind.PIPELINE:
            self.delete_pipeline(change) if delete else self.write_pipeline(change)
        elif kind is Kind.STAGE:
            self.delete_stage(change) if delete else self.write_stage(change)
        elif kind is Kind.FIELD:
            self.delete_field(change) if delete else self.write_field(change)
        elif kind is Kind.LEAD_STATUS:
            self.delete_label(change) if delete else self.write_label(change)
        elif kind is Kind.STAGE_REQUIREMENT:
            self.write_requirement(change)

    def follow_rename(self, old: Address, new: Address) -> None:
        """A renamed stage, stage requirement or lead status keeps its Pipedrive stage or label (and its deals and
        leads): the registry holds it under the new key. A renamed field is found by its old mark (write_field)."""
        registry = self.registry
        if old.kind is Kind.STAGE and f"{old.scope}.{old.key}" in registry.stages:
            registry.stages[f"{new.scope}.{new.key}"] = registry.stages.pop(f"{old.scope}.{old.key}")
        elif old.kind is Kind.STAGE_REQUIREMENT and f"{old.scope}.{old.key}" in registry.requirements:
            registry.requirements[f"{new.scope}.{new.key}"] = registry.requirements.pop(f"{old.scope}.{old.key}")
        elif old.kind is Kind.LEAD_STATUS and old.key in registry.lead_labels:
            registry.lead_labels[new.key] = registry.lead_labels.pop(old.key)
            registry.lead_statuses[new.key] = registry.lead_statuses.pop(old.key, {})
        else:
            return
        self.save_registry()

    # -- the registry -------------------------------------------------------------------------

    def save_registry(self) -> None:
        body = {"description": self.registry.description()}
        if self.registry.code is None:
            made = self.client.post(FIELDS["deal"], {"field_name": registry.NAME, "field_type": "varchar",
                                                     "ui_visibility": registry.HIDDEN, **body})
            self.registry.code = str(made["field_code"])
        else:
            self.client.patch(FIELDS["deal"] + "/{code}", body, code=self.registry.code)

    # -- pipelines ----------------------------------------------------------------------------

    def write_pipeline(self, change: Change) -> None:
        want = self.desired.resources[change.address]
        body = {"name": want.attrs.get("label"), "is_deal_probability_enabled": probabilities(self.desired, want)}
        key = change.address.key
        if change.action is Action.CREATE:
            made = self.client.post(PIPELINES, body)
            self.account.pipelines[made["id"]] = made
            self.registry.pipelines[key] = made["id"]
            self.save_registry()
            return
        if change.action is Action.ADOPT:
            twin = look_alike_pipeline(self.account, self.desired, key)
            if twin is None:
                raise Refused(f"Pipedrive no longer holds a pipeline named {want.attrs.get('label')!r} to adopt")
            self.registry.pipelines[key] = twin
            self.save_registry()
        pipeline_id = self.registry.pipelines[key]
        found = self.account.pipelines[pipeline_id]
        if any(found.get(k) != v for k, v in body.items()):
            self.account.pipelines[pipeline_id] = self.client.patch(PIPELINES + "/{id}", body, id=pipeline_id)

    def delete_pipeline(self, change: Change) -> None:
        pipeline_id = self.registry.pipelines[change.address.key]
        self.client.delete(PIPELINES + "/{id}", id=pipeline_id)
        del self.registry.pipelines[change.address.key]
        for key in list(self.registry.stages):
            if key.partition(".")[0] == change.address.key:
                del self.registry.stages[key]
        self.save_registry()

    # -- stages -------------------------------------------------------------------------------

    def write_stage(self, change: Change) -> None:
        want = self.desired.resources[change.address]
        full_key = f"{change.address.scope}.{change.address.key}"
        outcome = want.attrs.get("outcome")
        if outcome in CLOSED:       # a deal status in Pipedrive: only the registry holds it
            self.registry.stages[full_key] = str(outcome)
            self.save_registry()
            return
        form = stage_form(want.attrs)
        body = {k: v for k, v in form.items() if v is not None}
        pipeline_id = self.registry.pipelines.get(change.address.scope)
        if pipeline_id is None:
            raise Refused(f"pipeline {change.address.scope} was not created by sos; `sos apply --adopt` takes it "
                          "under management")
        if change.action is Action.CREATE:
            made = self.client.post(STAGES, {**body, "pipeline_id": pipeline_id})
            self.account.stages[made["id"]] = made
            self.registry.stages[full_key] = made["id"]
            self.save_registry()
            return
        if change.action is Action.ADOPT:
            ours = set(self.registry.stages.values())
            twin = next((s["id"] for s in self.account.stages.values() if s["pipeline_id"] == pipeline_id
                         and s["id"] not in ours and s["name"] == want.attrs.get("label")), None)
            if twin is None:
                raise Refused(f"Pipedrive no longer holds a stage named {want.attrs.get('label')!r} to adopt")
            self.registry.stages[full_key] = twin
            self.save_registry()
        stage_id = int(self.registry.stages[full_key])
        found = self.account.stages[stage_id]
        if any(found.get(k) != v for k, v in form.items()):
            self.account.stages[stage_id] = self.client.patch(STAGES + "/{id}", body, id=stage_id)

    def reorder(self, pipeline: str) -> None:
        """Put sos's open stages of `pipeline` in the blueprint's order, the account's own stages staying where
        they are. API v2 documents no reorder; Pipedrive takes `order_nr` on a stage update (reference §5,
        UNVERIFIED), numbered from 1 among the pipeline's stages."""
        want = pipeline_of(self.desired, pipeline)
        pipeline_id = self.registry.pipelines.get(pipeline)
        if want is None or pipeline_id is None:
            return
        ours = self.registry.stages_of(pipeline)
        wanted = [int(ours[key]) for key in open_stage_keys(self.desired, want) if isinstance(ours.get(key), int)]
        current = self.account.stage_order(pipeline_id)
        slots = [i for i, stage_id in enumerate(current) if stage_id in wanted]
        target = list(current)
        for slot, stage_id in zip(slots, wanted, strict=True):
            target[slot] = stage_id
        for position, stage_id in enumerate(target):
            if current[position] != stage_id:
                self.account.stages[stage_id] = self.client.patch(STAGES + "/{id}", {"order_nr": position + 1},
                                                                  id=stage_id)
                current.remove(stage_id)
                current.insert(position, stage_id)
        for position, stage_id in enumerate(current):
            self.account.stages[stage_id]["order_nr"] = position + 1

    def delete_stage(self, change: Change) -> None:
        full_key = f"{change.address.scope}.{change.address.key}"
        value = self.registry.stages[full_key]
        if isinstance(value, int):
            deals = deals_in(self.client, stage_id=value)
            if deals:
                raise Refused(f"stage {change.address} holds {deals} deal(s) in Pipedrive; sos deletes no stage "
                              "that holds deals: move them to another stage first")
            if change.address.scope not in self.doomed:     # Pipedrive keeps a pipeline's last stage
                self.client.delete(STAGES + "/{id}", id=value)
        del self.registry.stages[full_key]
        self.save_registry()

    # -- fields -------------------------------------------------------------------------------

    def write_field(self, change: Change) -> None:
        want = self.desired.resources[change.address]
        entity = ENTITIES[change.address.scope]
        form = field_form(want)
        if change.action is Action.CREATE:
            body = {k: v for k, v in form.items() if k != "options"}
            if form["options"] is not None:
                body["options"] = [{"label": label} for label in form["options"]]
            self.account.fields[entity].append(self.client.post(FIELDS[entity], body))
            return
        found = self.account.field_by_mark(change.renamed_from or change.address) \
            if change.action is not Action.ADOPT else next(
            (f for f in self.account.fields[entity] if marked(str(f.get("description") or ""))[1] is None
             and f["field_name"] == want.attrs.get("label")), None)
        if found is None:
            raise Refused(f"Pipedrive no longer holds field {change.address}")
        if found["field_type"] != field_type(want.attrs):
            raise Refused(f"Pipedrive cannot change the type of field {change.address} "
                          f"({found['field_type']} → {field_type(want.attrs)})")
        body = {k: form[k] for k in ("field_name", "description") if found.get(k) != form[k]}
        if body:
            found.update(self.client.patch(FIELDS[entity] + "/{code}", body, code=found["field_code"]))
        held = {o["label"] for o in found.get("options") or []}
        missing = [label for label in form["options"] or () if label not in held]
        if missing:     # the account's own options stay: sos only adds
            added = self.client.post(FIELDS[entity] + "/{code}/options", [{"label": label} for label in missing],
                                     code=found["field_code"])
            found["options"] = [*(found.get("options") or []), *added]

    def delete_field(self, change: Change) -> None:
        found = self.account.field_by_mark(change.address)
        if found is not None:
            entity = ENTITIES[change.address.scope]
            self.client.delete(FIELDS[entity] + "/{code}", code=found["field_code"])
            self.account.fields[entity].remove(found)

    # -- lead statuses as lead labels ---------------------------------------------------------

    def write_label(self, change: Change) -> None:
        """A lead label named as the status; what a label cannot say (default, converted, position) goes in the
        registry."""
        attrs = self.desired.resources[change.address].attrs
        label = attrs.get("label")
        labels = self.account.lead_labels if self.account.lead_labels is not None else {}
        key = change.address.key
        if change.action is Action.CREATE:
            made = self.client.post(LEAD_LABELS, {"name": label, "color": LABEL_COLOR})
            labels[made["id"]] = made
            self.registry.lead_labels[key] = made["id"]
        elif change.action is Action.ADOPT:
            ours = set(self.registry.lead_labels.values())
            twin = next((i for i, found in labels.items() if i not in ours and found["name"] == label), None)
            if twin is None:
                raise Refused(f"Pipedrive no longer holds a lead label named {label!r} to adopt")
            self.registry.lead_labels[key] = twin
        label_id = self.registry.lead_labels[key]
        if labels[label_id]["name"] != label:
            labels[label_id] = self.client.patch(LEAD_LABELS + "/{id}", {"name": label}, id=label_id)
        self.registry.lead_statuses[key] = status_flags(attrs)
        self.save_registry()

    def delete_label(self, change: Change) -> None:
        self.client.delete(LEAD_LABELS + "/{id}", id=self.registry.lead_labels[change.address.key])
        del self.registry.lead_labels[change.address.key]
        self.registry.lead_statuses.pop(change.address.key, None)
        self.save_registry()

    # -- stage requirements as required fields ------------------------------------------------

    def write_requirement(self, change: Change) -> None:
        """Record the requirement (or take it out), then set `required_fields` on every deal field it names as all
        the requirements sos holds need it (the setting is per field, across stages and pipelines)."""
        full_key = f"{change.address.scope}.{change.address.key}"
        before = self.registry.requirements.get(full_key, {"fields": [], "stages": []})
        if change.action is Action.DELETE:
            self.registry.requirements.pop(full_key, None)
        else:
            after = self.desired.resources[change.address].attrs
            self.registry.requirements[full_key] = {"fields": list(after.get("fields", ())),
                                                    "stages": list(after.get("stages", ()))}
        named = set(before["fields"]) | set(self.registry.requirements.get(full_key, {"fields": []})["fields"])
        settings = requirement_settings(self.account, self.registry.requirements, self.desired)
        for key in sorted(named):
            address = Address(Kind.FIELD, "opportunity", key)
            found = self.account.field_by_mark(address)
            if found is None:
                continue
            wanted = settings.get(address, {"enabled": False})
            if held_setting(found) != wanted:
                found.update(self.client.patch(FIELDS["deal"] + "/{code}", {"required_fields": wanted},
                                               code=found["field_code"]))
        self.save_registry()
