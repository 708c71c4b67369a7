"""The permission set sos deploys, as granted now: what derived drift (lower/derived.py) compares with."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from sos.backends.salesforce.mdxml import child_flag, child_text, children
from sos.backends.salesforce.read.reader import Reader


def permission_set(r: Reader, root: ET.Element) -> None:
    r.permissions = {
        "fields": {(child_text(p, "field") or ""): child_flag(p, "editable")
                   for p in children(root, "fieldPermissions") if child_flag(p, "readable")},
        "record_types": sorted((child_text(v, "recordType") or "") for v in children(root, "recordTypeVisibilities")
                               if child_flag(v, "visible")),
    }
