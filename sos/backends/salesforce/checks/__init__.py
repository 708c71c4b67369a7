"""What Salesforce would refuse in a plan, or what applying it does beyond its changes, known before any apply:
one check per module (like Salto's change validators), each `check(client, plan, desired, org)` over the org as
read() saw it. Backend.check runs them in order."""

from __future__ import annotations

from collections.abc import Callable

from sos.backends.salesforce.checks import deploy, renames, stages_in_use
from sos.backends.salesforce.client import SalesforceClient
from sos.backends.salesforce.read import LiveOrg
from sos.errors import Diagnostic
from sos.model.resources import Model
from sos.plan.change import Plan

Check = Callable[[SalesforceClient, Plan, Model, LiveOrg], list[Diagnostic]]

CHECKS: tuple[Check, ...] = (stages_in_use.check, renames.check, deploy.check)
