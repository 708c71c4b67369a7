"""PipedriveBackend: read with one list call per kind of thing, apply one call at a time in dependency order.

Pipedrive has no transaction and no check-only mode: an apply stops at the first refusal and says what it
applied (apply.py); what Pipedrive would refuse that sos can know is said before, by lint() and check().
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from sos.backends.base import (HANDOFF_NOTE, Activity, ApplyResult, Capabilities, Export, Live, Support, Tally,
                               Timeline)
from sos.backends.pipedrive.auth import connection
from sos.backends.pipedrive.client import PipedriveClient
from sos.backends.pipedrive.lower import field_type
from sos.backends.pipedrive.imported import account_rest
from sos.backends.pipedrive.read import CLOSED, Account, kept_options, live_model, read_account
from sos.errors import Diagnostic, SosError
from sos.model.checks import Check
from sos.model.resources import Kind, Model
from sos.plan.change import Action, Change, Plan
from sos.plan.verify import refuse_mismatches
from sos.target import Target

if TYPE_CHECKING:
    from sos.backends.pipedrive.history import AccountHistory

STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."
AUDIT = "`sos audit` checks them against the deals instead"

CAPABILITIES = Capabilities(
    support={Kind.FIELD: Support.PARTIAL, Kind.STAGE: Support.PARTIAL, Kind.PIPELINE: Support.NATIVE,
             Kind.STAGE_REQUIREMENT: Support.PARTIAL, Kind.LEAD_STATUS: Support.PARTIAL, Kind.RULE: Support.AUDIT,
             Kind.AUTOMATION: Support.NONE, Kind.ASSIGNMENT: Support.NONE, Kind.HANDOFF: Support.NONE},
    notes={
        Kind.FIELD: "they become deal, person and organization fields (a lead field is a deal field: Pipedrive leads "
                    "share them); a checkbox becomes a Yes/No dropdown and a date and time a date, and lengths, "
                    "decimals and defaults are not held",
        Kind.STAGE: "won and lost stages become Pipedrive's won and lost deal statuses, max_days its rotting; "
                    f"Pipedrive holds no forecast category per stage: {AUDIT}",
        Kind.STAGE_REQUIREMENT: "they become the fields' required-in-stage settings, which Pipedrive documents for "
                                "its apps (not for imports, API writes or automations), and only on custom fields: "
                                f"{AUDIT}",
        Kind.LEAD_STATUS: "they become lead labels: Pipedrive has no lead statuses, so a label neither starts a "
                          "lead (default) nor marks it converted",
        Kind.RULE: f"Pipedrive has no validation rules: {AUDIT}",
        Kind.AUTOMATION: "Pipedrive's API creates no automations, so the task and notification cadences are not "
                         "written: build them in Pipedrive (Automations) by hand; a stage's max_days is applied as "
                         "rotting, which marks a deal rotten but makes no task; scheduled reports are not a CRM "
                         "automation and are never written to Pipedrive",
        Kind.ASSIGNMENT: "Pipedrive's API has no assignment rules: set up the routing in Pipedrive by hand "
                         "(Automations, or the LeadBooster settings)",
        Kind.HANDOFF: HANDOFF_NOTE,
    })


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class PipedriveBackend:
    """A Pipedrive company account, reached with its API token (auth.py)."""

    capabilities: ClassVar[Capabilities] = CAPABILITIES
    formats: ClassVar[tuple[str, ...]] = ()     # Pipedrive has no configuration files to deploy
    build_help: ClassVar[str] = ""

    def __init__(self, target: Target, project_root: Path, *, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[str], None] | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.client = PipedriveClient(connection(target) if environ is None else connection(target, environ),
                                      sleep=sleep, progress=progress or stderr_progress)
        self._read_history: AccountHistory | None = None
        self._history_model: Model | None = None

    def lint(self, desired: Model) -> list[Diagnostic]:
        from sos.backends.pipedrive.lint import lint

        return lint(desired)

    def read(self, desired: Model) -> Live:
        """The account as the fewest calls show it, in sos's words; the raw account travels for check(). With an
        empty `desired` (`sos import`), the account's own pipelines, stages and fields come back too, unmanaged."""
        importing = not len(desired)
        account = read_account(self.client, labels=importing or bool(desired.of_kind(Kind.LEAD_STATUS)))
        reading = live_model(account, desired)
        if importing:
            left_out: list[str] = []
            account_rest(account, reading, left_out)
            for what in left_out:
                self.client.progress(f"Left out {what}; sos cannot manage it")
        else:
            for line in kept_options(account, desired):
                self.client.progress(line)
        self.client.progress(f"Read Pipedrive: {self.client.usage}")
        return Live(reading.model, account.fingerprint(), reading.drift, detail=account)

    def check(self, plan: Plan, desired: Model, live: Live) -> list[Diagnostic]:
        """Stages and pipelines the plan deletes that hold deals (counted, a call each), stages and fields whose
        outcome or type it changes, and stages and stage requirements it writes in pipelines sos did not create."""
        account = cast(Account, live.detail)
        problems = []
        pipelines = {c.address.key for c in plan.changes if c.address.kind is Kind.PIPELINE
                     and c.action in (Action.CREATE, Action.ADOPT)}
        pipelines |= {key for key, held in account.registry.pipelines.items() if held in account.pipelines}
        for change in plan.changes:
            # A requirement there would be written on stages sos does not know: it would switch the fields off.
            if change.address.scope not in pipelines and (
                    (change.address.kind is Kind.STAGE and change.action is Action.CREATE) or
                    (change.address.kind is Kind.STAGE_REQUIREMENT and change.action is not Action.DELETE)):
                what = change.address.kind.value.replace("_", " ")
                problems.append(Diagnostic(change.origin, f"{what} {change.address} goes in pipeline "
                                           f"{change.address.scope}, which sos did not create",
                                           "pd-not-managed",
                                           why="sos changes nothing it did not create",
                                           fix="run `sos apply --adopt` to take the pipeline under management"))
            if change.action is Action.DELETE and change.address.kind in (Kind.STAGE, Kind.PIPELINE):
                deals = self._deals_held(account, change)
                if deals:
                    what = change.address.kind.value
                    noun = "1 deal is" if deals == 1 else f"{deals:,} deals are"
                    code = "pd-stage-in-use" if change.address.kind is Kind.STAGE else "pd-pipeline-in-use"
                    problems.append(Diagnostic(change.origin, f"{noun} in {what} {change.address}, which this plan "
                                               "deletes", code,
                                               why=f"sos never deletes a Pipedrive {what} that holds deals",
                                               fix=f"move those deals to another {what} in Pipedrive first, or keep "
                                                   f"the {what} in the blueprint"))
            was = change.renamed_from or change.address
            held = account.registry.stages.get(f"{was.scope}.{was.key}")
            if change.address.kind is Kind.STAGE and change.action is Action.UPDATE and held is not None and \
                    (held in CLOSED) != ((change.after or {}).get("outcome") in CLOSED):
                problems.append(Diagnostic(change.origin, f"stage {change.address} would change between open and "
                                           "won or lost, which Pipedrive cannot do: an open stage is a Pipedrive "
                                           "stage, won and lost are deal statuses", "pd-stage-outcome",
                                           fix="keep its outcome, or give the stage a new key (a new stage) and "
                                               "delete the old one with --allow-delete"))
            if change.address.kind is Kind.FIELD and change.action is Action.UPDATE and \
                    field_type(change.before or {}) != field_type(change.after or {}):
                problems.append(Diagnostic(change.origin, f"field {change.address} would change type in Pipedrive "
                                           f"({field_type(change.before or {})} → {field_type(change.after or {})}), "
                                           "which Pipedrive cannot do", "pd-field-type",
                                           fix="keep the type, or give the field a new key (a new field) and "
                                               "delete the old one with --allow-delete"))
        return problems

    def _deals_held(self, account: Account, change: Change) -> int:
        """The deals in a stage or pipeline sos made that the plan deletes; deleting a pipeline deletes every stage
        in it, the account's own too, so all of its deals count."""
        from sos.backends.pipedrive.apply import deals_in

        if change.address.kind is Kind.STAGE:
            stage_id = account.registry.stages.get(f"{change.address.scope}.{change.address.key}")
            return deals_in(self.client, stage_id=stage_id) if isinstance(stage_id, int) else 0
        pipeline_id = account.registry.pipelines.get(change.address.key)
        return deals_in(self.client, pipeline_id=pipeline_id) if pipeline_id in account.pipelines else 0

    def apply(self, plan: Plan, desired: Model, *, check_only: bool = False) -> ApplyResult:
        """Each change in dependency order, stopping at the first failure; refused when the account moved since
        the plan was made."""
        from sos.backends.pipedrive.apply import Writer

        if check_only:
            raise SosError(Diagnostic(None, "Pipedrive has no check-only mode: `sos plan --validate` cannot ask it "
                                      "to check a plan without applying it", "pd-check-only",
                                      fix="run `sos plan` (it says what sos knows Pipedrive would refuse), then "
                                          "`sos apply`"))
        if not plan.changes:
            return ApplyResult()
        account = read_account(self.client, labels=bool(desired.of_kind(Kind.LEAD_STATUS)))
        if account.fingerprint() != plan.live_fingerprint:
            raise SosError(STALE, "plan-stale")
        refuse_mismatches(plan, live_model(account, desired).model, desired)
        result = Writer(self.client, account, desired).run(plan)
        self.client.progress(self.client.usage)
        return result

    # -- records ------------------------------------------------------------------------------

    def tally(self, checks: Sequence[Check], *, top: int = 10, today: datetime.date | None = None,
              desired: Model | None = None) -> list[Tally]:
        """For each check, the deals that break it: the deals read once, page by page, each check evaluated on
        them (records.py says why)."""
        from sos.backends.pipedrive.records import tally

        account = read_account(self.client, labels=False)
        return tally(self.client, account, checks, top, today or datetime.datetime.now(datetime.UTC).date())

    def record_count(self, obj: str) -> int:
        from sos.backends.pipedrive.records import record_count

        return record_count(self.client, obj)

    # -- history (backends.base.History; history.py) --------------------------------------------

    def _history(self, desired: Model | None) -> AccountHistory:
        """One for the command: its lists (users, deals, activities) are read once whichever report asks."""
        from sos.backends.pipedrive.history import AccountHistory
        from sos.model.exprs import model_scope

        if self._read_history is None or (desired is not None and desired is not self._history_model):
            model = self._history_model = desired or Model()
            forecasts = {s.address.key: s.attrs.get("forecast") for s in model.of_kind(Kind.STAGE)}
            self._read_history = AccountHistory(
                self.client, read_account(self.client, labels=bool(model.of_kind(Kind.LEAD_STATUS))),
                {obj: model_scope(model, obj) for obj in ("opportunity", "lead")}, forecasts,
                datetime.datetime.now(datetime.UTC).date())
        return self._read_history

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        return self._history(desired).rows(obj, fields)

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        return self._history(desired).changes(obj, fields, since)

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        return self._history(None).activities(obj, since)

    def not_held(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> dict[str, str]:
        """See History.not_held: what Pipedrive lacks, it says in changes() (a forecast category, a next step)."""
        return {}

    def export(self, plan: Plan, desired: Model, *, fmt: str, value_sets: bool = False) -> Export:
        raise SosError(f"target '{self.target.name}' is a Pipedrive account: `sos apply` writes it through its API, "
                       "and there are no files to build for it", "build-target")

    def resume(self, job: str) -> str:
        raise SosError(f"target '{self.target.name}' is a Pipedrive account: an apply there stops at the first "
                       f"failure and says what it applied, so there is no submitted apply {job} to resume; run "
                       "`sos plan` to see what is left", "nothing-to-resume")

    def status(self) -> str:
        company = self.client.company()
        return f"Pipedrive company '{company.domain}' ({company.name}) at {self.client.connection.api_url}"
