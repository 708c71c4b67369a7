"""Renderings of the weekly reports (sos review, forecast, trace): terminal tables (rich), Markdown to paste into
Slack, an email or a meeting doc, JSON for tools, and one self-contained HTML page (reports_html). Each is made from
the report's one JSON form (sos.reports), never from backend objects: the report becomes titled tables (Section),
which the terminal and Markdown draw alike."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

REPORT_FORMATS = ("text", "markdown", "json", "html")
SHOWN = 15          # rows a table shows in the terminal and in Markdown; JSON and HTML hold every one
MOVES = {"new": "new", "forward": "moved forward", "backward": "moved back", "won": "won", "lost": "lost"}
RISK_WORDS = {"over_limit": "past max_days", "slipped": "close date slipped", "overdue": "close date passed",
              "no_next_step": "no next step", "inactive": "no recent activity", "backward": "moved back"}
CATEGORY_LABELS = {"closed_won": "Closed won", "commit": "Commit", "best_case": "Best Case", "pipeline": "Pipeline",
                   "weighted": "Weighted"}


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    empty: str = "none"            # what an empty table says instead
    note: str = ""                 # a line under the table
    numeric: frozenset[int] = field(default_factory=frozenset)   # the columns to right-align


def render_report(report: Mapping[str, Any], fmt: str, *, colour: bool = False) -> str:
    """The weekly `report` (review, forecast or trace; its JSON form) as `fmt` (one of REPORT_FORMATS)."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        from sos.render.reports_html import render_html     # jinja2 loads only for the page

        return render_html(report)
    sections = sections_of(report)
    if fmt == "markdown":
        return _markdown(report, sections)
    return _text(report, sections, colour=colour)


def title(report: Mapping[str, Any]) -> str:
    target = f"{report['target']['name']} ({report['target']['type']})"
    if report["report"] == "review":
        return f"Pipeline review of {target} as of {report['today']}, moves since {report['since']}"
    if report["report"] == "forecast":
        return f"Forecast of {target} for the {report['period']} {report['start']} to {report['end']}, " \
               f"changes since {report['since']}"
    return f"Trace of {len(report['leads'])} leads of {target} as of {report['today']}"


def closing(report: Mapping[str, Any]) -> str:
    """The report's last line: what to take from it."""
    if report["report"] == "trace":
        return str(report["summary"])
    if report["report"] == "forecast":
        total = report["total"]
        line = f"Closed won {money(total['closed_won'])}, Commit {money(total['commit'])}, " \
               f"Best Case {money(total['best_case'])}, Pipeline {money(total['pipeline'])}."
        if report["quota"] is None:
            return line
        if report["coverage"] is None:
            return f"{line} The quota {money(report['quota'])} is met."
        return f"{line} Coverage {report['coverage']:.1f}x of the {money(report['left_to_close'])} left to close " \
               f"of the quota {money(report['quota'])}."
    pipelines = report["pipelines"]
    open_total = sum(p["open"]["count"] for p in pipelines)
    talk = sum(len(p["talk_about"]) for p in pipelines)
    return f"{open_total:,} open deals worth {money(sum(p['open']['amount'] for p in pipelines))}; " \
           f"{talk} to talk about."


def unavailable(report: Mapping[str, Any]) -> list[str]:
    """What the CRM does not hold (a trace's lead source on HubSpot), then what it cannot say of changes."""
    return [f"{why}." for why in report.get("not_held", {}).values()] + [
        f"The CRM cannot say how {name} changed: {why}." for name, why in report["unavailable"].items()]


def money(value: float | int | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def sections_of(report: Mapping[str, Any]) -> list[Section]:
    if report["report"] == "review":
        return [s for pipeline in report["pipelines"] for s in _review(pipeline, report)]
    if report["report"] == "forecast":
        return _forecast(report)
    return _trace(report)


def _review(pipeline: Mapping[str, Any], report: Mapping[str, Any]) -> list[Section]:
    name = pipeline["label"]
    labels = {s["key"]: s["label"] for s in pipeline["stages"]}
    figures = frozenset({1, 2, 3})
    by_stage = [[labels[key], f"{t['count']:,}", money(t["amount"]), money(t["weighted"])]
                for key, t in pipeline["by_stage"].items()]
    total = pipeline["open"]
    return [
        Section(f"{name}: open deals by stage", ["Stage", "Deals", "Amount", "Weighted"],
                [*by_stage, ["Total", f"{total['count']:,}", money(total["amount"]), money(total["weighted"])]],
                numeric=figures),
        Section(f"{name}: open deals by owner", ["Owner", "Deals", "Amount", "Weighted"],
                [[_owner(o["owner"]), f"{o['count']:,}", money(o["amount"]), money(o["weighted"])]
                 for o in pipeline["by_owner"]], numeric=figures),
        Section(f"{name}: deals to talk about (amount × risk)", ["Deal", "Owner", "Stage", "Amount", "Why"],
                [[_deal(d), _owner(d["owner"]), labels.get(d["stage"], d["stage"]), money(d["amount"]),
                  ", ".join(RISK_WORDS[r] for r in d["risks"])] for d in pipeline["talk_about"]],
                numeric=frozenset({3})),
        Section(f"{name}: past their stage's max_days", ["Deal", "Owner", "Stage", "Days", "Limit", "Amount"],
                [[_deal(d), _owner(d["owner"]), labels.get(d["stage"], d["stage"]), str(d["days"]),
                  str(d["max_days"]), money(d["amount"])] for d in pipeline["aging"]],
                numeric=frozenset({3, 4, 5})),
        Section(f"{name}: moved since {report['since']}", ["Deal", "Owner", "Move", "From", "To", "Amount"],
                [[_deal(d), _owner(d["owner"]), MOVES[kind], labels.get(d["from"], d["from"] or ""),
                  labels.get(d["to"], d["to"]), money(d["amount"])]
                 for kind in MOVES for d in pipeline["moved"][kind]], numeric=frozenset({5}),
                note=", ".join(f"{len(pipeline['moved'][kind])} {word}" for kind, word in MOVES.items())),
        Section(f"{name}: close dates that slipped since {report['since']}",
                ["Deal", "Owner", "Was", "Now", "Days later", "Amount"],
                [[_deal(d), _owner(d["owner"]), d["from"], d["to"], str(d["days"]), money(d["amount"])]
                 for d in pipeline["slipped"]], numeric=frozenset({4, 5})),
        Section(f"{name}: open deals with no next step", ["Deal", "Owner", "Stage", "Amount"],
                [[_deal(d), _owner(d["owner"]), labels.get(d["stage"], d["stage"]), money(d["amount"])]
                 for d in pipeline["no_next_step"]], numeric=frozenset({3})),
        Section(f"{name}: open deals with no activity in {report['inactive_days']} days",
                ["Deal", "Owner", "Stage", "Last activity", "Amount"],
                [[_deal(d), _owner(d["owner"]), labels.get(d["stage"], d["stage"]), d["last_activity"] or "never",
                  money(d["amount"])] for d in pipeline["no_activity"]], numeric=frozenset({4})),
    ]


def _forecast(report: Mapping[str, Any]) -> list[Section]:
    keys = list(CATEGORY_LABELS)
    rows = [[_owner(o["owner"]), *(money(o[k]) for k in keys)] for o in report["by_owner"]]
    rows.append(["Total", *(money(report["total"][k]) for k in keys)])
    changes = report["changes"]
    moved = ["Deal", "Owner", "Was", "Now", "Amount"]
    return [
        Section(f"Forecast by owner, deals closing {report['start']} to {report['end']}",
                ["Owner", *CATEGORY_LABELS.values()], rows, numeric=frozenset(range(1, len(keys) + 1)),
                note="" if report["coverage"] is None else
                f"Quota {money(report['quota'])}: coverage {report['coverage']:.1f}x (the open pipeline over the "
                f"{money(report['left_to_close'])} left to close)"),
        *(Section(heading, moved, [[_deal(d), _owner(d["owner"]), _shown(d["from"]), _shown(d["to"]),
                                    money(d["amount"])] for d in changes[key]], numeric=frozenset({4}))
          for key, heading in (("into_commit", "Into Commit"), ("out_of_commit", "Out of Commit"),
                               ("amount", "Amounts changed"), ("close_date", "Close dates changed"))),
    ]


def _trace(report: Mapping[str, Any]) -> list[Section]:
    return [Section(f"Lead {lead['id']}: {lead['name'] or ''} ({lead['company'] or 'no company'}), "
                    f"{_owner(lead['owner'])}, {lead['status'] or 'no status'}",
                    ["When", "What", "Detail"],
                    [[str(e["at"])[:16].replace("T", " "), e["what"], e["detail"]] for e in lead["events"]],
                    note="; ".join(f"LEAK {leak['where']}" for leak in lead["leaks"]) or "no leak")
            for lead in report["leads"]]


def _owner(owner: str | None) -> str:
    return owner or "unassigned"


def _deal(deal: Mapping[str, Any]) -> str:
    return f"{deal['name'] or '(no name)'} [{deal['id']}]"


def _shown(value: object) -> str:
    if isinstance(value, float):
        return money(value)
    return "" if value is None else str(value)


def _cut(rows: Sequence[Sequence[str]]) -> tuple[Sequence[Sequence[str]], int]:
    return rows[:SHOWN], max(0, len(rows) - SHOWN)


def _markdown(report: Mapping[str, Any], sections: Iterable[Section]) -> str:
    out = [f"## {title(report)}", ""]
    out.extend(f"> {line}" for line in unavailable(report))
    for section in sections:
        out.append(f"**{_md(section.title)}**")
        out.append("")
        rows, more = _cut(section.rows)
        if not rows:
            out.extend([f"_{section.empty}_", ""])
            continue
        out.append("| " + " | ".join(section.columns) + " |")
        out.append("|" + "|".join("---:" if i in section.numeric else "---" for i in range(len(section.columns)))
                   + "|")
        out.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows)
        if more:
            out.append(f"\n_… and {more:,} more (the JSON and HTML reports list them all)_")
        if section.note:
            out.append(f"\n{_md(section.note)}")
        out.append("")
    out.append(f"**{_md(closing(report))}**")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Text in a Markdown table cell: one line, no table break, no HTML, no emphasis by accident."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*") \
        .replace("_", "\\_").replace("\n", " ")


def _text(report: Mapping[str, Any], sections: Iterable[Section], *, colour: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=colour, no_color=not colour, highlight=False,
                      emoji=False, markup=False)
    console.print(title(report), style="bold")
    for line in unavailable(report):
        console.print(line)
    for section in sections:
        rows, more = _cut(section.rows)
        if not rows:
            console.print(f"\n{section.title}: {section.empty}")
            continue
        table = Table(title=section.title, title_justify="left", title_style="bold")
        for i, column in enumerate(section.columns):
            table.add_column(column, justify="right" if i in section.numeric else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print()
        console.print(table)
        if more:
            console.print(f"… and {more:,} more (--format json or html lists them all)")
        if section.note:
            console.print(section.note)
    console.print()
    console.print(closing(report), style="bold")
    return buffer.getvalue()
