"""Reading Metadata API XML: its namespace, and an element's children by local name (prefixes vary)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

MD_NS = "http://soap.sforce.com/2006/04/metadata"


def local_name(tag: str) -> str:
    """`{http://soap.sforce.com/2006/04/metadata}fields` → `fields`."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local_name(child.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    """The text of the first child called `name` ('' when empty), or None when there is none."""
    found = children(element, name)
    return (found[0].text or "") if found else None


def child_flag(element: ET.Element, name: str) -> bool:
    return (child_text(element, name) or "").strip().lower() == "true"


def child_int(element: ET.Element, name: str) -> int | None:
    value = (child_text(element, name) or "").strip()
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None
