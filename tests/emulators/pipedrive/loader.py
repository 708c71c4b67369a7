"""Test infrastructure: deals, activities and leads put into the emulated account WITH their past, as an import
by Pipedrive's migration team would leave them: each deal made at its moment, then saved again at each
later change, writing the changelog an API update writes (history.log_changes). Never reachable through the API:
sos's production paths cannot load history."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .account import Account
from .history import log_changes

Update = tuple[str, int, Mapping[str, object]]    # (when: ISO date and time …Z, who: a user id, the deal keys written)
MOMENTS = {"open": (), "won": ("close_time", "won_time"), "lost": ("close_time", "lost_time")}


def load_deal(account: Account, values: Mapping[str, Any], *, created: str,
              updates: Sequence[Update] = ()) -> int:
    """A deal made with `values` (deal keys: title, owner_id, stage_id, status, value, expected_close_date…) at
    `created`, then each of `updates` saved in turn; its id."""
    deal = account.seed_deal(str(values["title"]), int(values["stage_id"]))
    deal.update(add_time=created, stage_change_time=created, **_placed(account, values, created))
    for when, who, written in updates:
        saved = {**deal, **_placed(account, {**deal, **written}, when), "update_time": when}
        if saved["stage_id"] != deal["stage_id"]:
            saved["stage_change_time"] = when
        log_changes(account, deal, saved, actor=who, at=when, source="app")
        deal.update(saved)
    return int(deal["id"])


def _placed(account: Account, values: Mapping[str, Any], at: str) -> dict[str, Any]:
    """The deal keys of `values`, its pipeline from its stage, and the times its status sets."""
    status = str(values.get("status", "open"))
    placed = {key: value for key, value in values.items() if key != "custom_fields"}
    placed.update(pipeline_id=account.stages[int(values["stage_id"])].pipeline_id, status=status, update_time=at,
                  close_time=None, won_time=None, lost_time=None)
    placed.update({moment: values.get(moment) or at for moment in MOMENTS[status]})
    return placed


def add_activity(account: Account, subject: str, *, owner: int | None, created: str, due: str | None,
                 done: str | None = None, deal_id: int | None = None, lead_id: str | None = None) -> int:
    """A task (`type` task) on a deal or a lead, logged at `created`, due at `due` (a day, or a day and a UTC time:
    `2026-12-04T09:30Z`), marked done at `done` (or not done)."""
    day, _, time = (due or "").partition("T")
    activity_id = account.next_id()
    account.activities[activity_id] = {
        "id": activity_id, "subject": subject, "type": "task", "owner_id": owner, "creator_user_id": owner,
        "is_deleted": False, "add_time": created, "update_time": done or created, "deal_id": deal_id,
        "lead_id": lead_id, "person_id": None, "org_id": None, "project_id": None, "due_date": day or None,
        "due_time": time[:5] or None, "duration": None, "busy": False, "done": done is not None,
        "marked_as_done_time": done, "note": None}
    return activity_id


def add_lead(account: Account, title: str, *, owner: int | None, created: str, label_ids: Sequence[str],
             source_name: str | None, organization_id: int | None = None) -> str:
    """A lead in the Leads Inbox (v1 shape: Node SDK src/versions/v1/models/lead.ts); its UUID."""
    lead_id = str(uuid.uuid4())
    account.leads[lead_id] = {
        "id": lead_id, "title": title, "owner_id": owner, "creator_id": owner, "label_ids": list(label_ids),
        "person_id": None, "organization_id": organization_id, "source_name": source_name, "origin": "API",
        "origin_id": None, "channel": None, "channel_id": None, "is_archived": False, "was_seen": True, "value": None,
        "expected_close_date": None, "next_activity_id": None, "add_time": created, "update_time": created,
        "visible_to": "3", "cc_email": None}
    return lead_id

