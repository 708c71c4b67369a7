"""One Pipedrive company account: its user, pipelines, stages, fields and records, with seeding helpers.

A new account looks like a fresh Pipedrive company (reference/pipedrive.md §10): pipeline 1 "Pipeline"
(`order_nr` 0) with the default stages, and the system fields of deals, persons and organizations.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .fields import ENTITIES, SYSTEM_FIELDS, Field, Option, default_visibility, new_key, v1_time
from .limits import Clock

# A fresh company's default pipeline (UNVERIFIED names and probabilities; the reference seeds "a few stages").
DEFAULT_STAGES = [("Qualified", 10), ("Contact Made", 20), ("Demo Scheduled", 40), ("Proposal Made", 60),
                  ("Negotiations Started", 80)]

DEFAULT_LEAD_LABELS = [("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue")]   # UNVERIFIED


@dataclass
class Pipeline:
    id: int
    name: str
    order_nr: int
    is_deal_probability_enabled: bool
    add_time: str
    update_time: str
    is_deleted: bool = False

    def v2(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "order_nr": self.order_nr, "is_deleted": self.is_deleted,
                "is_deal_probability_enabled": self.is_deal_probability_enabled, "add_time": self.add_time,
                "update_time": self.update_time}

    def v1(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url_title": self.name.lower().replace(" ", "-"),
                "order_nr": self.order_nr, "active": not self.is_deleted,
                "deal_probability": self.is_deal_probability_enabled, "add_time": v1_time(self.add_time),
                "update_time": v1_time(self.update_time), "selected": self.order_nr == 0}


@dataclass
class Stage:
    id: int
    pipeline_id: int
    name: str
    order_nr: int
    deal_probability: int
    is_deal_rot_enabled: bool
    days_to_rotten: int | None
    add_time: str
    update_time: str
    is_deleted: bool = False

    def v2(self) -> dict[str, Any]:
        return {"id": self.id, "order_nr": self.order_nr, "name": self.name, "is_deleted": self.is_deleted,
                "deal_probability": self.deal_probability, "pipeline_id": self.pipeline_id,
                "is_deal_rot_enabled": self.is_deal_rot_enabled, "days_to_rotten": self.days_to_rotten,
                "add_time": self.add_time, "update_time": self.update_time}

    def v1(self, pipeline: Pipeline) -> dict[str, Any]:
        return {"id": self.id, "order_nr": self.order_nr, "name": self.name, "active_flag": not self.is_deleted,
                "deal_probability": self.deal_probability, "pipeline_id": self.pipeline_id,
                "rotten_flag": self.is_deal_rot_enabled, "rotten_days": self.days_to_rotten,
                "add_time": v1_time(self.add_time), "update_time": v1_time(self.update_time),
                "pipeline_name": pipeline.name, "pipeline_deal_probability": pipeline.is_deal_probability_enabled}


class Account:
    """State of one company. Handlers change it under the emulator's lock; tests read it directly."""

    def __init__(self, clock: Clock, *, company_id: int, domain: str, name: str) -> None:
        self.clock = clock
        self.company_id = company_id
        self.domain = domain
        self.company_name = name
        self.user: dict[str, Any] = {"id": company_id * 100 + 1, "name": "Alex Admin",
                                     "email": f"admin@{domain}.example", "is_admin": 1}
        self.users: dict[int, dict[str, Any]] = {self.user["id"]: self.user}
        self.open_deals_limit: int | None = None        # plan caps (feature capping); None: no cap
        self.custom_fields_limit: int | None = None
        self._ids = itertools.count(1)
        self.pipelines: dict[int, Pipeline] = {}
        self.stages: dict[int, Stage] = {}
        self.fields: dict[str, list[Field]] = {entity: [] for entity in ENTITIES}
        self.records: dict[str, dict[int, dict[str, Any]]] = {entity: {} for entity in ENTITIES}
        self.lead_labels: dict[str, dict[str, Any]] = {}
        self.leads: dict[str, dict[str, Any]] = {}
        self.activities: dict[int, dict[str, Any]] = {}
        self.changelog: dict[int, list[dict[str, Any]]] = {}    # deal id → its field changes, oldest first
        self._seed_defaults()

    # -- time and ids ---------------------------------------------------------------------

    def now(self) -> str:
        return iso(self.clock())

    def next_id(self) -> int:
        return next(self._ids)

    # -- lookups --------------------------------------------------------------------------

    def active_pipelines(self) -> set[int]:
        return {p.id for p in self.pipelines.values() if not p.is_deleted}

    def stages_by_pipeline(self) -> dict[int, set[int]]:
        by_pipeline: dict[int, set[int]] = {p: set() for p in self.active_pipelines()}
        for stage in self.stages.values():
            if not stage.is_deleted and stage.pipeline_id in by_pipeline:
                by_pipeline[stage.pipeline_id].add(stage.id)
        return by_pipeline

    def ordered_stages(self, pipeline_id: int) -> list[Stage]:
        return sorted((s for s in self.stages.values() if s.pipeline_id == pipeline_id and not s.is_deleted),
                      key=lambda s: s.order_nr)

    def field(self, entity: str, code: str) -> Field | None:
        return next((f for f in self.fields[entity] if f.code == code), None)

    def custom_field_count(self) -> int:
        return sum(1 for entity in ENTITIES for f in self.fields[entity] if f.custom)

    def deals_in(self, *, stage_id: int | None = None, pipeline_id: int | None = None) -> int:
        return sum(1 for d in self.records["deal"].values() if not d["is_deleted"]
                   and (stage_id is None or d["stage_id"] == stage_id)
                   and (pipeline_id is None or d["pipeline_id"] == pipeline_id))

    # -- creation (shared by the API and seeding) -----------------------------------------

    def add_pipeline(self, name: str, is_deal_probability_enabled: bool = False) -> Pipeline:
        now = self.now()
        order = max((p.order_nr for p in self.pipelines.values()), default=-1) + 1
        pipeline = Pipeline(self.next_id(), name, order, is_deal_probability_enabled, now, now)
        self.pipelines[pipeline.id] = pipeline
        return pipeline

    def add_stage(self, pipeline_id: int, name: str, deal_probability: int = 100, is_deal_rot_enabled: bool = False,
                  days_to_rotten: int | None = None) -> Stage:
        now = self.now()
        order = max((s.order_nr for s in self.ordered_stages(pipeline_id)), default=0) + 1   # appended
        stage = Stage(self.next_id(), pipeline_id, name, order, deal_probability, is_deal_rot_enabled,
                      days_to_rotten if is_deal_rot_enabled else None, now, now)
        self.stages[stage.id] = stage
        return stage

    def add_field(self, entity: str, name: str, field_type: str, labels: list[tuple[str, str | None]] | None = None,
                  *, custom: bool = True, code: str | None = None) -> Field:
        now = self.now()
        options = [Option(self.next_id(), label, color, now, now) for label, color in labels or []] or None
        created = Field(self.next_id(), entity, code or new_key(), name, field_type, custom,
                        len(self.fields[entity]), now, now, options=options, ui_visibility=default_visibility(entity))
        self.fields[entity].append(created)
        return created

    def add_user(self, email: str) -> dict[str, Any]:
        """Another user of the company (Settings → Manage users), as GET /v1/users lists them."""
        user: dict[str, Any] = {"id": self.company_id * 100 + 1 + len(self.users), "name": email.split("@")[0],
                                "email": email, "is_admin": 0}
        self.users[user["id"]] = user
        return user

    def add_lead_label(self, name: str, color: str) -> dict[str, Any]:
        now = self.now()
        label = {"id": str(uuid.uuid4()), "name": name, "color": color, "add_time": now, "update_time": now}
        self.lead_labels[label["id"]] = label
        return label

    # -- seeding --------------------------------------------------------------------------

    def seed_deal(self, title: str, stage_id: int, *, status: str = "open", value: float = 0, currency: str = "USD",
                  person_id: int | None = None, org_id: int | None = None, lost_reason: str | None = None,
                  custom_fields: dict[str, Any] | None = None, stage_change_time: datetime | None = None,
                  expected_close_date: str | None = None) -> dict[str, Any]:
        """A deal as if made in the UI: no validation, no token cost (for audit and report fixtures)."""
        stage = self.stages[stage_id]
        now = self.now()
        deal: dict[str, Any] = {
                "id": self.next_id(), "title": title, "owner_id": self.user["id"], "person_id": person_id,
                "org_id": org_id, "pipeline_id": stage.pipeline_id, "stage_id": stage_id, "value": value,
                "currency": currency, "add_time": now, "update_time": now,
                "stage_change_time": iso(stage_change_time) if stage_change_time else now, "is_deleted": False,
                "is_archived": False, "status": status, "probability": None, "lost_reason": lost_reason,
                "visible_to": 3, "close_time": now if status != "open" else None,
                "won_time": now if status == "won" else None, "lost_time": now if status == "lost" else None,
                "expected_close_date": expected_close_date, "label_ids": [], "custom_fields": dict(custom_fields or {})}
        self.records["deal"][deal["id"]] = deal
        return deal

    def seed_person(self, name: str, *, email: str | None = None, org_id: int | None = None,
                    custom_fields: dict[str, Any] | None = None) -> dict[str, Any]:
        now = self.now()
        person: dict[str, Any] = {"id": self.next_id(), "name": name, "owner_id": self.user["id"], "org_id": org_id,
                  "emails": [{"value": email, "primary": True, "label": "work"}] if email else [], "phones": [],
                  "add_time": now, "update_time": now, "is_deleted": False, "visible_to": 3, "label_ids": [],
                  "custom_fields": dict(custom_fields or {})}
        self.records["person"][person["id"]] = person
        return person

    def seed_organization(self, name: str, *, custom_fields: dict[str, Any] | None = None) -> dict[str, Any]:
        now = self.now()
        organization: dict[str, Any] = {
                        "id": self.next_id(), "name": name, "owner_id": self.user["id"], "add_time": now,
                        "update_time": now, "is_deleted": False, "visible_to": 3, "label_ids": [], "address": None,
                        "custom_fields": dict(custom_fields or {})}
        self.records["organization"][organization["id"]] = organization
        return organization

    def seed_sample(self, count: int) -> list[dict[str, Any]]:
        """`count` open deals spread over the default pipeline's stages, each with an organization and a contact."""
        stages = self.ordered_stages(min(self.pipelines))
        deals = []
        for number in range(1, count + 1):
            organization = self.seed_organization(f"Company {number}")
            person = self.seed_person(f"Contact {number}", email=f"contact{number}@example.com",
                                      org_id=organization["id"])
            deals.append(self.seed_deal(f"Deal {number}", stages[(number - 1) % len(stages)].id, value=1000 * number,
                                        person_id=person["id"], org_id=organization["id"]))
        return deals

    def _seed_defaults(self) -> None:
        pipeline = self.add_pipeline("Pipeline", is_deal_probability_enabled=True)
        for name, probability in DEFAULT_STAGES:
            self.add_stage(pipeline.id, name, probability)
        for name, color in DEFAULT_LEAD_LABELS:
            self.add_lead_label(name, color)
        for entity, system in SYSTEM_FIELDS.items():
            for code, name, field_type in system:
                self.add_field(entity, name, field_type, custom=False, code=code)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
