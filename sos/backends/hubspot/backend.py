"""HubSpotBackend: read a portal in a constant number of calls, apply a plan call by call (no transaction)."""

from __future__ import annotations

import datetime
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from sos.backends.base import (HANDOFF_NOTE, Activity, ApplyResult, Capabilities, Export, Live, Support, Tally,
                               Timeline)
from sos.backends.hubspot.auth import connection
from sos.backends.hubspot.client import HubSpotClient
from sos.backends.hubspot.names import OBJECT_TYPES
from sos.errors import Diagnostic, Severity, SosError, Span
from sos.model.checks import Check
from sos.model.resources import Kind, Model
from sos.plan.change import Action, Plan
from sos.plan.verify import refuse_mismatches
from sos.target import Target

if TYPE_CHECKING:
    from sos.backends.hubspot.history import PortalHistory

STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."
AUDIT = "`sos audit` checks the records that break them"
RECORD_SCOPES = ("crm.objects.deals.read", "crm.objects.contacts.read")
HISTORY_SCOPES = (*RECORD_SCOPES, "crm.objects.owners.read")   # owners name the users who own and change records
WRITE_SCOPES = ("crm.schemas.deals.write", "crm.schemas.contacts.write", "crm.schemas.companies.write")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class HubSpotBackend:
    """A HubSpot portal, reached with hubspot-api-client and an app's access token (see auth.py)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        support={Kind.FIELD: Support.PARTIAL, Kind.STAGE: Support.PARTIAL, Kind.PIPELINE: Support.NATIVE,
                 Kind.LEAD_STATUS: Support.PARTIAL, Kind.STAGE_REQUIREMENT: Support.AUDIT, Kind.RULE: Support.AUDIT,
                 Kind.AUTOMATION: Support.NONE, Kind.ASSIGNMENT: Support.NONE, Kind.HANDOFF: Support.NONE},
        notes={
            Kind.FIELD: "lookup fields are left out (HubSpot relates records with associations); the others become "
                        "properties in the property group `sos`",
            Kind.STAGE: "HubSpot holds a stage's label, order, probability (in tenths) and whether it is closed, "
                        "not its max_days or forecast: `sos audit` checks the deals that stay too long",
            Kind.STAGE_REQUIREMENT: f"HubSpot's API cannot make properties required per stage: {AUDIT}",
            Kind.LEAD_STATUS: "they become options of the contact property hs_lead_status; HubSpot has no "
                              "converted or default status",
            Kind.RULE: f"HubSpot has no validation rules across fields: {AUDIT}",
            # HubSpot's OpenAPI spec (HubSpot-public-api-spec-collection, Automation V4, rollout 144908) types
            # actionTypeId as any string and fields as an open map; docs/hubspot.md "Cadences and routing" says
            # what else was checked.
            Kind.AUTOMATION: "sos does not write HubSpot workflows: their API (automation v4) is in beta, and "
                             "HubSpot's published spec leaves each action's type id and fields open, so its "
                             "create-task and notification steps cannot be written from it with confidence; build the "
                             "task and notification cadences as HubSpot workflows by hand; "
                             "scheduled reports are not a CRM automation and are never written to HubSpot",
            Kind.ASSIGNMENT: "HubSpot has no lead assignment rules that sos could own through its API (owner "
                             "rotation is a step inside a workflow): set up the routing in HubSpot by hand",
            Kind.HANDOFF: HANDOFF_NOTE,
        },
        cannot_rename={Kind.FIELD: "HubSpot cannot change a property's internal name, so sos creates the new "
                                   "property; the old one keeps its values until it is deleted (copy them across "
                                   "with an import or a workflow first)"})
    formats: ClassVar[tuple[str, ...]] = ()
    build_help: ClassVar[str] = ""

    def __init__(self, target: Target, project_root: Path, *, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.client = HubSpotClient(connection(target, os.environ if environ is None else environ), clock=clock,
                                    sleep=sleep, progress=progress or _stderr)
        self._history: PortalHistory | None = None

    def lint(self, desired: Model) -> list[Diagnostic]:
        from sos.backends.hubspot.lint import lint

        return lint(desired)

    def read(self, desired: Model) -> Live:
        from sos.backends.hubspot.read import read_portal

        portal = read_portal(self.client, desired)
        for what in portal.left_out:
            self.client.progress(f"Left out {what}")
        if not len(desired) and portal.model.of_kind(Kind.LEAD_STATUS):
            self.client.progress("HubSpot has no default or converted lead status: the import marks new as the default "
                                 "and open_deal as converted; check them before you apply")
        return Live(portal.model, portal.fingerprint(), portal.drift, detail=portal)

    def check(self, plan: Plan, desired: Model, live: Live) -> list[Diagnostic]:
        """Stages the plan removes that deals are in: one search call counts them, only when stages are removed."""
        from sos.backends.hubspot.read import LivePortal

        portal = cast(LivePortal, live.detail)
        removed = [c for c in plan.changes if c.address.kind is Kind.STAGE and c.action is Action.DELETE
                   and c.address in portal.ids]
        if not removed:
            return []
        ids = [portal.ids[c.address] for c in removed]
        deals = self.client.count("deals", [{"filters": [{"propertyName": "dealstage", "operator": "IN",
                                                          "values": ids}]}])
        if not deals:
            return []
        names = ", ".join(f"{c.address.scope}.{c.address.key}" for c in removed)
        noun = "1 deal is" if deals == 1 else f"{deals:,} deals are"
        origin = _pipeline_origin(desired, removed[0].address.scope) or removed[0].origin
        return [Diagnostic(origin, f"{noun} in stage{'s' if len(removed) > 1 else ''} {names}, which this plan "
                           "removes", "hs-stage-in-use", why="HubSpot refuses to archive a stage that deals are in",
                           fix="move those deals to another stage in HubSpot first (the deals board, filtered on the "
                               "stage, then bulk edit), or keep the stage in the blueprint")]

    def apply(self, plan: Plan, desired: Model, *, check_only: bool = False) -> ApplyResult:
        from sos.backends.hubspot.read import read_portal
        from sos.backends.hubspot.write import Writer

        if not plan.changes:
            return ApplyResult()
        self.client.require_scopes(WRITE_SCOPES, "sos apply")
        portal = read_portal(self.client, desired)
        if portal.fingerprint() != plan.live_fingerprint:
            raise SosError(STALE, "plan-stale")
        refuse_mismatches(plan, portal.model, desired)
        if check_only:
            return ApplyResult(notes=(Diagnostic(
                None, "HubSpot has no dry run: sos checked this plan against the portal as it reads it now, not "
                      "what HubSpot itself may still refuse (a pipeline over the subscription's limit, say)",
                "hs-no-dry-run", Severity.WARNING),))
        return Writer(self.client, portal, plan, desired).apply()

    def export(self, plan: Plan, desired: Model, *, fmt: str, value_sets: bool = False) -> Export:
        raise SosError(f"target '{self.target.name}' is a HubSpot portal: `sos apply` writes it through HubSpot's "
                       "API, and there are no files to build for it", "build-target")

    def resume(self, job: str) -> str:
        raise SosError(f"target '{self.target.name}' is a HubSpot portal: an apply there makes its calls one by one "
                       f"and never leaves a submitted job ({job}) behind; run `sos plan` to see what is left",
                       "nothing-to-resume")

    # -- records (Records in base.py) ---------------------------------------------------------

    def tally(self, checks: Sequence[Check], *, top: int = 10, today: datetime.date | None = None,
              desired: Model | None = None) -> list[Tally]:   # the portal's own property names need no Model
        from sos.backends.hubspot import records
        from sos.backends.hubspot.read import read_portal

        self.client.require_scopes(RECORD_SCOPES, "reading deals and contacts")
        portal = read_portal(self.client, Model())
        return records.tally(self.client, portal, checks, top=top,
                             today=today or datetime.datetime.now(datetime.UTC).date())

    def record_count(self, obj: str) -> int:
        from sos.backends.hubspot import records

        return records.record_count(self.client, obj)

    # -- history (History in base.py; history.py) ---------------------------------------------

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        return self._portal_history().rows(obj, fields, desired or Model())

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        return self._portal_history().changes(obj, fields, since, desired or Model())

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        return self._portal_history().activities(obj, since)

    def not_held(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> dict[str, str]:
        return self._portal_history().not_held(obj, fields, desired or Model())

    def _portal_history(self) -> PortalHistory:
        """One per backend (one report): the portal's stages, properties and owners are read once for all reads."""
        from sos.backends.hubspot.history import PortalHistory

        if self._history is None:
            self.client.require_scopes(HISTORY_SCOPES, "reading deals and contacts with their history")
            self._history = PortalHistory(self.client)
        return self._history

    def status(self) -> str:
        account = self.client.whoami()
        pipelines = self.client.pipelines("deals")
        return (f"HubSpot portal {account.portal_id} at {self.client.connection.api_url} "
                f"({len(pipelines)} deal pipeline{'s' if len(pipelines) != 1 else ''}, objects "
                f"{', '.join(sorted(set(OBJECT_TYPES.values())))})")


def _pipeline_origin(desired: Model, pipeline: str) -> Span | None:
    return next((r.origin for r in desired.of_kind(Kind.PIPELINE) if r.address.key == pipeline), None)
