"""What a rename (`renamed_from`) does in Salesforce, said before it is applied (reference §6, §3.4)."""

from __future__ import annotations

from sos.backends.salesforce.client import SalesforceClient
from sos.backends.salesforce.read import LiveOrg
from sos.errors import Diagnostic, Severity
from sos.model.resources import Kind, Model
from sos.plan.change import Action, Plan

RECORDS = {Kind.STAGE: "deals", Kind.LEAD_STATUS: "leads"}


def check(client: SalesforceClient, plan: Plan, desired: Model, org: LiveOrg) -> list[Diagnostic]:
    """A renamed stage or lead status keeps its picklist value, which its records hold: say that its API name stays."""
    notes = []
    for change in plan.changes:
        old = change.renamed_from
        if old is None or change.action is not Action.UPDATE or old.kind not in RECORDS or old not in org.names:
            continue
        value, label = org.names[old], (change.after or {}).get("label")
        notes.append(Diagnostic(
            change.origin, f"{old.kind.value.replace('_', ' ')} {change.address.key} keeps the Salesforce value "
            f"'{value}' that its {RECORDS[old.kind]} hold; reps see it as '{label}'", "sf-rename-keeps-value",
            Severity.WARNING,
            why="Salesforce stores a picklist value's API name on each record: a new API name would be a new value, "
                f"with none of the {RECORDS[old.kind]} in it",
            fix="nothing to do; reports and integrations that filter on the API name keep working"))
    return notes
