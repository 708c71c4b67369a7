"""What building the plan's deploy finds, offline over the org as read: what Salesforce would refuse, and (as
warnings) what deploying it does beyond its changes, such as a new default lead status."""

from __future__ import annotations

from sos.backends.salesforce.client import SalesforceClient
from sos.backends.salesforce.lower import after_plan, build_package
from sos.backends.salesforce.read import LiveOrg
from sos.errors import Diagnostic, SosError
from sos.model.resources import Model
from sos.plan.change import Action, Plan


def check(client: SalesforceClient, plan: Plan, desired: Model, org: LiveOrg) -> list[Diagnostic]:
    """What building the deploy finds: what Salesforce would refuse, and notes on what the deploy also does."""
    if not plan.changes:
        return []
    try:
        package = build_package(after_plan(plan, org.model, desired), plan.changes, org,
                                allow_delete=any(c.action is Action.DELETE for c in plan.changes))
    except SosError as exc:
        return list(exc.diagnostics)
    return list(package.notes)
