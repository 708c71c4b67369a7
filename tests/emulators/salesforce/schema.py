"""The Metadata API XSD, taken from the WSDL that simple-salesforce ships.

Every component file a deploy carries (and every component a CRUD call sends) is
validated with lxml against this schema, so the emulator rejects what the real
Metadata API rejects: unknown elements, missing required elements, bad enum values,
non-numbers where numbers belong. Salesforce appears to tolerate child elements out
of WSDL order (reference §4.1, UNVERIFIED), so by default children are put into WSDL
order before validating; `strict_order=True` validates the file exactly as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One element of a complex type's sequence."""

    name: str
    type: str            # local type name: "CustomField", "boolean", "FieldType"
    builtin: bool        # an xsd: type (string, boolean, int, ...)
    required: bool       # minOccurs != 0
    repeated: bool       # maxOccurs="unbounded"


@dataclass(frozen=True, slots=True)
class SchemaError:
    """A schema violation, worded as the Metadata API words it."""

    message: str
    line: int | None
    column: int | None


class MetadataSchema:
    """The WSDL's schema compiled for lxml, plus a table of its complex types."""

    def __init__(self, wsdl_path: Path) -> None:
        wsdl = etree.parse(str(wsdl_path))
        schema_el = wsdl.find(f".//{{{XSD_NS}}}schema")
        if schema_el is None:
            raise RuntimeError(f"no xsd:schema in {wsdl_path}")
        self.version = _wsdl_version(wsdl_path)
        self.children: dict[str, tuple[ChildSpec, ...]] = {}
        self.bases: dict[str, str | None] = {}
        self.enums: dict[str, tuple[str, ...]] = {}
        self._read_types(schema_el)
        self.metadata_types = frozenset(t for t in self.children if self.is_a(t, "Metadata"))
        # The WSDL declares no global element per metadata type; add one for each so a
        # component file (<CustomObject xmlns=...>) validates as a document of its own.
        schema_copy = etree.fromstring(etree.tostring(schema_el))
        existing = {e.get("name") for e in schema_copy.findall(f"{{{XSD_NS}}}element")}
        for type_name in sorted(self.metadata_types - existing):
            etree.SubElement(schema_copy, f"{{{XSD_NS}}}element", name=type_name, type=f"tns:{type_name}")
        self._xsd = etree.XMLSchema(schema_copy)

    def _read_types(self, schema_el: etree._Element) -> None:
        for simple in schema_el.findall(f"{{{XSD_NS}}}simpleType"):
            values = tuple(e.get("value") for e in simple.iter(f"{{{XSD_NS}}}enumeration"))
            if values:
                self.enums[simple.get("name")] = values
        for complex_el in schema_el.findall(f"{{{XSD_NS}}}complexType"):
            name = complex_el.get("name")
            extension = complex_el.find(f"{{{XSD_NS}}}complexContent/{{{XSD_NS}}}extension")
            self.bases[name] = _local(extension.get("base")) if extension is not None else None
            own = []
            for el in complex_el.iter(f"{{{XSD_NS}}}element"):
                type_attr = el.get("type", "xsd:string")
                own.append(ChildSpec(
                    name=el.get("name"),
                    type=_local(type_attr),
                    builtin=type_attr.startswith("xsd:"),
                    required=el.get("minOccurs", "1") != "0",
                    repeated=el.get("maxOccurs", "1") != "1",
                ))
            self.children[name] = tuple(own)
        for name in list(self.children):
            self.children[name] = self._flattened(name)

    def _flattened(self, name: str) -> tuple[ChildSpec, ...]:
        base = self.bases.get(name)
        inherited = self._flattened(base) if base else ()
        own = tuple(c for c in self.children[name] if c not in inherited)
        return inherited + own

    def is_a(self, type_name: str, ancestor: str) -> bool:
        """Whether `type_name` is `ancestor` or extends it."""
        current: str | None = type_name
        while current is not None:
            if current == ancestor:
                return True
            current = self.bases.get(current)
        return False

    def child(self, type_name: str, child_name: str) -> ChildSpec | None:
        """The spec of `child_name` inside `type_name`, or None if it may not appear there."""
        for spec in self.children.get(type_name, ()):
            if spec.name == child_name:
                return spec
        return None

    def order(self, element: etree._Element, type_name: str) -> None:
        """Put the children of `element` (recursively) into WSDL sequence order, in place.

        Unknown children go last, so validation still reports them.
        """
        specs = self.children.get(type_name)
        if specs is None:
            return
        position = {spec.name: index for index, spec in enumerate(specs)}
        kids = [k for k in element if isinstance(k.tag, str)]
        kids.sort(key=lambda k: position.get(etree.QName(k).localname, len(specs)))
        for kid in kids:
            element.append(kid)    # append moves: the result is the sorted order
            spec = self.child(type_name, etree.QName(kid).localname)
            if spec is not None and not spec.builtin:
                self.order(kid, spec.type)

    def validate(self, root: etree._Element, type_name: str, *, strict_order: bool = False) -> list[SchemaError]:
        """Validate a component document whose root is (or is renamed to) `type_name`.

        `root` is modified: its tag becomes the type's global element and, unless
        `strict_order`, its children are reordered. Line numbers stay those of the source.
        """
        root.tag = f"{{{MD_NS}}}{type_name}"
        if not strict_order:
            self.order(root, type_name)
        if self._xsd.validate(root.getroottree()):
            return []
        errors = []
        for entry in self._xsd.error_log:
            errors.append(SchemaError(
                message=self._reword(root, type_name, entry),
                line=entry.line or None,
                column=entry.column or None,
            ))
        return errors

    def validate_element(self, element: etree._Element) -> list[str]:
        """Validate a standalone copy of any global element (e.g. a SOAP response body child)."""
        standalone = etree.fromstring(etree.tostring(element))
        if self._xsd.validate(standalone):
            return []
        return [f"{e.line}: {e.message}" for e in self._xsd.error_log]

    def _reword(self, root: etree._Element, type_name: str, entry: etree._LogEntry) -> str:
        """lxml's wording → the Metadata API's ("Error parsing file: ...")."""
        found = root.getroottree().xpath(entry.path) if entry.path else []
        element = found[0] if found and isinstance(found[0], etree._Element) else None
        message = entry.message
        if element is not None and "This element is not expected" in message:
            parent = element.getparent()
            parent_type = self.type_of(root, type_name, parent) if parent is not None else type_name
            return f"Error parsing file: Element {element.tag} invalid at this location in type {parent_type}"
        if element is not None and "Missing child element" in message:
            missing = re.findall(r"\{[^}]*\}(\w+)", message.split("Expected is", 1)[-1])
            owner = self.type_of(root, type_name, element)
            required = [n for n in missing if (spec := self.child(owner, n)) is not None and spec.required]
            names = ", ".join(required or missing) or "?"
            return f"Error parsing file: Required field is missing: {names} (in type {owner})"
        enum = re.search(r"The value '([^']*)' is not an element of the set", message)
        if element is not None and enum:
            parent = element.getparent()
            parent_type = self.type_of(root, type_name, parent) if parent is not None else type_name
            spec = self.child(parent_type, etree.QName(element).localname)
            enum_name = spec.type if spec else "?"
            return f"Error parsing file: '{enum.group(1)}' is not a valid value for the enum '{enum_name}'"
        atomic = re.search(r"'([^']*)' is not a valid value of the atomic type 'xs:(\w+)'", message)
        if atomic:
            return f"Error parsing file: '{atomic.group(1)}' is not valid for the type xsd:{atomic.group(2)}"
        return "Error parsing file: " + re.sub(r"^Element '([^']*)': ", r"Element \1: ", message)

    def type_of(self, root: etree._Element, root_type: str, element: etree._Element) -> str:
        """The schema type of `element`, found by walking down from `root`."""
        chain = []
        current: etree._Element | None = element
        while current is not None and current is not root:
            chain.append(etree.QName(current).localname)
            current = current.getparent()
        type_name = root_type
        for name in reversed(chain):
            spec = self.child(type_name, name)
            if spec is None:
                return "?"
            type_name = spec.type
        return type_name


def _local(qualified: str) -> str:
    return qualified.split(":", 1)[-1]


def _wsdl_version(wsdl_path: Path) -> str:
    head = wsdl_path.read_text(encoding="utf-8")[:400]
    match = re.search(r"Metadata API version (\d+\.\d+)", head)
    return match.group(1) if match else "63.0"


def wsdl_path() -> Path:
    """The metadata.wsdl bundled with the installed simple-salesforce."""
    import simple_salesforce

    return Path(simple_salesforce.__file__).parent / "metadata.wsdl"


@lru_cache(maxsize=1)
def load_schema() -> MetadataSchema:
    """The schema, parsed once per process (about 0.2 s)."""
    return MetadataSchema(wsdl_path())
