"""Small helpers for the Metadata API's XML: reading children, building elements, SOAP envelopes."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from lxml import etree

from .schema import MD_NS, XSI_NS

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


def md(tag: str) -> str:
    """`tag` in the metadata namespace, as lxml spells it."""
    return f"{{{MD_NS}}}{tag}"


def local(element: etree._Element) -> str:
    tag = element.tag
    if isinstance(tag, str):
        return tag.rpartition("}")[2]      # what etree.QName(element).localname gives, without building it
    return str(etree.QName(element).localname)


def kids(element: etree._Element, name: str | None = None) -> list[etree._Element]:
    """Child elements (any namespace, matched by local name), skipping comments."""
    if name is None:
        return [k for k in element if isinstance(k.tag, str)]
    return [k for k in element if isinstance(k.tag, str) and k.tag.rpartition("}")[2] == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The first child called `name`, or None."""
    for k in element:
        if isinstance(k.tag, str) and k.tag.rpartition("}")[2] == name:
            return k
    return None


def text(element: etree._Element, name: str, default: str | None = None) -> str | None:
    """The text of the first child called `name` (stripped), or `default` if absent."""
    found = child(element, name)
    if found is None:
        return default
    return (found.text or "").strip()


def flag(element: etree._Element, name: str, default: bool = False) -> bool:
    """A boolean child; Salesforce and simple-salesforce both send True/true."""
    value = text(element, name)
    return default if value is None else value.lower() == "true"


def number(element: etree._Element, name: str) -> int | None:
    value = text(element, name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def sub(parent: etree._Element, tag: str, value: object = None) -> etree._Element:
    """Append <tag>value</tag> (metadata namespace) and return it."""
    element = etree.SubElement(parent, md(tag))
    if value is not None:
        element.text = _text(value)
    return element


def set_text(element: etree._Element, name: str, value: object) -> None:
    """Set (or add) a child's text."""
    found = child(element, name)
    if found is None:
        found = etree.SubElement(element, md(name))
    found.text = _text(value)


def remove(element: etree._Element, name: str) -> None:
    for found in kids(element, name):
        element.remove(found)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rebuild(element: etree._Element, tag: str | None = None) -> etree._Element:
    """A clean copy in the default metadata namespace: no prefixes, comments, indentation or attributes."""
    root = etree.Element(md(tag or local(element)), nsmap={None: MD_NS})
    _copy_into(element, root)
    return root


def _copy_into(source: etree._Element, target: etree._Element) -> None:
    children = kids(source)
    if not children:
        target.text = source.text
    for kid in children:
        copy = etree.SubElement(target, md(local(kid)))
        if kid.sourceline is not None:
            copy.sourceline = kid.sourceline
        _copy_into(kid, copy)


def document(element: etree._Element) -> bytes:
    """A component file as Salesforce writes it: XML declaration, default namespace, indented."""
    clean = rebuild(element)
    etree.indent(clean, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(etree.tostring(clean, encoding="UTF-8")) + b"\n"


def envelope(body: str) -> bytes:
    """A SOAP response envelope whose body children are in the metadata (default) namespace."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{MD_NS}" xmlns:xsi="{XSI_NS}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_fault(code: str, message: str, namespace: str = MD_NS) -> bytes:
    """A SOAP fault (sent with HTTP 500), `code` like INVALID_SESSION_ID."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sf="{namespace}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{escape(code)}</faultcode><faultstring>{escape(code)}: {escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def elements(tag: str, pairs: Iterable[tuple[str, object]]) -> str:
    """<tag><k>v</k>...</tag> as text, skipping None values; for response bodies."""
    inner = "".join(f"<{k}>{escape(_text(v))}</{k}>" for k, v in pairs if v is not None)
    return f"<{tag}>{inner}</{tag}>"


def fragment(element: etree._Element, tag: str, *, xsi_type: str | None = None) -> str:
    """Serialise a stored component under a new tag for a response body (default namespace)."""
    copy = rebuild(element, tag)
    raw = str(etree.tostring(copy, encoding="unicode"))
    # The envelope declares the default namespace already.
    raw = raw.replace(f' xmlns="{MD_NS}"', "", 1)
    if xsi_type is not None:
        raw = raw.replace(f"<{tag}", f'<{tag} xsi:type="{xsi_type}"', 1)
    return raw
