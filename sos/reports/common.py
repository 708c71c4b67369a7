"""What the three reports share: the blueprint's stages as reports read them, the clock, and deal rows."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sos.model.resources import Kind, Model

# The History protocol and what it returns (sos.backends.base): only the engine imports a backend's modules, so the
# reports name them here and read them by attribute.
History = Any
FieldChange = Any
Activity = Any

REPORT_FORMAT_VERSION = 1
DEAL_FIELDS = ("name", "owner", "stage", "amount", "close_date", "next_step", "last_activity_date",
               "created_date", "forecast_category")
STAGE_ENTERED = "stage_entered"     # base.STAGE_ENTERED: when a deal entered its stage, which History.rows answers


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    pipeline: str
    position: int               # in its pipeline's order
    outcome: str                # open, won or lost
    probability: float          # percent; 0 when the blueprint gives none
    forecast: str | None        # the forecast category it puts a deal in
    max_days: int | None


def stages_of(model: Model) -> dict[str, Stage]:
    """The blueprint's deal stages by key, each pipeline's in its order."""
    resources = {(s.address.scope, s.address.key): s.attrs for s in model.of_kind(Kind.STAGE)}
    found: dict[str, Stage] = {}
    for pipeline in model.of_kind(Kind.PIPELINE):
        for position, key in enumerate(pipeline.attrs.get("stages", ())):
            attrs = resources.get((pipeline.address.key, key), {})
            found[key] = Stage(key, str(attrs.get("label", key)), pipeline.address.key, position,
                               str(attrs.get("outcome", "open")), float(attrs.get("probability") or 0),
                               attrs.get("forecast"), attrs.get("max_days"))
    return found


def pipelines_of(model: Model) -> dict[str, str]:
    """Pipeline key → label, in blueprint order."""
    return {p.address.key: str(p.attrs.get("label", p.address.key)) for p in model.of_kind(Kind.PIPELINE)}


def end_of(today: datetime.date) -> datetime.datetime:
    """The last moment of `today` (UTC): what the reports read as now."""
    return datetime.datetime.combine(today, datetime.time.max, datetime.UTC)


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, datetime.UTC)


def header(report: str, target: Mapping[str, str], today: datetime.date, generated: datetime.datetime,
           **period: Any) -> dict[str, Any]:
    return {"format_version": REPORT_FORMAT_VERSION, "report": report, "target": dict(target),
            "generated": generated.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "today": today.isoformat(), **period}


def deals(history: History, model: Model, fields: Iterable[str] = DEAL_FIELDS) -> list[dict[str, object]]:
    return list(history.rows("opportunity", list(fields), desired=model))


def spans(changes: Iterable[FieldChange]) -> dict[str, tuple[object, object, FieldChange]]:
    """Record id → (its value before the first of `changes`, after the last, the last change): what moved over a
    period, one line per record however often it moved."""
    found: dict[str, tuple[object, object, FieldChange]] = {}
    for change in changes:
        first = found.get(change.record)
        found[change.record] = (change.old if first is None else first[0], change.new, change)
    return found


def deal_line(deal: Mapping[str, object], **extra: object) -> dict[str, object]:
    """A deal as the reports list it."""
    return {"id": deal["id"], "name": deal.get("name"), "owner": deal.get("owner"), "stage": deal.get("stage"),
            "amount": deal.get("amount"), "url": deal.get("url"), **extra}


def money(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
