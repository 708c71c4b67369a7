"""sos review, the Monday pipeline review: per pipeline and owner, the open deals by stage, the deals past their
stage's max_days, what moved since the last review, close dates that slipped, deals with no next step or no recent
activity, and the few deals to talk about, ranked by amount × risk."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from sos.model.resources import Model
from sos.reports.common import (DEAL_FIELDS, STAGE_ENTERED, History, Stage, deal_line, deals, header, money,
                                pipelines_of, spans, stages_of, start_of)

RISKS = {"over_limit": "past its stage's max_days", "slipped": "close date pushed out",
         "overdue": "close date passed", "no_next_step": "no next step", "inactive": "no recent activity",
         "backward": "moved back a stage"}


def review(history: History, model: Model, *, target: Mapping[str, str], today: datetime.date,
           since: datetime.date, inactive_days: int = 14, top: int = 10,
           generated: datetime.datetime) -> dict[str, Any]:
    """The pipeline review as of `today`, what moved counted from `since` (the last review)."""
    stages = stages_of(model)
    # when each deal entered its stage is the CRM's own stamp: only the period's changes are read, in one go
    rows = deals(history, model, (*DEAL_FIELDS, STAGE_ENTERED))
    timeline = history.changes("opportunity", ["stage", "close_date"], start_of(since), desired=model)
    moved = spans(c for c in timeline.changes if c.field == "stage")
    # a deal created in the period slipped from the close date it was created with: its creation (a change from
    # None, which a History may or may not report) is no move
    moves = [c for c in timeline.changes if c.field == "close_date" and c.old is not None]
    slipped = {record: (old, new) for record, (old, new, _) in spans(moves).items()
               if isinstance(old, datetime.date) and isinstance(new, datetime.date) and new > old}

    pipelines = []
    for key, label in pipelines_of(model).items():
        own = {k: s for k, s in stages.items() if s.pipeline == key}
        mine = [d for d in rows if d.get("stage") in own]
        pipelines.append(_pipeline(key, label, own, mine, moved, slipped, today=today,
                                   inactive_days=inactive_days, top=top))
    return {**header("review", target, today, generated, since=since.isoformat(), inactive_days=inactive_days),
            "unavailable": dict(timeline.unavailable), "pipelines": pipelines}


def _pipeline(key: str, label: str, stages: Mapping[str, Stage], rows: list[dict[str, object]],
              moved: Mapping[str, tuple[object, object, Any]],
              slipped: Mapping[str, tuple[datetime.date, datetime.date]], *,
              today: datetime.date, inactive_days: int, top: int) -> dict[str, Any]:
    open_deals = [d for d in rows if stages[str(d["stage"])].outcome == "open"]

    def weighted(deal: Mapping[str, object]) -> float:
        return money(deal.get("amount")) * stages[str(deal["stage"])].probability / 100

    def totals(group: list[dict[str, object]]) -> dict[str, float | int]:
        return {"count": len(group), "amount": sum(money(d.get("amount")) for d in group),
                "weighted": sum(weighted(d) for d in group)}

    def by_stage(group: list[dict[str, object]]) -> dict[str, dict[str, float | int]]:
        return {s.key: totals([d for d in group if d["stage"] == s.key]) for s in stages.values()
                if s.outcome == "open"}

    owners = sorted({str(d.get("owner") or "") for d in open_deals})
    by_owner = [{"owner": owner or None, **totals(group), "by_stage": by_stage(group)}
                for owner in owners for group in [[d for d in open_deals if (d.get("owner") or "") == owner]]]
    risks: dict[str, list[str]] = {}
    aging = []
    for deal in open_deals:
        stage = stages[str(deal["stage"])]
        entered_at = deal.get(STAGE_ENTERED) or deal.get("created_date")
        days = (today - entered_at.date()).days if isinstance(entered_at, datetime.datetime) else None
        over = stage.max_days is not None and days is not None and days > stage.max_days
        if stage.max_days is not None and days is not None and over:
            aging.append(deal_line(deal, days=days, max_days=stage.max_days, over=days - stage.max_days))
        risks[str(deal["id"])] = _risks(deal, over=over, slipped=str(deal["id"]) in slipped, today=today,
                                        inactive_days=inactive_days)
    all_deals = {str(d["id"]): d for d in rows}
    movement = _movement(stages, all_deals, moved)
    for line in movement["backward"]:
        risks.setdefault(str(line["id"]), []).append("backward")
    by_id = {str(d["id"]): d for d in open_deals}
    talk = sorted(((money(by_id[i].get("amount")) * len(flags), i, flags) for i, flags in risks.items()
                   if flags and i in by_id), key=lambda t: (-t[0], str(by_id[t[1]].get("name") or ""), t[1]))
    return {
        "key": key, "label": label,
        "stages": [{"key": s.key, "label": s.label, "outcome": s.outcome, "probability": s.probability,
                    "max_days": s.max_days} for s in stages.values()],
        "open": totals(open_deals),
        "by_stage": by_stage(open_deals),
        "by_owner": by_owner,
        "aging": sorted(aging, key=lambda line: (-int(str(line["over"])), str(line.get("name") or ""))),
        "moved": movement,
        "slipped": sorted((deal_line(all_deals[record], **{"from": old.isoformat(), "to": new.isoformat(),
                                                           "days": (new - old).days})
                           for record, (old, new) in slipped.items() if record in all_deals),
                          key=lambda line: (-int(str(line["days"])), str(line.get("name") or ""))),
        "no_next_step": _largest_first(deal_line(d) for d in open_deals if "no_next_step" in risks[str(d["id"])]),
        "no_activity": _largest_first(deal_line(d, last_activity=_iso(d.get("last_activity_date")))
                                      for d in open_deals if "inactive" in risks[str(d["id"])]),
        "talk_about": [deal_line(by_id[i], risks=flags, score=score) for score, i, flags in talk[:top]],
    }


def _risks(deal: Mapping[str, object], *, over: bool, slipped: bool, today: datetime.date,
           inactive_days: int) -> list[str]:
    """What makes an open deal worth talking about (keys of RISKS), moving back a stage aside."""
    close, last = deal.get("close_date"), deal.get("last_activity_date")
    return [risk for risk, holds in (
        ("over_limit", over), ("slipped", slipped),
        ("overdue", isinstance(close, datetime.date) and close < today),
        ("no_next_step", not deal.get("next_step")),
        ("inactive", not isinstance(last, datetime.date) or (today - last).days > inactive_days)) if holds]


def _movement(stages: Mapping[str, Stage], rows: Mapping[str, dict[str, object]],
              moved: Mapping[str, tuple[object, object, Any]]) -> dict[str, list[dict[str, object]]]:
    """The deals whose stage changed over the period, one line each: new, won, lost, forward or backward."""
    found: dict[str, list[dict[str, object]]] = {"new": [], "forward": [], "backward": [], "won": [], "lost": []}
    for record, (old, new, _) in moved.items():
        deal = rows.get(record)
        if deal is None or new not in stages or old == new:
            continue
        to = stages[str(new)]
        if old is None:
            kind = "new"
        elif to.outcome != "open":
            kind = to.outcome
        elif old in stages:
            kind = "forward" if to.position > stages[str(old)].position else "backward"
        else:
            continue
        found[kind].append(deal_line(deal, **{"from": old, "to": new}))
    return {kind: _largest_first(lines) for kind, lines in found.items()}


def _largest_first(lines: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(lines, key=lambda line: (-money(line.get("amount")), str(line.get("name") or "")))


def _iso(day: object) -> str | None:
    return day.isoformat() if isinstance(day, datetime.date) else None
