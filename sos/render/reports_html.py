"""A weekly report (sos review, forecast, trace) as one self-contained HTML page: its figures, charts drawn as inline
SVG (stage funnel, aging against the stages' limits, what moved this week, forecast categories by owner, leaks),
and every table in full, sortable. It loads nothing: the style and the script (the audit dashboard's, sorting
tables) are inline, allowed by their hashes in the page's Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from sos.render.audit_html import Chart, _chart, csp_hash
from sos.render.reports import CATEGORY_LABELS, MOVES, closing, money, sections_of, title, unavailable
from sos.reports.trace import LEAKS

_HERE = Path(__file__).parent
CATEGORIES = ("closed_won", "commit", "best_case", "pipeline")
_ROW, _LABEL_WIDTH, _BAR_SPACE = 26, 170, 300


@dataclass(frozen=True, slots=True)
class Segment:
    category: str       # a key of CATEGORIES: its colour
    label: str
    value: float
    x: int
    width: int


@dataclass(frozen=True, slots=True)
class StackedRow:
    label: str
    total: float
    y: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Stacked:
    """Bars made of segments, one bar per owner: the forecast categories by owner."""

    title: str
    rows: tuple[StackedRow, ...]
    width: int = _LABEL_WIDTH + _BAR_SPACE + 90
    bar_start: int = _LABEL_WIDTH

    @property
    def height(self) -> int:
        return len(self.rows) * _ROW


def render_html(report: Mapping[str, Any]) -> str:
    """The weekly `report` (its JSON form) as one HTML document that loads nothing."""
    script = (_HERE / "audit.js").read_text(encoding="utf-8")
    style = (_HERE / "audit.css").read_text(encoding="utf-8") + (_HERE / "reports.css").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = environment.from_string((_HERE / "reports.html.j2").read_text(encoding="utf-8"))
    return template.render(report=report, title=title(report), closing=closing(report),
                           unavailable=unavailable(report), charts=_charts(report), stacked=_stacked(report),
                           sections=sections_of(report), script=script, style=style,
                           script_hash=csp_hash(script), style_hash=csp_hash(style),
                           categories=[(k, CATEGORY_LABELS[k]) for k in CATEGORIES])


def _charts(report: Mapping[str, Any]) -> list[Chart]:
    charts = []
    if report["report"] == "review":
        for pipeline in report["pipelines"]:
            labels = {s["key"]: s["label"] for s in pipeline["stages"]}
            name = pipeline["label"]
            charts.append(_chart(f"{name}: open deals by stage (funnel)",
                                 [(labels[k], t["count"]) for k, t in pipeline["by_stage"].items()], "stages"))
            over = {k: sum(1 for d in pipeline["aging"] if d["stage"] == k) for k in pipeline["by_stage"]}
            limits = {s["key"]: s["max_days"] for s in pipeline["stages"]}
            charts.append(_chart(f"{name}: deals past their stage's max_days",
                                 [(f"{labels[k]} (>{limits[k]} d)", n) for k, n in over.items()], "stages"))
            charts.append(_chart(f"{name}: since {report['since']} (week over week)",
                                 [(word, len(pipeline["moved"][kind])) for kind, word in MOVES.items()], "moves"))
    elif report["report"] == "trace":
        charts.append(_chart("Where the leads leaked", [(LEAKS[k], n) for k, n in report["by_leak"].items()],
                             "leaks"))
    return [chart for chart in charts if chart.bars]


def _stacked(report: Mapping[str, Any]) -> list[Stacked]:
    if report["report"] != "forecast":
        return []
    owners: Sequence[Mapping[str, Any]] = report["by_owner"]
    top = max((sum(o[k] for k in CATEGORIES) for o in owners), default=0) or 1
    rows = []
    for i, owner in enumerate(owners):
        x, segments = _LABEL_WIDTH, []
        for key in CATEGORIES:
            width = round(owner[key] / top * _BAR_SPACE)
            segments.append(Segment(key, f"{CATEGORY_LABELS[key]} {money(owner[key])}", owner[key], x, width))
            x += width
        rows.append(StackedRow(owner["owner"] or "unassigned", sum(owner[k] for k in CATEGORIES), i * _ROW,
                               tuple(segments)))
    return [Stacked("Forecast categories by owner", tuple(rows))]
