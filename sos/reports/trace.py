"""sos trace, the ten-lead test: the most recent leads (or the ones named), each followed end to end — created,
routed, first touch against the speed-to-lead cadence's due time, status changes, converted into which deal, the
deal's stages with the days in each, its outcome — with every leak flagged where it happened, and a one-line
summary of where leads leak."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sos.errors import Diagnostic, SosError
from sos.model.automation import speed_to_lead
from sos.model.exprs import model_scope
from sos.model.resources import Kind, Model
from sos.reports.common import Activity, FieldChange, History, Stage, end_of, header, stages_of, start_of

LEAD_FIELDS = ("name", "company", "lead_source", "status", "owner", "created_date")
# Where a lead leaks, as the summary says it ("4 at first touch").
LEAKS = {"unassigned": "unassigned", "first_touch": "at first touch", "stuck": "stuck in a status",
         "no_deal": "converted but no deal", "stalled": "deal stalled past max_days"}


def trace(history: History, model: Model, *, target: Mapping[str, str], today: datetime.date, leads: int = 10,
          ids: Sequence[str] = (), stuck_days: int = 14, generated: datetime.datetime) -> dict[str, Any]:
    """The timelines of the `leads` most recent leads created by `today` (or of `ids`), with their leaks."""
    rows = [r for r in history.rows("lead", list(LEAD_FIELDS), desired=model)
            if isinstance(r.get("created_date"), datetime.datetime)]
    chosen = _chosen(rows, today, leads, ids)
    since = start_of(min((r["created_date"] for r in chosen), default=end_of(today)).date())  # type: ignore
    wanted = {str(r["id"]) for r in chosen}
    lead_timeline = history.changes("lead", ["status", "owner"], since, desired=model)
    lead_changes = [c for c in lead_timeline.changes if c.record in wanted]
    tasks = [a for a in history.activities("lead", since) if a.record in wanted]
    deal_ids = {str(r["converted_deal"]) for r in chosen if r.get("converted_deal")}
    deal_rows = {str(d["id"]): d for d in history.rows("opportunity", ["name", "stage", "amount", "created_date"],
                                                        desired=model) if str(d["id"]) in deal_ids}
    stage_timeline = history.changes("opportunity", ["stage"], since, desired=model)
    stage_changes = [c for c in stage_timeline.changes if c.record in deal_ids]
    story = _Story(model, stages_of(model), today, stuck_days)
    traced = [story.of(lead, [c for c in lead_changes if c.record == str(lead["id"])],
                       [a for a in tasks if a.record == str(lead["id"])],
                       deal_rows.get(str(lead.get("converted_deal"))),
                       [c for c in stage_changes if c.record == str(lead.get("converted_deal"))]) for lead in chosen]
    leaked = Counter(kind for lead in traced for kind in dict.fromkeys(leak["kind"] for leak in lead["leaks"]))
    return {**header("trace", target, today, generated, stuck_days=stuck_days),
            "not_held": history.not_held("lead", LEAD_FIELDS, desired=model),
            "unavailable": {**lead_timeline.unavailable, **stage_timeline.unavailable}, "leads": traced,
            "leaked": sum(1 for lead in traced if lead["leaks"]), "by_leak": dict(leaked.most_common()),
            "summary": summary(len(traced), sum(1 for lead in traced if lead["leaks"]), leaked)}


def summary(traced: int, leaked: int, by_leak: Mapping[str, int]) -> str:
    """The one line: '6 of 10 leads leaked: 4 at first touch, 2 unassigned'."""
    if not traced:
        return "No leads to trace."
    if not leaked:
        return f"None of the {traced} leads leaked."
    where = ", ".join(f"{count} {LEAKS[kind]}" for kind, count in sorted(by_leak.items(), key=lambda i: -i[1]))
    return f"{leaked} of {traced} lead{'s' * (traced != 1)} leaked: {where}."


def _chosen(rows: list[dict[str, object]], today: datetime.date, count: int,
            ids: Sequence[str]) -> list[dict[str, object]]:
    if ids:
        by_id = {str(r["id"]): r for r in rows}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise SosError([Diagnostic(None, f"the target holds no lead '{i}'", "lead-missing",
                                       fix="run `sos trace` without ids to see the most recent leads' ids")
                            for i in missing])
        return [by_id[i] for i in dict.fromkeys(ids)]
    made = [r for r in rows if r["created_date"] <= end_of(today)]     # type: ignore[operator]
    return sorted(made, key=lambda r: (r["created_date"], r["id"]), reverse=True)[:count]


class _Story:
    """Tells one lead's story: its events, oldest first, and its leaks."""

    def __init__(self, model: Model, stages: Mapping[str, Stage], today: datetime.date, stuck_days: int) -> None:
        statuses = model_scope(model, "lead").statuses
        self.converted = {s.key for s in statuses if s.converted}
        self.closed = statuses[-1].key if statuses else None    # the last status ends a lead (disqualified)
        self.first_touch = speed_to_lead(model)
        self.labels = {r.address.key: str(r.attrs.get("label") or r.address.key)
                       for r in model.of_kind(Kind.LEAD_STATUS)}
        self.stages, self.now, self.stuck_days = stages, end_of(today), stuck_days

    def of(self, lead: Mapping[str, object], changes: list[FieldChange], tasks: list[Activity],
           deal: Mapping[str, object] | None, stage_changes: list[FieldChange]) -> dict[str, Any]:
        created = lead["created_date"]
        assert isinstance(created, datetime.datetime)
        events: list[dict[str, object]] = [_event(created, "created", f"source: {lead.get('lead_source') or '—'}")]
        leaks: list[dict[str, str]] = []
        assigned = next((c for c in changes if c.field == "owner" and c.old is None), None)
        if lead.get("owner") is None:
            leaks.append(_leak("unassigned", "no route or rep owns it"))
        elif assigned is not None:
            events.append(_event(assigned.at, "routed", f"to {assigned.new} by {assigned.who or 'the CRM'}"))
        events.extend(self._first_touch(created, tasks, leaks))
        moves = [c for c in changes if c.field == "status" and c.old is not None]
        events.extend(_event(c.at, "status", f"{self._label(c.old)} → {self._label(c.new)}") for c in moves)
        status = lead.get("status")
        in_status_since = moves[-1].at if moves else created
        days = (self.now - in_status_since).days
        if status not in self.converted and status != self.closed and days > self.stuck_days:
            leaks.append(_leak("stuck", f"in {self._label(status)} for {days} days (over {self.stuck_days})"))
        if status in self.converted:
            events.extend(self._deal(lead, deal, stage_changes, leaks))
        return {"id": lead["id"], "name": lead.get("name"), "company": lead.get("company"), "url": lead.get("url"),
                "owner": lead.get("owner"), "status": status, "created": created.isoformat(),
                "source": lead.get("lead_source"), "deal": lead.get("converted_deal"),
                "events": sorted(events, key=lambda e: str(e["at"])), "leaks": leaks}

    def _label(self, status: object) -> str:
        """A lead status as the sales team calls it."""
        return self.labels.get(str(status), str(status))

    def _first_touch(self, created: datetime.datetime, tasks: list[Activity],
                     leaks: list[dict[str, str]]) -> list[dict[str, object]]:
        if self.first_touch is None:
            return []
        cadence, task = self.first_touch
        due = created + datetime.timedelta(hours=task.due_in_hours if task.due_in_hours is not None
                                           else 24 * (task.due_in_days or 0))
        touch = next((a for a in tasks if a.cadence == cadence or a.subject == task.subject), None)
        done = touch.completed if touch else None
        if done is not None:
            late = done > due
            if late:
                leaks.append(_leak("first_touch", f"done {_hours(done - due)} after it was due"))
            return [_event(done, "first touch", f"after {_hours(done - created)}"
                           f"{' — late' if late else ''} (due within {_hours(due - created)})")]
        if due < self.now:
            leaks.append(_leak("first_touch", "never done" if touch else "no first-touch task"))
        return [_event(due, "first touch", f"{'not done' if touch else 'no task'}; due {due:%Y-%m-%d %H:%M} UTC")]

    def _deal(self, lead: Mapping[str, object], deal: Mapping[str, object] | None, stage_changes: list[FieldChange],
              leaks: list[dict[str, str]]) -> list[dict[str, object]]:
        if deal is None:
            leaks.append(_leak("no_deal", f"status {lead.get('status')} but no deal was created"))
            return []
        deal_created = deal.get("created_date")
        converted_at = stage_changes[0].at if stage_changes else deal_created
        events = [_event(converted_at if isinstance(converted_at, datetime.datetime) else "", "converted",
                         f"into deal {deal['id']} {deal.get('name') or ''}".rstrip())]
        for change, following in zip(stage_changes, [*stage_changes[1:], None], strict=True):
            until = following.at if following else self.now
            days = (until.date() - change.at.date()).days
            stage = self.stages.get(str(change.new))
            events.append(_event(change.at, "stage", f"{stage.label if stage else change.new}: {days} days"))
            if following is None and stage is not None and stage.outcome == "open" and stage.max_days is not None \
                    and days > stage.max_days:
                leaks.append(_leak("stalled", f"{days} days in {stage.label} (max_days {stage.max_days})"))
        stage = self.stages.get(str(deal.get("stage")))
        if stage is not None and stage.outcome != "open":
            events.append(_event(stage_changes[-1].at if stage_changes else self.now, "outcome", stage.outcome))
        return events


def _event(at: datetime.datetime | str, what: str, detail: str) -> dict[str, object]:
    return {"at": at.isoformat() if isinstance(at, datetime.datetime) else at, "what": what, "detail": detail}


def _leak(kind: str, where: str) -> dict[str, str]:
    return {"kind": kind, "where": where}


def _hours(span: datetime.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
