"""An audit report as one self-contained HTML page a consultant sends to a client's sales team.

It takes the audit's one JSON form (format_version 1: target, today, records, stages, found, checks), like every
other rendering of it. The page loads nothing: its style and its one script (column sorting) are inline and pinned
by a Content-Security-Policy that allows nothing else, and everything the report says is escaped. Without script
it reads the same, unsorted.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2

from sos.render.audit import ENFORCED, amount, stage_label

_HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Words:
    """What a sales team calls an object's records and the step each record is at."""

    one: str
    many: str
    stage: str
    stages: str
    amounts: bool = True


WORDS = {"opportunity": Words("deal", "deals", "stage", "stages"),
         "lead": Words("lead", "leads", "status", "statuses", amounts=False)}
KINDS = {"stage_requirement": "Stage requirement", "rule": "Rule", "stage": "Stage time limit"}
# What each `enforce` (named as in the other renderings, ENFORCED) means, shown on hover.
ENFORCE_MEANS = {
    "always": "The CRM refuses any save while this is broken.",
    "on_stage_change": "The CRM refuses creating a record or changing its {stage} while this is broken; "
                       "other edits still save.",
    "audit": "Never blocks: reported here only.",
    "limit": "Never blocks: reported here only.",
}

# A chart shows this many bars at most; the rest are summed in one last bar.
CHART_BARS = 12
# A chart's geometry in SVG units: labels end at LABEL_WIDTH - 8, bars start at LABEL_WIDTH, numbers follow them.
_ROW, _BAR_HEIGHT, _LABEL_WIDTH, _BAR_SPACE, _CHART_WIDTH = 26, 18, 170, 240, 460
_LABEL_CHARS = 26


@dataclass(frozen=True, slots=True)
class Bar:
    label: str         # as drawn, perhaps cut short
    full_label: str    # the whole label, shown on hover
    value: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    width: int = _CHART_WIDTH
    label_end: int = _LABEL_WIDTH - 8
    bar_start: int = _LABEL_WIDTH
    bar_height: int = _BAR_HEIGHT

    @property
    def height(self) -> int:
        return len(self.bars) * _ROW


def render_html(report: Mapping[str, Any]) -> str:
    """The audit report `report` (its JSON form, format_version 1) as one HTML document that loads nothing."""
    script = (_HERE / "audit.js").read_text(encoding="utf-8")
    style = (_HERE / "audit.css").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = environment.from_string((_HERE / "audit.html.j2").read_text(encoding="utf-8"))
    checks = sorted((_check_view(check, report) for check in report["checks"]),
                    key=lambda c: (c["unsupported"] is not None, -c["count"]))
    counted = [c for c in checks if c["unsupported"] is None]
    return template.render(
        report=report, checks=checks, script=script, style=style,
        script_hash=csp_hash(script), style_hash=csp_hash(style),
        today=_long_date(date.fromisoformat(report["today"])),
        generated=datetime.fromisoformat(report["generated"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        records_total=_number(sum(report["records"].values())),
        records_by_object=", ".join(f"{_number(n)} {_plural(obj, n)}" for obj, n in report["records"].items()),
        found=_number(report["found"]),
        failing=sum(1 for c in counted if c["count"]), passing=sum(1 for c in counted if not c["count"]),
        not_checked=len(checks) - len(counted),
        charts=_charts(report),
    )


def _check_view(check: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    obj = check["object"]
    words = _words(obj)
    return {
        **check,
        "kind_label": KINDS.get(check["kind"], check["kind"]),
        "enforce_label": ENFORCED.get(check["enforce"], check["enforce"]).capitalize(),
        "enforce_means": ENFORCE_MEANS.get(check["enforce"], "").format(stage=words.stage),
        "count_text": _number(check["count"]),
        "noun": words.one.capitalize(),
        "stage_noun": words.stage.capitalize(),
        "amounts": words.amounts,
        "records_word": _plural(obj, check["count"]),
        "worst": [{**offender,
                   "owner": offender["owner"] or "(no owner)",
                   "stage_label": _stage_label(report, obj, offender["stage"]),
                   "stage_order": f"{_stage_position(report, obj, offender['stage']):04d}",
                   "amount_text": amount(offender["amount"]) or "—",
                   "link": _safe_link(offender["url"])}
                  for offender in check["worst"]],
    }


def _charts(report: Mapping[str, Any]) -> list[Chart]:
    by_owner: Counter[str] = Counter()
    by_stage: dict[str, Counter[str]] = {}
    for check in report["checks"]:
        by_owner.update(check["by_owner"])
        by_stage.setdefault(check["object"], Counter()).update(check["by_stage"])
    charts = [_chart("Problems by owner", sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0])), "owners")]
    for obj, counts in by_stage.items():
        in_order = sorted(counts.items(), key=lambda kv: _stage_position(report, obj, kv[0]))
        labelled = [(_stage_label(report, obj, key), n) for key, n in in_order]
        words = _words(obj)
        charts.append(_chart(f"Problems by {words.one} {words.stage}", labelled, words.stages))
    return [chart for chart in charts if chart.bars]


def _chart(title: str, counts: Iterable[tuple[str, int]], rest_word: str) -> Chart:
    shown = [(label, n) for label, n in counts if n]
    if len(shown) > CHART_BARS:
        rest = shown[CHART_BARS - 1:]
        shown = shown[:CHART_BARS - 1] + [(f"{len(rest)} other {rest_word}", sum(n for _, n in rest))]
    top = max((n for _, n in shown), default=1)
    bars = tuple(Bar(_cut(label), label, n, i * _ROW, max(2, round(n / top * _BAR_SPACE)))
                 for i, (label, n) in enumerate(shown))
    return Chart(title, bars)


def _stage_label(report: Mapping[str, Any], obj: str, key: str | None) -> str:
    return stage_label(report, obj, key) or f"(no {_words(obj).stage})"


def _stage_position(report: Mapping[str, Any], obj: str, key: str | None) -> int:
    """Where a stage stands in its pipeline, for sorting; a stage the blueprint lacks (or none) comes last."""
    order = list(report["stages"].get(obj, {}))
    return order.index(key) if key in order else len(order)


def _safe_link(url: str | None) -> str | None:
    """A record's URL when it opens a web page; never a javascript: or data: URL from a hostile record."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _cut(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 1] + "…"


def _number(n: int) -> str:
    return f"{n:,}"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _words(obj: str) -> Words:
    return WORDS.get(obj, Words(obj, obj + "s", "stage", "stages"))


def _plural(obj: str, n: int) -> str:
    words = _words(obj)
    return words.one if n == 1 else words.many
