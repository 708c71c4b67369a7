"""The history side of a Pipedrive account (backends.base.History): deals and leads as they are, as they changed,
and the activities on them, for the weekly reports.

Where Pipedrive keeps it (API reference; Node SDK pipedrive/client-nodejs v32.2.1 docs/ChangelogResponseAllOfData.md,
src/versions/v2/models/deal-item.ts, activity-item.ts; reference/pipedrive.md):
- **A deal's changelog**, `GET /v1/deals/{id}/changelog` (cursor paged): one item per changed field, `{field_key,
  old_value, new_value, actor_user_id, time}`, the values as text. It is the one endpoint that gives old and new
  values with the time and the user; `GET /v1/deals/{id}/flow` mixes the same changes with notes, mails and files
  (more to read for the same answer), and `GET /v1/recents?items=deal` gives the deals as they are now, not what
  changed. The changelog is per deal, so sos reads it only for the deals updated since the period began (a change
  since then moved the deal's `update_time`) and saved at least once: one call each. When a deal entered its
  stage (days in stage) is the deal's own `stage_change_time` (blank until its stage first changes: `add_time`;
  a won or lost deal's `close_time`), so no changelog is read for it.
  A deal's creation is not an item; its values then are each field's first old value (or its value now), at
  `add_time`, by nobody the API names.
- **Stage, won and lost**: an open deal's stage is its `stage_id`; won and lost are deal statuses, read as the
  blueprint's won stage and the lost stage its lost reason names (records.RecordReader.stage). A save that moves a
  deal's stage and status at once is one stage change.
- **Activities**, `GET /api/v2/activities?updated_since=` (one paged read for all deals and leads): a task's deal
  or lead, owner, due date and `marked_as_done_time`. A deal's next step is its next activity that is not done (the
  earliest due), its last activity date the due date of its latest done one: Pipedrive holds no next step field.
- **Forecast category**: Pipedrive has none. A deal's is the category its stage puts it in (the blueprint's
  `forecast`); a rep's call apart from the stage cannot be read, nor its changes, and the reports say so.
- **Leads**, `GET /v1/leads` (v1 only): a lead's status is the lead label sos made for it, its company the name of
  its organization (`GET /api/v2/organizations`, read when asked). Pipedrive keeps no
  changelog of leads and lists no converted lead (it leaves the Leads Inbox for its deal, UNVERIFIED), so a lead's
  status and owner changes and the deal it became cannot be read: the trace says so.
- **Owners** are user ids, named by the user's email (`GET /v1/users`, one call).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from itertools import groupby
from typing import Any

from sos.backends.base import STAGE_ENTERED, Activity, FieldChange, Timeline, utc_moment
from sos.backends.pipedrive.client import ACTIVITIES, CHANGELOG, LEADS, USERS, PipedriveClient
from sos.backends.pipedrive.read import Account
from sos.backends.pipedrive.records import RecordReader
from sos.expr.types import Kind, Scope

CONVERTED_DEAL = "converted_deal"
# sos field key → the deal keys a change of it is logged under (stage: its stage, status and lost reason)
LOGGED = {"stage": ("stage_id", "status", "lost_reason"), "amount": ("value",), "close_date": ("expected_close_date",),
          "owner": ("owner_id",), "name": ("title",), "probability": ("probability",)}
NUMBERS = {"stage_id", "owner_id", "value", "probability"}
NO_FORECAST = ("Pipedrive holds no forecast category: each deal is in its stage's (the blueprint's `forecast`), "
               "so a rep's call apart from the stage, and its changes, cannot be read")
NO_NEXT_STEP = ("Pipedrive has no next step field: sos reads a deal's next open activity as its next step, and "
                "Pipedrive keeps no history of it")
NO_LEAD_LOG = ("Pipedrive keeps no change log of leads (its changelog covers deals), so a lead's {field} changes "
               "cannot be read, and a converted lead leaves the Leads Inbox")


class AccountHistory:
    """History read from one account (as `read_account` found it), named as the blueprint's scopes say; every
    list is read once for the command."""

    def __init__(self, client: PipedriveClient, account: Account, scopes: Mapping[str, Scope],
                 forecasts: Mapping[str, str | None], today: datetime.date) -> None:
        self.client = client
        self.account = account
        self.scopes = scopes
        self.forecasts = forecasts        # stage key → the forecast category the blueprint gives it
        self.reader = RecordReader(client, account, today)
        self.site = f"https://{client.connection.company_domain}.pipedrive.com"
        self.changelogs: dict[int, list[dict[str, Any]]] = {}

    @cached_property
    def users(self) -> dict[int, str]:
        return {int(u["id"]): str(u["email"]) for u in self.client.get(USERS) or ()}

    @cached_property
    def leads(self) -> list[dict[str, Any]]:
        return list(self.client.paged(LEADS))

    @cached_property
    def all_activities(self) -> list[dict[str, Any]]:
        return list(self.client.paged(ACTIVITIES))

    # -- rows --------------------------------------------------------------------------------------------------

    def rows(self, obj: str, fields: Sequence[str]) -> Iterator[dict[str, object]]:
        if obj == "opportunity":
            yield from self._deals(fields)
        elif obj == "lead":
            yield from self._leads(fields)

    def _deals(self, fields: Sequence[str]) -> Iterator[dict[str, object]]:
        scope = self.scopes["opportunity"]
        planned = self._planned() if {"next_step", "last_activity_date"} & set(fields) else {}
        for deal in self.reader.records("opportunity"):
            values = self.reader.record("opportunity", deal, scope)
            row: dict[str, object] = {"id": str(deal["id"]), "url": f"{self.site}/deal/{deal['id']}"}
            for key in fields:
                row[key] = self._decode(scope, key, values.get(key))
            row["owner"] = self.users.get(int(deal["owner_id"]))
            if "forecast_category" in fields:
                row["forecast_category"] = self.forecasts.get(str(values["stage"]))
            next_step, last = planned.get(int(deal["id"]), (None, None))
            row.update({k: v for k, v in (("next_step", next_step), ("last_activity_date", last)) if k in fields})
            if STAGE_ENTERED in fields:
                row[STAGE_ENTERED] = utc_moment(_stage_entered(deal))
            yield row

    def _planned(self) -> dict[int, tuple[str | None, datetime.date | None]]:
        """Deal id → (the subject of its next activity not done, the due date of its latest done one)."""
        by_deal: dict[int, list[dict[str, Any]]] = {}
        for activity in self.all_activities:
            if activity.get("deal_id"):
                by_deal.setdefault(int(activity["deal_id"]), []).append(activity)
        planned = {}
        for deal, activities in by_deal.items():
            todo = sorted((a for a in activities if not a["done"]),
                          key=lambda a: (a.get("due_date") or "9999", a["id"]))
            done = [a["due_date"] for a in activities if a["done"] and a.get("due_date")]
            planned[deal] = (str(todo[0]["subject"]) if todo else None,
                             datetime.date.fromisoformat(max(done)) if done else None)
        return planned

    def _leads(self, fields: Sequence[str]) -> Iterator[dict[str, object]]:
        statuses = {label: key for key, label in self.account.registry.lead_labels.items()}
        companies = {o["id"]: o["name"] for o in self.reader.records("account")} if "company" in fields else {}
        for lead in self.leads:
            values = {"name": lead.get("title"), "lead_source": lead.get("source_name"),
                      "company": companies.get(lead.get("organization_id")),
                      "created_date": utc_moment(lead["add_time"]),
                      "owner": self.users.get(int(lead["owner_id"])) if lead.get("owner_id") else None,
                      "status": next((statuses[i] for i in lead.get("label_ids") or () if i in statuses), None)}
            yield {"id": str(lead["id"]), "url": f"{self.site}/leads/inbox/{lead['id']}",
                   **{key: values.get(key) for key in fields}, CONVERTED_DEAL: None}

    def _decode(self, scope: Scope, key: str, value: object) -> object:
        if value is None or value == "":
            return None
        kind = scope.fields[key].kind if key in scope.fields else None
        if kind is Kind.DATE:
            return datetime.date.fromisoformat(str(value)[:10])
        if kind is Kind.DATETIME:
            return utc_moment(str(value))
        if kind is Kind.NUMBER:
            return float(value)  # type: ignore[arg-type]
        return value

    # -- changes -----------------------------------------------------------------------------------------------

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime) -> Timeline:
        wanted = list(dict.fromkeys(fields))
        if obj == "lead":
            return Timeline((), {key: NO_LEAD_LOG.format(field=key) for key in wanted})
        unavailable = {key: why for key, why in (("forecast_category", NO_FORECAST), ("next_step", NO_NEXT_STEP))
                       if key in wanted}
        unavailable.update({key: f"Pipedrive holds no field for {key}, so it has no history of it"
                            for key in wanted if key not in LOGGED and key not in unavailable})
        readable = [key for key in wanted if key not in unavailable]
        found: list[FieldChange] = []
        if readable:
            changed = [deal for deal in self.reader.records("opportunity")
                       if utc_moment(deal["update_time"]) >= since or utc_moment(deal["add_time"]) >= since]
            unread = sum(1 for deal in changed if deal["id"] not in self.changelogs and _saved(deal))
            if unread:
                self.client.progress(f"Reading the changelog of {unread:,} Pipedrive deal{'s' * (unread != 1)}, "
                                     "one call each")
            for deal in changed:
                found += self._deal_changes(deal, readable, since)
        found.sort(key=lambda c: (c.at, c.record, c.field))
        return Timeline(tuple(found), unavailable)

    def _deal_changes(self, deal: dict[str, Any], keys: Sequence[str], since: datetime.datetime) -> list[FieldChange]:
        items = self._changelog(deal)
        state = {key: deal.get(key) for key in {k for key in keys for k in LOGGED[key]}}
        for item in reversed(items):        # back to the values it was created with
            if item["field_key"] in state:
                state[item["field_key"]] = _raw(item["field_key"], item["old_value"])
        record, changes = str(deal["id"]), []
        created = utc_moment(deal["add_time"])
        if created >= since:
            changes += [FieldChange(record, key, None, value, created, None)
                        for key in keys if (value := self._value(deal, key, state)) is not None]
        saves = groupby((i for i in items if i["field_key"] in state), key=lambda i: (i["time"], i["actor_user_id"]))
        for (time, actor), saved in saves:
            before = {key: self._value(deal, key, state) for key in keys}
            for item in saved:
                state[item["field_key"]] = _raw(item["field_key"], item["new_value"])
            at = utc_moment(time)
            if at < since:
                continue
            for key in keys:
                after = self._value(deal, key, state)
                if after != before[key]:
                    changes.append(FieldChange(record, key, before[key], after, at, self.users.get(int(actor))))
        return changes

    def _changelog(self, deal: dict[str, Any]) -> list[dict[str, Any]]:
        """The deal's changelog, oldest first, read once for the command."""
        if deal["id"] not in self.changelogs:
            logged = self.client.paged(CHANGELOG, id=deal["id"]) if _saved(deal) else ()
            self.changelogs[deal["id"]] = sorted(logged, key=lambda i: utc_moment(i["time"]))
        return self.changelogs[deal["id"]]

    def _value(self, deal: dict[str, Any], key: str, state: Mapping[str, object]) -> object:
        """A field of `deal` as History hands it out, with the deal keys `state` holds."""
        if key == "stage":
            return self.reader.stage({**deal, **state}, self.scopes["opportunity"])
        value = state[LOGGED[key][0]]
        if key == "owner":
            return self.users.get(int(value)) if value is not None else None   # type: ignore[call-overload]
        return self._decode(self.scopes["opportunity"], key, value)

    # -- activities --------------------------------------------------------------------------------------------

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        parent = {"opportunity": "deal_id", "lead": "lead_id"}.get(obj)
        if parent is None:
            return
        # an activity made since `since` was updated since then too: the filter Pipedrive offers narrows the read
        updated = self.client.paged(ACTIVITIES, {"updated_since": _rfc3339(since)})
        found = sorted((a for a in updated if a.get(parent) and utc_moment(a["add_time"]) >= since),
                       key=lambda a: (utc_moment(a["add_time"]), a["id"]))
        for task in found:
            done = task.get("marked_as_done_time") if task["done"] else None
            yield Activity(str(task["id"]), str(task[parent]), str(task.get("subject") or ""),
                           self.users.get(int(task["owner_id"])), utc_moment(task["add_time"]),
                           datetime.date.fromisoformat(task["due_date"]) if task.get("due_date") else None,
                           utc_moment(done) if done else None)


def _stage_entered(deal: dict[str, Any]) -> str:
    """When a deal entered the stage sos reads it in: a won or lost deal at its closing, an open one at Pipedrive's
    stamp of its last stage change (blank until its stage first changes: its creation)."""
    if deal["status"] != "open" and deal.get("close_time"):
        return str(deal["close_time"])
    return str(deal.get("stage_change_time") or deal["add_time"])


def _saved(deal: dict[str, Any]) -> bool:
    """Whether the deal was saved after its creation: every save moves update_time, and a deal never saved has no
    changelog to read."""
    return bool(deal["update_time"] != deal["add_time"])


def _raw(key: str, text: object) -> object:
    """A changelog value (text) as the deal holds it."""
    if text is None or text == "":
        return None
    return float(str(text)) if key in NUMBERS else str(text)


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
