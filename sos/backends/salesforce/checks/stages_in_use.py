"""A stage the plan removes that deals are still in: Salesforce keeps the inactive stage on them."""

from __future__ import annotations

from sos.backends.salesforce.client import SalesforceClient
from sos.backends.salesforce.names import stage_value_name
from sos.backends.salesforce.read import LiveOrg
from sos.errors import Diagnostic, Span
from sos.model.resources import Kind, Model
from sos.plan.change import Action, Plan

STAGE_USAGE_QUERY = "SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName"


def check(client: SalesforceClient, plan: Plan, desired: Model, org: LiveOrg) -> list[Diagnostic]:
    """Stages the plan removes that deals are still in: one REST query, only when a stage is removed."""
    removed = [c for c in plan.changes if c.address.kind is Kind.STAGE and c.action is Action.DELETE]
    if not removed:
        return []
    counts: dict[str, int] = {}
    for row in client.query(STAGE_USAGE_QUERY):
        counts[str(row.get("StageName"))] = int(row.get("expr0") or 0)
    problems = []
    for change in removed:
        value = stage_value_name(change.address, change.before or {}, org)
        deals = counts.get(value, 0)
        if deals:
            noun = "1 deal is" if deals == 1 else f"{deals:,} deals are"
            problems.append(Diagnostic(
                change.origin or _pipeline_origin(plan, desired, change.address.scope),
                f"{noun} in stage {value}, which this plan removes", "stage-in-use",
                why="Salesforce keeps the inactive stage on those deals; reports and the stage path lose them",
                fix=f"move those deals to another stage first (in Salesforce: a list view filtered on stage "
                    f"'{value}', then mass-edit), or keep the stage in the blueprint"))
    return problems


def _pipeline_origin(plan: Plan, desired: Model, pipeline: str) -> Span | None:
    """Where the pipeline a removed stage was in is written (the stage itself is gone from the blueprint)."""
    origins = [*((c.address, c.origin) for c in plan.changes if c.address.kind is Kind.PIPELINE),
               *((r.address, r.origin) for r in desired.of_kind(Kind.PIPELINE))]
    return next((origin for address, origin in origins if address.key == pipeline and origin), None)
