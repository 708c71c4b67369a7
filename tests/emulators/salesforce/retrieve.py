"""A retrieve: build the mdapi zip (and its fileProperties) from the org's state."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from . import assignment, standard
from .deploy import FILE_OF_TYPE
from .org import CHILD_TYPES, Component, Org, canonical_object, iso
from .schema import MD_NS, MetadataSchema
from .xmlutil import document, md, rebuild, sub

ZIP_DATE = (2025, 1, 1, 0, 0, 0)     # fixed timestamps: the same org gives the same zip bytes
WILDCARD_TYPES = {"CustomObject", "PermissionSet", "Flow", "CustomField", "ValidationRule", "BusinessProcess",
                  "RecordType"}


@dataclass(frozen=True, slots=True)
class FileProperty:
    type: str
    full_name: str
    file_name: str
    id: str
    created: str
    modified: str


@dataclass
class RetrieveOutput:
    zip_bytes: bytes
    properties: list[FileProperty] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)     # (fileName, problem)


@dataclass
class _Selection:
    """What a retrieve request names: whole objects, child components by object, other components."""
    org: Org
    messages: list[tuple[str, str]] = field(default_factory=list)     # (fileName, problem)
    whole_objects: set[str] = field(default_factory=set)
    children: dict[str, list[Component]] = field(default_factory=dict)  # object → child components to include
    top_level: list[Component] = field(default_factory=list)
    rule_objects: list[str] = field(default_factory=list)     # objects whose assignment rules are retrieved

    def refuse(self, problem: str) -> None:
        self.messages.append(("package.xml", problem))

    def add(self, type_name: str, member: str) -> None:
        if type_name == "AssignmentRules":
            self.rule_objects.append(canonical_object(member) or member)
        elif member == "*":
            self._add_all(type_name)
        elif type_name == "CustomObject":
            obj = canonical_object(member)
            if obj is None or not standard.OBJECTS[obj].deployable:
                self.refuse(f"Entity of type 'CustomObject' named '{member}' cannot be found")
            else:
                self.whole_objects.add(obj)
        elif (found := self.org.get(type_name, member)) is None:
            self.refuse(f"Entity of type '{type_name}' named '{member}' cannot be found")
        elif type_name in CHILD_TYPES:
            self.children.setdefault(found.object, []).append(found)
        else:
            self.top_level.append(found)

    def _add_all(self, type_name: str) -> None:
        if type_name not in WILDCARD_TYPES:
            self.refuse(f"The wildcard '*' is not supported for {type_name}")
        elif type_name in CHILD_TYPES:
            for component in self.org.of_type(type_name):
                self.children.setdefault(component.object, []).append(component)
        elif type_name != "CustomObject":    # '*' never includes standard objects
            self.top_level += self.org.of_type(type_name)


def build(org: Org, request: dict[str, list[str]], schema: MetadataSchema, *, api_version: str,
          single_package: bool = True) -> RetrieveOutput:
    """Zip what `request` ({type: [members]}) names, as Salesforce lays it out."""
    selection = _Selection(org)
    for type_name, members in request.items():
        if type_name not in schema.metadata_types:
            selection.refuse(f"Entity type: '{type_name}' is unknown")
        elif type_name not in (*CHILD_TYPES, "CustomObject", "StandardValueSet", "PermissionSet", "Flow",
                               "AssignmentRules", "CustomNotificationType"):
            selection.refuse(f"Not supported by the emulator: retrieving {type_name}")
        else:
            for member in members:
                selection.add(type_name, member)
    messages, whole_objects, children = selection.messages, selection.whole_objects, selection.children

    files: dict[str, bytes] = {}
    properties: list[FileProperty] = []
    for obj in sorted(whole_objects | set(children)):
        included = {(c.type, c.full_name.lower()): c for c in children.get(obj, [])}  # a record type and its
        if obj in whole_objects:                                                        # sales process share names
            for type_name in CHILD_TYPES:
                included.update({(c.type, c.full_name.lower()): c for c in org.of_type(type_name, obj)})
        file_name = f"objects/{obj}.object"
        files[file_name] = _object_file(obj, sorted(included.values(), key=lambda c: (c.type, c.full_name.lower())),
                                        obj in whole_objects, schema)
        if obj in whole_objects:
            properties.append(FileProperty("CustomObject", obj, file_name, f"{obj}", "", ""))
        properties += [FileProperty(c.type, c.full_name, file_name, c.id, c.created, c.modified)
                       for c in included.values()]
    for component in _unique(selection.top_level):
        folder, suffix = FILE_OF_TYPE[component.type]
        file_name = f"{folder}/{component.full_name}{suffix}"
        files[file_name] = document(rebuild(component.body, component.type))
        properties.append(FileProperty(component.type, component.full_name, file_name, component.id,
                                       component.created, component.modified))
    properties += _rule_files(org, selection.rule_objects, files)
    files["package.xml"] = _package(properties, api_version)
    properties.append(FileProperty("Package", "unpackaged", "package.xml", "", "", ""))
    prefix = "" if single_package else "unpackaged/"
    return RetrieveOutput(_zip({prefix + name: body for name, body in files.items()}),
                          [_fill_dates(p, org) for p in sorted(properties, key=lambda p: p.file_name)], messages)


def _rule_files(org: Org, objects: list[str], files: dict[str, bytes]) -> list[FileProperty]:
    """Each object's assignment rules, in one file per object (added to `files`), and their file properties."""
    properties = []
    for obj in objects:
        file_name = f"assignmentRules/{obj}.assignmentRules"
        files[file_name] = assignment.retrieve_file(org, obj)
        properties.append(FileProperty("AssignmentRules", obj, file_name, "", "", ""))
    return properties


def _object_file(obj: str, components: list[Component], whole: bool, schema: MetadataSchema) -> bytes:
    root = etree.Element(md("CustomObject"), nsmap={None: MD_NS})
    if whole:
        for name, field_type in standard.RETRIEVED_STANDARD_FIELDS.get(obj, ()):
            element = sub(root, "fields")
            sub(element, "fullName", name)
            sub(element, "trackFeedHistory", False)
            sub(element, "trackHistory", False)
            sub(element, "trackTrending", False)
            sub(element, "type", field_type)
    for component in components:
        element = rebuild(component.body, CHILD_TYPES[component.type])
        name_el = etree.Element(md("fullName"))
        name_el.text = component.name
        element.insert(0, name_el)
        root.append(element)
    # WSDL order of element names; within one name, sorted by fullName as Salesforce does.
    position = {spec.name: index for index, spec in enumerate(schema.children["CustomObject"])}
    elements = sorted(root, key=lambda e: (position.get(etree.QName(e).localname, len(position)),
                                           (e.findtext(md("fullName")) or "").lower()))
    for element in elements:
        root.append(element)
    return document(root)


def _package(properties: list[FileProperty], api_version: str) -> bytes:
    root = etree.Element(md("Package"), nsmap={None: MD_NS})
    by_type: dict[str, list[str]] = {}
    for prop in properties:
        by_type.setdefault(prop.type, []).append(prop.full_name)
    for type_name in sorted(by_type):
        types = sub(root, "types")
        for member in sorted(set(by_type[type_name]), key=str.lower):
            sub(types, "members", member)
        sub(types, "name", type_name)
    sub(root, "version", api_version)
    return document(root)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), files[name])
    return buffer.getvalue()


def _unique(components: list[Component]) -> list[Component]:
    return list({(c.type, c.full_name.lower()): c for c in components}.values())


def _fill_dates(prop: FileProperty, org: Org) -> FileProperty:
    if prop.created:
        return prop
    stamp = iso(org.clock())
    return FileProperty(prop.type, prop.full_name, prop.file_name, prop.id or "", stamp, stamp)

