"""Flow → AUTOMATION, by the mark sos gave it: the cadence comes back from the JSON the flow carries
(processMetadataValues `sos_cadence`, lower/flows.py). A flow without sos's mark is left alone, unless it has the
name a desired cadence's flow would have: then it is a look-alike (managed=False), never touched. So is every notify
cadence while the org holds a notification type of its own under the name notify flows send through."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import NOTIFICATION_MARK, split_description
from sos.backends.salesforce.mdxml import child_text, children
from sos.backends.salesforce.names import NOTIFICATION_TYPE, cadence_flow_names
from sos.backends.salesforce.read.reader import Reader
from sos.model.automation import Notify, automation_of
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs


def flow(r: Reader, name: str, body: bytes) -> None:
    root = ET.fromstring(body)
    address = cadence_address(root)
    if address is not None:
        attrs = _cadence(root)
        found = r.model.get(address)     # a stage_age_over cadence has a flow per stage: they must agree
        r.add(address, attrs if found is None or dict(found.attrs) == compact_attrs(attrs) else {}, name)
        r.flows[name] = body
        return
    wanted = r.desired.of_kind(Kind.AUTOMATION) if r.desired is not None else []
    look_alike = next((c.address for c in wanted if name.lower() in
                       {n.lower() for n in cadence_flow_names(r.desired or Model(), c)}), None)
    if look_alike is not None:
        r.add(look_alike, {}, name, managed=False)


def notifying_look_alikes(r: Reader) -> None:
    """With the org's own notification type under sos's name (no sos mark), the notify cadences Salesforce runs as
    flows are look-alikes: deploying their flows would deploy sos's type over the org's. `--adopt` takes both over."""
    if r.desired is None or not foreign_notification_type(r.notification_type):
        return
    for cadence in notifying(r.desired):
        r.add(cadence.address, dict(cadence.attrs), NOTIFICATION_TYPE, managed=False)


def notifying(model: Model) -> list[Resource]:
    """The notify cadences Salesforce runs as flows, which send through sos's notification type."""
    from sos.backends.salesforce.lower.flows import held     # lower/ reads the org through this package

    return [c for c in model.of_kind(Kind.AUTOMATION) if held(c) and isinstance(automation_of(c).action, Notify)]


def foreign_notification_type(body: bytes | None) -> bool:
    """Whether the org's notification type under sos's name is one sos did not make."""
    return body is not None and NOTIFICATION_MARK not in (child_text(ET.fromstring(body), "description") or "")


def cadence_address(root: ET.Element) -> Address | None:
    """The cadence whose flow this is, by sos's mark in its description (None: not sos's)."""
    _, entries, _ = split_description(child_text(root, "description"))
    return next((a for a, _ in entries or [] if a.kind is Kind.AUTOMATION), None)


def _cadence(root: ET.Element) -> dict[str, object]:
    """The cadence's attributes as the flow carries them ({} when edited past reading: the plan rewrites it)."""
    for value in children(root, "processMetadataValues"):
        if child_text(value, "name") == "sos_cadence":
            text = next((child_text(v, "stringValue") for v in children(value, "value")), None)
            try:
                attrs = dict(json.loads(text or ""))
                automation_of(Resource(Address(Kind.AUTOMATION, "", ""), attrs))
            except (ValueError, TypeError, KeyError, AttributeError):
                return {}
            return attrs
    return {}
