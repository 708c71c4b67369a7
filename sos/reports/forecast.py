"""sos forecast, the Friday call: per owner and in total for the month or quarter, closed won, Commit, Best Case,
Pipeline and the weighted pipeline of the deals closing in it, and what changed since last week deal by deal
(deals into or out of Commit, amounts and close dates changed)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from sos.model.resources import Model
from sos.reports.common import History, Stage, deal_line, deals, header, money, spans, stages_of, start_of

CATEGORIES = ("commit", "best_case", "pipeline")     # the open forecast categories (DOMAIN.md), Omitted aside
PERIODS = ("month", "quarter")


def period_of(today: datetime.date, period: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the month or quarter holding `today`."""
    first_month = today.month if period == "month" else (today.month - 1) // 3 * 3 + 1
    start = today.replace(month=first_month, day=1)
    months = 1 if period == "month" else 3
    following = datetime.date(start.year + (start.month + months - 1) // 12, (start.month + months - 1) % 12 + 1, 1)
    return start, following - datetime.timedelta(days=1)


def forecast(history: History, model: Model, *, target: Mapping[str, str], today: datetime.date, period: str,
             since: datetime.date, generated: datetime.datetime, quota: float | None = None) -> dict[str, Any]:
    """The forecast of the `period` (month or quarter) holding `today`, changes counted from `since`; with a
    `quota` for the period, its coverage: the open pipeline over what is left to close (None once it is met)."""
    stages = stages_of(model)
    first, last = period_of(today, period)
    rows = [d for d in deals(history, model) if d.get("stage") in stages]
    closing = [d for d in rows if isinstance(d.get("close_date"), datetime.date) and
               first <= d["close_date"] <= last]        # type: ignore[operator]
    owners = sorted({str(d.get("owner") or "") for d in closing})
    timeline = history.changes("opportunity", ["forecast_category", "amount", "close_date"], start_of(since),
                               desired=model)
    by_id = {str(d["id"]): d for d in rows}
    in_period = {str(d["id"]) for d in closing}
    # a deal's creation (a change from None, which a History may or may not report) moves nothing
    moved = {field: spans(c for c in timeline.changes if c.field == field and c.old is not None)
             for field in ("forecast_category", "amount", "close_date")}
    total = _totals(closing, stages)
    left = None if quota is None else quota - total["closed_won"]
    open_pipeline = sum(total[category] for category in CATEGORIES)
    return {
        **header("forecast", target, today, generated, period=period, start=first.isoformat(),
                 end=last.isoformat(), since=since.isoformat()),
        "unavailable": dict(timeline.unavailable),
        "quota": quota, "left_to_close": left,
        "coverage": None if left is None or left <= 0 else open_pipeline / left,
        "total": total,
        "by_owner": [{"owner": owner or None, **_totals([d for d in closing if (d.get("owner") or "") == owner],
                                                        stages)} for owner in owners],
        "changes": {
            "into_commit": _lines(by_id, in_period, moved["forecast_category"],
                                  lambda old, new: new == "commit" and old != "commit"),
            "out_of_commit": _lines(by_id, in_period | set(moved["forecast_category"]), moved["forecast_category"],
                                    lambda old, new: old == "commit" and new != "commit"),
            "amount": _lines(by_id, in_period, moved["amount"], lambda old, new: old != new),
            "close_date": _lines(by_id, in_period | _closed_in(moved["close_date"], first, last),
                                 moved["close_date"], lambda old, new: old != new),
        },
    }


def _totals(closing: list[dict[str, object]], stages: Mapping[str, Stage]) -> dict[str, float | int]:
    """Closed won, each open forecast category and the weighted pipeline of the deals closing in the period."""
    open_deals = [d for d in closing if stages[str(d["stage"])].outcome == "open"]
    totals: dict[str, float | int] = {
        "closed_won": sum(money(d.get("amount")) for d in closing if stages[str(d["stage"])].outcome == "won")}
    for category in CATEGORIES:
        totals[category] = sum(money(d.get("amount")) for d in open_deals if d.get("forecast_category") == category)
    totals["weighted"] = sum(money(d.get("amount")) * stages[str(d["stage"])].probability / 100 for d in open_deals)
    totals["open_deals"] = len(open_deals)
    return totals


def _closed_in(moves: Mapping[str, tuple[object, object, Any]], first: datetime.date,
               last: datetime.date) -> set[str]:
    """The deals whose close date was in the period before it moved."""
    return {record for record, (old, _, _) in moves.items() if isinstance(old, datetime.date) and first <= old <= last}


def _lines(by_id: Mapping[str, dict[str, object]], wanted: set[str],
           moves: Mapping[str, tuple[object, object, Any]], keep: Any) -> list[dict[str, object]]:
    lines = [deal_line(by_id[record], **{"from": _plain(old), "to": _plain(new), "at": change.at.isoformat()})
             for record, (old, new, change) in moves.items()
             if record in by_id and record in wanted and keep(old, new)]
    return sorted(lines, key=lambda line: (-money(line.get("amount")), str(line.get("name") or "")))


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime.date) else value
