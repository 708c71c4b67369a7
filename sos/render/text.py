"""A plan for a terminal, as Terraform shows one: a line per change, what changes under it, a count."""

from __future__ import annotations

import json
import re
from typing import Any
from collections.abc import Mapping

import click

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "adopt": "="}
COLOURS = {"create": "green", "update": "yellow", "delete": "red", "adopt": "cyan"}
NO_CHANGES = "No changes. The CRM matches the blueprint."
UNMANAGED_HEADING = "Left alone (not created by sos):"

_ORIGIN_COLUMN = 48  # addresses are padded to at least this width, so origins line up in a column
_INDENT = " " * 6
# Shown unquoted only when it cannot be misread: not empty, no edge spaces or control characters,
# not a JSON literal, and not opening like a quoted string, list or map.
_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null|\(none\)")
_BARE_NESTED = re.compile(r"[^,:\[\]{}\"']*")


def format_value(value: Any, *, nested: bool = False) -> str:
    """One attribute value on one line: strings bare where unambiguous, lists and maps compact, JSON-like."""
    if value is None:
        return "null" if nested else "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value if _is_bare(value, nested=nested) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = (f"{format_value(str(k), nested=True)}: {format_value(v, nested=True)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v, nested=True) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_bare(text: str, *, nested: bool) -> bool:
    if not text or text != text.strip() or not text.isprintable():
        return False
    if _LITERAL.fullmatch(text) or text[0] in "\"'[{":
        return False
    return not nested or bool(_BARE_NESTED.fullmatch(text))


def is_shown(value: Any) -> bool:
    """Whether a created attribute is worth a line: null and empty values are not."""
    return value is not None and value != "" and value != [] and value != {}


def closing_line(summary: Mapping[str, int]) -> str:
    adopt = f", {summary['adopt']} to adopt" if summary.get("adopt") else ""
    return (f"Plan: {summary['create']} to add, {summary['update']} to change, "
            f"{summary['delete']} to delete{adopt}.")


def _attribute_lines(pairs: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in pairs) + 1
    return [f"{_INDENT}{name + ':':<{width}} {text}" for name, text in pairs]


def notes_of(change: Mapping[str, Any]) -> list[str]:
    """What a plan says of a change beyond its attributes: what it renames, why it is planned, and the records it
    would block."""
    renamed = [f"renamed from {change['renamed_from']}"] if change.get("renamed_from") else []
    return renamed + ([change["reason"]] if change.get("reason") else []) + (
        [change["impact"]["sentence"]] if change.get("impact") else [])


def _change_body(change: Mapping[str, Any]) -> list[str]:
    if change["action"] == "create":
        pairs = [(name, format_value(value)) for name, value in (change["after"] or {}).items() if is_shown(value)]
    elif change["action"] in ("update", "adopt"):
        pairs = [(a["name"], f"{format_value(a['before'])} → {format_value(a['after'])}")
                 for a in change["attributes"]]
    else:
        pairs = []  # the address says it all; `before` is in the JSON form for whoever wants it
    return (_attribute_lines(pairs) if pairs else []) + [f"{_INDENT}# {note}" for note in notes_of(change)]


def _headline(symbol: str, address: str, origin: str | None, width: int, *, colour: bool,
              fg: str | None = None) -> str:
    padded = address.ljust(width) if origin else address
    if colour:
        symbol = click.style(symbol, fg=fg, bold=True) if fg else symbol
        padded = click.style(padded, bold=True)
        origin = click.style(origin, dim=True) if origin else origin
    return f"  {symbol} {padded}  {origin}" if origin else f"  {symbol} {padded}"


def render_text(data: Mapping[str, Any], *, colour: bool) -> str:
    """The plan as Terraform-like text, ending in a newline; ANSI colour only when `colour` is true.

    `data` is the plan's JSON form (`plan_to_json`). The last line is always the closing
    `Plan: N to add, N to change, N to delete.` or, with no changes, `No changes. …`.
    """
    changes, unmanaged = data["changes"], data["unmanaged"]
    addresses = [c["address"] for c in changes] + [u["address"] for u in unmanaged]
    width = max([_ORIGIN_COLUMN, *map(len, addresses)])
    target = data["target"]
    bold = (lambda text: click.style(text, bold=True)) if colour else (lambda text: text)

    out: list[str] = []
    if changes:
        out += [f"sos will make these changes to {target['name']} ({target['type']}):", ""]
    for change in changes:
        action = change["action"]
        out.append(_headline(SYMBOLS[action], change["address"], change["origin"], width,
                             colour=colour, fg=COLOURS[action]))
        out += _change_body(change)
        if change["danger"]:
            danger = f"{_INDENT}! {change['danger']}"
            out.append(click.style(danger, fg="red", bold=True) if colour else danger)
    if changes:
        out.append("")
    if unmanaged:
        out.append(bold(UNMANAGED_HEADING))
        for item in unmanaged:
            out.append(_headline(" ", item["address"], item["origin"], width, colour=colour))
            out.append(f"{_INDENT}{item['note']}")
        out.append("")
    if data["cannot_enforce"]:
        out.append(bold(f"Not enforced by {target['name']} ({target['type']}):"))
        out += [f"  • {note}" for note in data["cannot_enforce"]]
        out.append("")
    if changes:
        out.append(bold("Plan:") + closing_line(data["summary"])[len("Plan:"):])
    else:
        out.append(click.style(NO_CHANGES, fg="green", bold=True) if colour else NO_CHANGES)
    return "\n".join(out) + "\n"
