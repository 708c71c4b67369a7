"""Audit renderings: a terminal summary, Markdown for a pull request or a client note, CSV for a spreadsheet, JSON
for tools, HTML for the client's sales team (audit_html). Each is made from the audit's one JSON form
(sos.audit.report), never from backend objects."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

import click

from sos.render.markdown import code

AUDIT_FORMATS = ("text", "markdown", "csv", "json", "html")

# How each `enforce` reads to a sales leader.
ENFORCED = {"always": "blocks every save", "on_stage_change": "blocks stage moves", "audit": "audit only",
            "limit": "time limit"}
SHOWN = 3   # owners, stages and deals the terminal summary names per check


def render_audit(report: Mapping[str, Any], fmt: str, *, colour: bool = False) -> str:
    """The audit `report` as `fmt` (one of AUDIT_FORMATS), ending in a newline."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "markdown":
        return _markdown(report)
    if fmt == "html":
        from sos.render.audit_html import render_html   # jinja2 loads only for the page

        return render_html(report)
    return _text(report, colour=colour)


def amount(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def stage_label(report: Mapping[str, Any], obj: str, key: str | None) -> str:
    return "" if key is None else str(report["stages"].get(obj, {}).get(key, key))


def records_line(report: Mapping[str, Any]) -> str:
    records = report["records"]
    looked = ", ".join(f"{count:,} {_plural_object(obj, count)}" for obj, count in records.items())
    return f"Audit of {report['target']['name']} ({report['target']['type']}) as of {report['today']}: " \
           f"{looked or 'no records'} looked at."


def closing(report: Mapping[str, Any]) -> str:
    checks = report["checks"]
    broken = sum(1 for c in checks if c["count"])
    if not any(report["records"].values()):
        return f"Nothing to audit: the target holds no records for the {len(checks)} checks."
    if not broken:
        return f"Clean: no record breaks any of the {len(checks)} checks."
    return f"Found {report['found']:,} problems: {broken} of {len(checks)} checks are broken."


def _plural_object(obj: str, count: int) -> str:
    word = {"opportunity": "deal"}.get(obj, obj)
    return word if count == 1 else word + "s"


def _text(report: Mapping[str, Any], *, colour: bool) -> str:
    bold = (lambda text: click.style(text, bold=True)) if colour else (lambda text: text)
    out = [records_line(report), ""]
    checks = sorted(report["checks"], key=lambda c: -c["count"])
    width = max([len(f"{c['count']:,}") for c in checks] + [1])
    for check in checks:
        if not check["count"] and not check["unsupported"]:
            continue
        where = f"  {check['origin']}" if check["origin"] else ""
        if check["unsupported"]:
            out.append(f"  {'–':>{width}}  {check['title']}{where}")
            out.append(f"  {'':>{width}}  not checked: {check['unsupported']}")
            continue
        count = f"{check['count']:>{width},}"
        out.append(f"  {bold(count)}  {bold(check['title'])}{where}")
        pad = f"  {'':>{width}}  "
        out.append(f"{pad}{ENFORCED.get(check['enforce'], check['enforce'])} · {check['address']}")
        out.append(f"{pad}by owner: {_top(check['by_owner'])}")
        out.append(f"{pad}by stage: {_top(_by_stage_label(report, check))}")
        for deal in check["worst"][:SHOWN]:
            money = f", {amount(deal['amount'])}" if deal["amount"] is not None else ""
            owner = f", {deal['owner']}" if deal["owner"] else ""
            out.append(f"{pad}  {deal['name']}{money}{owner}, "
                       f"{stage_label(report, check['object'], deal['stage'])}")
    clean = [c for c in report["checks"] if not c["count"] and not c["unsupported"]]
    if clean:
        out += ["", f"Passing ({len(clean)}): " + "; ".join(c["title"] for c in clean)]
    out += ["", bold(closing(report))]
    return "\n".join(out) + "\n"


def _by_stage_label(report: Mapping[str, Any], check: Mapping[str, Any]) -> dict[str, int]:
    return {stage_label(report, check["object"], key): count for key, count in check["by_stage"].items()}


def _top(counts: Mapping[str, int]) -> str:
    items = list(counts.items())
    shown = " · ".join(f"{key or '(none)'} {count:,}" for key, count in items[:SHOWN])
    return shown + (f" · {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _cell(text: object) -> str:
    # GFM splits table rows at every unescaped pipe, and a cell is one line; `<` cannot open an HTML tag.
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _markdown(report: Mapping[str, Any]) -> str:
    out = [f"### sos audit of {code(report['target']['name'])} ({_cell(report['target']['type'])})", "",
           records_line(report), "", f"**{closing(report)}**", "",
           "| Check | Enforced | Records | Top owners | Top stages |", "|---|---|--:|---|---|"]
    for check in sorted(report["checks"], key=lambda c: -c["count"]):
        count = "not checked" if check["unsupported"] else f"{check['count']:,}"
        out.append(f"| {_cell(check['title'])}<br>{code(check['address'])} | "
                   f"{ENFORCED.get(check['enforce'], check['enforce'])} | {count} | "
                   f"{_cell(_top(check['by_owner']))} | {_cell(_top(_by_stage_label(report, check)))} |")
    for check in report["checks"]:
        if not check["worst"]:
            continue
        out += ["", f"#### {_cell(check['title'])}", "", "| Record | Owner | Stage | Amount |", "|---|---|---|--:|"]
        for deal in check["worst"]:
            name = f"[{_cell(deal['name'])}]({deal['url']})" if deal["url"] else _cell(deal["name"])
            out.append(f"| {name} | {_cell(deal['owner'] or '')} | "
                       f"{_cell(stage_label(report, check['object'], deal['stage']))} | {amount(deal['amount'])} |")
    return "\n".join(out) + "\n"


def _csv(report: Mapping[str, Any]) -> str:
    """One row per listed record breaking a check (a broken check with none listed, or a clean one: one row with
    the record columns empty), so a spreadsheet can filter by check, owner or stage."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["check", "title", "enforce", "broken_records", "record_id", "record", "owner", "stage",
                     "amount", "url"])
    for check in report["checks"]:
        head = [check["address"], _inert(check["title"]), check["enforce"],
                "" if check["unsupported"] else check["count"]]
        for deal in check["worst"] or [None]:
            if deal is None:
                writer.writerow(head + [""] * 6)
                continue
            writer.writerow(head + [deal["id"], _inert(deal["name"]), _inert(deal["owner"] or ""),
                                    stage_label(report, check["object"], deal["stage"]),
                                    "" if deal["amount"] is None else deal["amount"], deal["url"] or ""])
    return buffer.getvalue()


def _inert(text: str) -> str:
    """Text a spreadsheet shows as text: a cell starting with =, +, - or @ would run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
