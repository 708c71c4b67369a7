"""STAGE and LEAD_STATUS → values of the OpportunityStage and LeadStatus standard value sets. The value sets are
built whole, merged with the org's (value_sets.py), so no stage or status has a component of its own: a stage
travels in its value set and its pipelines' business processes, and deleting one deactivates its value."""

from __future__ import annotations

from sos.backends.salesforce.lower.context import Build, Part
from sos.backends.salesforce.package import Component
from sos.model.resources import Address


def write(b: Build) -> list[Part]:
    return []


def delete(b: Build, address: Address) -> list[Component]:
    return []


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """A value's drift shows in its attributes (label, probability, forecast category, ...)."""
