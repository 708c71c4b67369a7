"""A package as an SFDX project (source format), for `sf project deploy start --manifest`."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from sos.backends.salesforce.mdxml import MD_NS, child_text, local_name
from sos.backends.salesforce.package import Package

# mdapi child element → (source-format type, folder, file suffix)
SOURCE_CHILDREN = {"fields": ("CustomField", "fields", "field"),
                   "validationRules": ("ValidationRule", "validationRules", "validationRule"),
                   "businessProcesses": ("BusinessProcess", "businessProcesses", "businessProcess"),
                   "recordTypes": ("RecordType", "recordTypes", "recordType")}
SOURCE_ROOT = "force-app/main/default"


def to_source_format(package: Package, *, project_name: str = "sos") -> dict[str, bytes]:
    """The package as an SFDX project: `sf project deploy start --manifest manifest/package.xml` deploys it.

    Object files split into one file per field, rule, business process and record type
    (objects/Opportunity/fields/X__c.field-meta.xml); other files gain `-meta.xml`; the
    manifests go to manifest/ (with destructiveChanges.xml for `--post-destructive-changes`).
    """
    tree: dict[str, bytes] = {}
    for name, body in sorted(package.files.items()):
        if name == "package.xml" or name.startswith("destructiveChanges"):
            tree[f"manifest/{name}"] = body
            continue
        folder, _, rest = name.partition("/")
        if folder != "objects":
            tree[f"{SOURCE_ROOT}/{name}-meta.xml"] = body
            continue
        obj = rest.removesuffix(".object")
        for element in ET.fromstring(body):
            type_name, child_folder, suffix = SOURCE_CHILDREN[local_name(element.tag)]
            member = child_text(element, "fullName") or ""
            tree[f"{SOURCE_ROOT}/objects/{obj}/{child_folder}/{member}.{suffix}-meta.xml"] = \
                _source_document(type_name, element)
    project = {"name": project_name, "namespace": "", "packageDirectories": [{"default": True, "path": "force-app"}],
               "sfdcLoginUrl": "https://login.salesforce.com", "sourceApiVersion": package.api_version}
    tree["sfdx-project.json"] = (json.dumps(project, indent=4, sort_keys=True) + "\n").encode("utf-8")
    return tree


def _source_document(type_name: str, element: ET.Element) -> bytes:
    root = ET.Element(type_name, {"xmlns": MD_NS})
    _copy_children(element, root)
    ET.indent(root, space="    ")
    body = bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _copy_children(source: ET.Element, target: ET.Element) -> None:
    for child in source:
        copy = ET.SubElement(target, local_name(child.tag))
        if len(child):
            _copy_children(child, copy)
        else:
            copy.text = child.text
