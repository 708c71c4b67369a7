"""What one retrieve's reading shares across kinds: the org found so far, in sos's terms and in the org's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable
from xml.etree import ElementTree as ET

from sos.backends.salesforce.read.assignment import Routing
from sos.model.resources import Address, Kind, Model, Resource, compact_attrs


@dataclass
class LiveOrg:
    """What one retrieve says about the org, in sos's terms and in the org's."""

    model: Model                      # managed=True only where the sos mark is found
    stage_values: list[dict[str, Any]]        # every OpportunityStage value as retrieved, in order
    lead_status_values: list[dict[str, Any]]  # every LeadStatus value as retrieved, in order
    names: dict[Address, str] = field(default_factory=dict)     # each live resource's API name (value name for stages)
    # "Opportunity.Sos_X" → formula of the sos rules in the state sos deploys them in (active, inactive if audit-only)
    # and of deal-aging fields: to notice drift
    formulas: dict[str, str] = field(default_factory=dict)
    permission_set: dict[str, Any] | None = None                # {"fields": {name: editable}, "record_types": [...]}
    left_out: list[tuple[str, str]] = field(default_factory=list)  # with org_fields: (field, why sos cannot hold it)
    offered: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # record type → picklist → its values
    flows: dict[str, bytes] = field(default_factory=dict)     # each sos flow's file as retrieved, by flow name
    routing: Routing = field(default_factory=Routing)             # the Lead assignment rules (read/assignment.py)
    notification_type: bytes | None = None      # the notification type notify flows send through, as retrieved


class Reader:
    """The state of one reading. With `desired`, unmarked components named as a desired resource would be are
    look-alikes; with `org_fields` (`sos import`), the org's own custom fields are read too."""

    def __init__(self, desired: Model | None, org_fields: bool = False) -> None:
        self.desired = desired
        self.org_fields = org_fields
        self.left_out: list[tuple[str, str]] = []
        self.model = Model()
        self.names: dict[Address, str] = {}
        self.formulas: dict[str, str] = {}
        self.stage_values: list[dict[str, Any]] = []
        self.status_values: list[dict[str, Any]] = []
        self.permissions: dict[str, Any] | None = None
        self.processes: list[tuple[str, str, ET.Element]] = []     # (object key, name, element)
        self.record_types: dict[tuple[str, str], ET.Element] = {}  # (object key, process name lower) → element
        self.offered: dict[str, dict[str, list[str]]] = {}
        self.flows: dict[str, bytes] = {}
        self.routing = Routing()
        self.notification_type: bytes | None = None

    def add(self, address: Address, attrs: dict[str, Any], name: str, *, managed: bool = True) -> None:
        self.model.add(Resource(address, compact_attrs(attrs), None, managed))
        self.names[address] = name

    def look_alike(self, kind: Kind, obj: str, name: str, named: Callable[[Resource], str]) -> Address | None:
        """The desired address whose Salesforce name is `name` (case-insensitive), if any."""
        if self.desired is None:
            return None
        for resource in self.desired.of_kind(kind):
            anywhere = kind in (Kind.STAGE, Kind.STAGE_REQUIREMENT)    # scoped by pipeline, not by object
            if (anywhere or resource.address.scope == obj) and named(resource).lower() == name.lower():
                return resource.address
        return None

    def live(self) -> LiveOrg:
        return LiveOrg(self.model, self.stage_values, self.status_values, self.names, self.formulas,
                       self.permissions, sorted(self.left_out), self.offered, self.flows, self.routing,
                       self.notification_type)
