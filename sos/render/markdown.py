"""A plan as GitHub-flavoured Markdown, fit for a pull-request comment."""

from __future__ import annotations

import re
from typing import Any
from collections.abc import Mapping

from sos.render.text import NO_CHANGES, SYMBOLS, UNMANAGED_HEADING, closing_line, format_value, is_shown, notes_of

# A create with more attributes than this folds them into a <details> block, so the table stays scannable.
FOLD_AFTER = 4


def code(text: str) -> str:
    """`text` as a code span, whatever backticks it holds (CommonMark: a longer fence, padded)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    # GFM splits table rows at every unescaped pipe, even inside code spans, and a cell is one line.
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """Plan text written by sos or a backend, kept on one line and unable to open an HTML tag."""
    return text.replace("<", "&lt;").replace("\n", " ")


def _attribute(name: str, text: str) -> str:
    return f"{code(name)}: {code(text)}"


def _what(change: Mapping[str, Any]) -> str:
    action = change["action"]
    if action == "adopt" and not change["attributes"]:
        return "adopted: sos manages it from now on"
    notes = [f"<em>{_prose(note)}</em>" for note in notes_of(change)]
    if action in ("update", "adopt"):
        return "<br>".join([f"{code(a['name'])}: {code(format_value(a['before']))} → {code(format_value(a['after']))}"
                            for a in change["attributes"]] + notes)
    if action == "delete":
        return "deleted"
    shown = [_attribute(name, format_value(value)) for name, value in (change["after"] or {}).items()
             if is_shown(value)]
    if len(shown) > FOLD_AFTER:
        return "<br>".join([f"<details><summary>created, {len(shown)} attributes</summary>{'<br>'.join(shown)}"
                            "</details>", *notes])
    return "<br>".join(["created", *shown, *notes])


def _checks(checks: list[Mapping[str, Any]]) -> list[str]:
    """The target's checks: errors (apply refuses the plan) as a caution, warnings as a note."""
    out: list[str] = []
    for severity, alert, lead in (("error", "CAUTION", "`sos apply` refuses this plan:"),
                                  ("warning", "NOTE", "Applying this plan also:")):
        found = [c for c in checks if c["severity"] == severity]
        if not found:
            continue
        out += [f"> [!{alert}]", f"> {lead}"]
        for check in found:
            where = f"{code(check['file'])}:{check['line']}: " if check["file"] else ""
            fix = f" Fix: {_prose(check['fix'])}" if check["fix"] else ""
            out.append(f"> - {where}{_prose(check['message'])} ({code(check['code'])}).{fix}")
        out.append("")
    return out


def render_markdown(data: Mapping[str, Any]) -> str:
    """The plan as Markdown for a pull-request comment, ending in a newline.

    `data` is the plan's JSON form (`plan_to_json`): a heading naming the target, the summary,
    dangers as a warning, the target's checks (`checks`, when `sos plan` ran them), a table of changes in apply
    order, then what sos leaves alone and what the target cannot enforce.
    """
    target, summary, changes = data["target"], data["summary"], data["changes"]
    out = [f"### sos plan for {code(target['name'])} ({_prose(target['type'])})", ""]
    if changes:
        out.append(f"**{closing_line(summary)}** {summary['unchanged']} unchanged.")
    else:
        verdict, _, rest = NO_CHANGES.partition(". ")
        out.append(f"**{verdict}.** {rest} {summary['unchanged']} unchanged.")
    out.append("")

    dangers = [c for c in changes if c["danger"]]
    if dangers:
        out.append("> [!WARNING]")
        out.append("> " + ("This change needs a careful look:" if len(dangers) == 1
                           else f"These {len(dangers)} changes need a careful look:"))
        out += [f"> - {code(SYMBOLS[c['action']])} {code(c['address'])}: {_prose(c['danger'])}" for c in dangers]
        out.append("")

    out += _checks(data.get("checks", []))

    if changes:
        out += ["| | Resource | Change | Origin |", "|:-:|---|---|---|"]
        for c in changes:
            origin = code(c["origin"]) if c["origin"] else ""
            cells = [code(SYMBOLS[c["action"]]), code(c["address"]), _what(c), origin]
            out.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        out.append("")

    if data["unmanaged"]:
        out += [f"#### {UNMANAGED_HEADING.rstrip(':')}", ""]
        for u in data["unmanaged"]:
            where = f" ({code(u['origin'])})" if u["origin"] else ""
            out.append(f"- {code(u['address'])}{where}: {_prose(u['note'])}")
        out.append("")

    if data["cannot_enforce"]:
        out += [f"#### Not enforced by {code(target['name'])} ({_prose(target['type'])})", ""]
        out += [f"- {_prose(note)}" for note in data["cannot_enforce"]]
        out.append("")

    made_from = [f"sos {_prose(data['sos_version'])}" if data["sos_version"] else "",
                 f"blueprint {code(data['blueprint_digest'][:12])}" if data["blueprint_digest"] else "",
                 f"live {code(data['live_fingerprint'][:12])}" if data["live_fingerprint"] else ""]
    if any(made_from):
        out.append("<sub>" + " · ".join(part for part in made_from if part) + "</sub>")
    return "\n".join(out) + "\n"
