"""What sos writes into the org so that a later retrieve knows its work: marks and rule comments.

Every component sos makes ends its description with a mark,
`sos: managed (field opportunity.budget_confirmed)`, where an entry may carry a JSON object of
the attributes Salesforce has no place for (`stage new_business.discovery {"max_days": 21}`).
A stage value shared by pipelines lists one entry per pipeline. Rules keep the blueprint's
expression text (a stage requirement: its fields and stages) in a comment at the top of their
formula, because formulas are not parsed back.
Deal-aging formula fields are marked `sos: derived (deal aging)`: sos keeps them in step with
the stages but they are not resources of the Model.
"""

from __future__ import annotations

import json
import re
from typing import Any
from collections.abc import Iterable, Mapping

from sos.model.resources import Address, Kind, Resource

MANAGED = "sos: managed"
AGING_MARK = "sos: derived (deal aging)"
ROUND_ROBIN_MARK = "sos: derived (round robin)"
NOTIFICATION_MARK = "sos: derived (notifications)"

_ENTRY = re.compile(r"([a-z_]+) ([a-z0-9_]+)\.([a-z0-9_]+)")
_DECODER = json.JSONDecoder()
_COMMENT = re.compile(r'\A/\* sos: (?:rule|route) \S+((?:\r?\n[a-z]+: "(?:[^"\\]|\\.)*")*) \*/\r?\n')
_COMMENT_LINE = re.compile(r'\r?\n([a-z]+): ("(?:[^"\\]|\\.)*")')


def ownership_mark(entries: Iterable[tuple[Address, Mapping[str, Any]]]) -> str:
    """`sos: managed (stage new_business.discovery {"max_days": 21}; stage renewal.discovery)`."""
    parts = []
    for address, extras in entries:
        part = f"{address.kind.value} {address.scope}.{address.key}"
        if extras:
            part += " " + json.dumps(dict(extras), sort_keys=True)
        parts.append(part)
    return f"{MANAGED} ({'; '.join(parts)})"


def with_mark(human: str, mark: str) -> str:
    """A description: the blueprint's text, a blank line, then the mark (the mark alone if no text)."""
    return f"{human}\n\n{mark}" if human else mark


def split_description(text: str | None) -> tuple[str, list[tuple[Address, dict[str, Any]]] | None, bool]:
    """(the human text, the mark's entries or None, whether it is a derived-component mark)."""
    text = text or ""
    for mark, derived in ((AGING_MARK, True), (f"{MANAGED} (", False)):
        at = text.rfind(mark)
        if at < 0 or not (at == 0 or text[:at].endswith("\n\n") or text[:at].endswith("\r\n\r\n")):
            continue
        human = text[:at].removesuffix("\r\n\r\n").removesuffix("\n\n")
        if derived:
            return human, None, True
        entries = _mark_entries(text[at + len(mark):].rstrip())
        if entries is not None:
            return human, entries, False
    return text, None, False


def _mark_entries(body: str) -> list[tuple[Address, dict[str, Any]]] | None:
    entries, position = [], 0
    while True:
        found = _ENTRY.match(body, position)
        if found is None:
            return None
        try:
            address = Address(Kind(found[1]), found[2], found[3])
        except ValueError:
            return None
        position, extras = found.end(), dict[str, Any]()
        if body.startswith(" {", position):
            try:
                extras, position = _DECODER.raw_decode(body, position + 1)
            except ValueError:
                return None
        entries.append((address, extras))
        if body.startswith("; ", position):
            position += 2
            continue
        return entries if body[position:] == ")" else None


def mark_extras(resource: Resource) -> dict[str, Any]:
    """The attributes Salesforce cannot hold or tell apart, carried in the mark."""
    attrs = resource.attrs
    if resource.address.kind is Kind.FIELD:
        extras: dict[str, Any] = {"api_names": dict(attrs["api_names"])} if attrs.get("api_names") else {}
        if attrs.get("default") is False:      # `default: false` and no default both deploy as defaultValue false
            extras["default"] = False
        return extras
    if resource.address.kind is Kind.STAGE and attrs.get("max_days") is not None:
        return {"max_days": attrs["max_days"]}
    return {}


def formula_comment(address: Address, texts: Mapping[str, Any]) -> str:
    """The comment that keeps a rule's (or a route's) blueprint text in its formula (JSON strings: no `*/`
    inside)."""
    word = "route" if address.kind is Kind.ASSIGNMENT else "rule"
    lines = [f"/* sos: {word} {address.scope}.{address.key}"]
    for name in texts:
        if texts[name]:
            lines.append(f"{name}: " + json.dumps(str(texts[name]), ensure_ascii=False).replace("/", "\\/"))
    return "\n".join(lines) + " */\n"


def formula_comment_texts(formula: str) -> dict[str, str]:
    """The texts `formula_comment` kept at the top of `formula` ({} when it has no such comment)."""
    found = _COMMENT.match(formula)
    if found is None:
        return {}
    return {m[1]: json.loads(m[2]) for m in _COMMENT_LINE.finditer(found[1])}
