"""SalesforceBackend: read with one Metadata API retrieve, apply with one deploy (all or nothing)."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from sos.backends.base import HANDOFF_NOTE, Activity, ApplyResult, Capabilities, Export, Live, Support, Tally, Timeline
from sos.backends.salesforce.auth import Authenticator
from sos.backends.salesforce.lower import HELD_KINDS, flows
from sos.backends.salesforce.lower.assignment import TAKE_OVER
from sos.backends.salesforce.client import ComponentFailure, DeployOutcome, SalesforceClient, plural, stderr_progress
from sos.backends.salesforce.export import FORMATS, HELP, export_package
from sos.backends.salesforce.mdxml import MD_NS
from sos.backends.salesforce.names import NOTIFICATION_TYPE, OBJECTS, PERMISSION_SET, STAGE_SET, STATUS_SET, describe
from sos.backends.salesforce.package import API_VERSION
from sos.backends.salesforce.read.flows import foreign_notification_type, notifying
from sos.errors import Diagnostic, SosError
from sos.model.checks import Check
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan
from sos.plan.verify import refuse_mismatches
from sos.target import Target

if TYPE_CHECKING:
    import requests

    from sos.backends.salesforce.history import OrgHistory
    from sos.backends.salesforce.package import Package
    from sos.backends.salesforce.read import LiveOrg
    from sos.backends.salesforce.read.assignment import Directory
    from sos.expr.dialects.base import Naming

ROUTING_NOTE = ("they become the Lead assignment rule Sos_Lead_Routing, one entry per route in blueprint order; a "
                "round robin takes turns by lead number (every new lead counts, not only the route's), through "
                "two formula fields sos adds to Lead")
STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."
# Which plan changes put a derived component (one no single resource owns) in the package, by type or value set.
DERIVED_KINDS = {"PermissionSet": {Kind.FIELD}, STAGE_SET: {Kind.STAGE, Kind.PIPELINE}, STATUS_SET: {Kind.LEAD_STATUS},
                 "AssignmentRule": {Kind.ASSIGNMENT}}


class SalesforceBackend:
    """A Salesforce org, reached with simple-salesforce; see auth.py for how it logs in."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        support={kind: Support.PARTIAL if kind in (Kind.AUTOMATION, Kind.ASSIGNMENT) else Support.NATIVE
                 if kind in HELD_KINDS else Support.NONE for kind in Kind},
        notes={Kind.AUTOMATION: flows.HELD_NOTE, Kind.ASSIGNMENT: ROUTING_NOTE, Kind.HANDOFF: HANDOFF_NOTE} | {
            kind: f"sos does not write {kind.value.replace('_', ' ')}s to Salesforce yet; set them up in "
                  "Salesforce by hand" for kind in Kind if kind not in HELD_KINDS | {Kind.HANDOFF}})
    formats: ClassVar[tuple[str, ...]] = FORMATS
    build_help: ClassVar[str] = HELP

    def __init__(self, target: Target, project_root: Path, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, progress: Callable[[str], None] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.project_name = project_root.name
        self.auth = Authenticator(target, session=session, environ=environ)
        self.client = SalesforceClient(self.auth, sleep=sleep, progress=progress or stderr_progress)

    def lint(self, desired: Model) -> list[Diagnostic]:
        from sos.backends.salesforce.lint import lint

        return lint(desired)

    # -- read -------------------------------------------------------------------------------

    def read(self, desired: Model) -> Live:
        """One retrieve of everything sos reads; the org in sos's terms, with look-alikes of `desired`.

        With a blueprint, a managed resource the org holds otherwise than sos deployed it, in a way its
        attributes cannot show (a rule switched off or its formula edited, the deal-aging fields or the
        permission set edited), is in the drift with the reason (lower.org_drift), so the plan updates it.
        With an empty `desired` (`sos import`), the org's own custom fields come back too, unmanaged.
        The retrieved org (LiveOrg) travels as the Live's detail, for check().
        """
        from sos.backends.salesforce.lower import org_drift

        importing = not len(desired)
        org, fingerprint = self._retrieve(desired, org_fields=importing)
        if importing:
            for name, why in org.left_out:
                self.client.progress(f"Left out the org's field {name}: {why}; sos cannot manage it")
        if foreign_notification_type(org.notification_type) and notifying(desired):
            self.client.progress(
                f"The org has a custom notification type {NOTIFICATION_TYPE} that sos did not make, under the name "
                "sos's notify cadences send through: they are left alone. Rename or delete it in Setup → Custom "
                "Notifications, or plan with --adopt to let sos take it over")
        model = Model()
        for resource in org.model:
            model.add(resource)
        unwatched = [c for c in desired.of_kind(Kind.AUTOMATION)
                     if c.address not in model and flows.watches_nothing(desired, org.model, c)]
        for cadence in desired.of_kind(Kind.AUTOMATION):    # what no flow runs is the plan's note, never a change
            if (not flows.held(cadence) or cadence in unwatched) and cadence.address not in model:
                model.add(cadence)
        notes = {Kind.AUTOMATION: flows.unwatched_note(unwatched)} if unwatched else {}
        return Live(model, fingerprint, {} if importing else org_drift(org), notes, detail=org)

    def _retrieve(self, desired: Model, *, org_fields: bool = False) -> tuple[LiveOrg, str]:
        """The org as one retrieve shows it, and its fingerprint (which does not depend on `desired`)."""
        from sos.backends.salesforce.read import listed_org_stages, parse_retrieved, retrieve_members

        outcome = self.client.retrieve(retrieve_members(desired), what="the org's configuration")
        live = parse_retrieved(outcome.files, desired, org_fields=org_fields)
        if any(r.address.kind is Kind.ASSIGNMENT or flows.names_people(r) for model in (desired, live.model)
               for kind in (Kind.ASSIGNMENT, Kind.AUTOMATION) for r in model.of_kind(kind)):
            live.routing.directory = self._directory()
        live.routing.take_over = self.target.options.get(TAKE_OVER) is True
        fingerprint = org_fingerprint(parse_retrieved(outcome.files))
        listed_org_stages(live, desired)    # before anything generates a rule that names one
        return live, fingerprint

    def _directory(self) -> Directory:
        """The org's users and queues, which routes and cadences name (two queries)."""
        from sos.backends.salesforce.read.assignment import Directory

        return Directory.of(self.client.query("SELECT Id, Username, Email, IsActive FROM User"),
                            self.client.query("SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue'"))

    # -- check ------------------------------------------------------------------------------

    def check(self, plan: Plan, desired: Model, live: Live) -> list[Diagnostic]:
        """Stages this plan removes that deals are still in (one REST query, only when stages are removed), what
        Salesforce would refuse in the deploy the plan makes, and, as warnings, what deploying it does beyond its
        changes (a new default lead status), found in the org as `live` (read()'s) holds it without another call."""
        from sos.backends.salesforce.checks import CHECKS

        org = cast("LiveOrg", live.detail)      # read() puts it there
        return [problem for check in CHECKS for problem in check(self.client, plan, desired, org)]

    # -- export -----------------------------------------------------------------------------

    def export(self, plan: Plan, desired: Model, *, fmt: str, value_sets: bool = False) -> Export:
        """The plan's metadata package, for an org sos has not read (no credentials needed)."""
        return export_package(plan, desired, fmt=fmt, value_sets=value_sets, project_name=self.project_name,
                              api_version=str(self.target.options.get("api_version", API_VERSION)))

    # -- apply ------------------------------------------------------------------------------

    def apply(self, plan: Plan, desired: Model, *, check_only: bool = False) -> ApplyResult:
        """One deploy of every change (rollbackOnError: all or nothing); refused when the org moved since the plan.
        What the deploy does beyond the changes is check()'s to say, before."""
        from sos.backends.salesforce.lower import after_plan, build_package

        if not plan.changes:
            return ApplyResult()
        # The blueprint the plan was made from tells which org components are look-alikes sos leaves alone (a
        # pipeline may list such a stage).
        live, fingerprint = self._retrieve(scope_of(plan, desired))
        if fingerprint != plan.live_fingerprint:
            raise SosError(STALE, "plan-stale")
        # Ownership is the org's marks as read now, never the plan's word: an edited saved plan is refused here.
        refuse_mismatches(plan, live.model, desired)
        allow_delete = any(c.action is Action.DELETE for c in plan.changes)
        package = build_package(after_plan(plan, live.model, desired), plan.changes, live,
                                allow_delete=allow_delete, api_version=self.auth.api_version)
        if not check_only:
            self._rename_in_place(plan, package, live)
        outcome = self.client.deploy(package.zip_bytes(), check_only=check_only,
                                     components=len(package.components))
        if outcome.success:
            if not check_only and any(c.type == "PermissionSet" for c in package.components):
                self._grant_fields()
            return ApplyResult(applied=tuple(c.address for c in plan.changes))
        if not outcome.failures:
            raise SosError(Diagnostic(None, self.client.redact(
                f"Salesforce refused deploy {outcome.id} ({outcome.status}): {outcome.error or 'no reason given'}"),
                "sf-deploy-failed", fix=f"see deploy {outcome.id} in Setup → Deployment Status"))
        return ApplyResult(failed=self._failures(plan, package, outcome))

    def _rename_in_place(self, plan: Plan, package: Package, live: LiveOrg) -> None:
        """Give each renamed field and validation rule its new name (renameMetadata) before the deploy updates it
        there: a field keeps its id and its data. A stage or lead status needs none: its value keeps the name its
        records hold, and the deploy changes its label. A rename made stays made if the deploy then fails; the
        next plan finds the component under its new name."""
        made = {(c.address, c.type): c.full_name for c in package.components if not c.deleted}
        for change in plan.changes:
            old = live.names.get(change.renamed_from) if change.renamed_from and change.action is Action.UPDATE \
                else None
            for type_name in ("CustomField", "ValidationRule"):
                new = made.get((change.address, type_name))
                if old and new and old != new:
                    self.client.rename(type_name, old, new)

    def _grant_fields(self) -> None:
        """Assign the permission set to the user sos runs as: fields are invisible and unwritable over the API to
        anyone it is not assigned to (reference §8), and sos's own reads and records need them."""
        try:
            assigned = self.client.assign_permission_set(PERMISSION_SET)
        except SosError as error:     # the deploy is in: say what is left to do rather than fail an applied plan
            self.client.progress(f"Could not assign permission set {PERMISSION_SET} to the user sos runs as "
                                 f"({error.diagnostics[0].message}); assign it in Setup → Permission Sets")
            return
        if assigned:
            self.client.progress(f"Assigned permission set {PERMISSION_SET} to the user sos runs as; assign it to "
                                 "the people who work these records too")

    def _failures(self, plan: Plan, package: Package, outcome: DeployOutcome) -> dict[Address, str]:
        """Each component failure on the change that produced the component; the others were rolled back."""
        by_address = {c.address: c for c in plan.changes}
        failed: dict[Address, list[str]] = {}
        for failure in outcome.failures:
            for address, via in blamed(failure, package, plan):
                message = rejection(address, by_address.get(address), failure, via)
                failed.setdefault(address, []).append(self.client.redact(message))
        result = {address: "; ".join(messages) for address, messages in failed.items()}
        for change in plan.changes:
            result.setdefault(change.address, "not applied: rolled back because another component failed")
        return result

    def resume(self, job: str) -> str:
        """Follow deploy `job` (one an apply lost track of) to its end."""
        outcome = self.client.wait_for_deploy(job)
        if outcome.success:
            return f"deploy {job} succeeded: {plural(outcome.deployed, 'component')} deployed"
        problems = "; ".join(f"{f.type} {f.full_name}: {f.problem}" for f in outcome.failures)
        raise SosError(Diagnostic(None, self.client.redact(
            f"deploy {job} {outcome.status.lower()}, so none of it was applied: "
            f"{problems or outcome.error or 'no reason given'}"), "sf-deploy-failed",
            fix="run `sos plan` to see what the org holds, then `sos apply`"))

    # -- records (backends.base.Records; records.py) ------------------------------------------

    def tally(self, checks: Sequence[Check], *, top: int = 10, today: datetime.date | None = None,
              desired: Model | None = None) -> list[Tally]:
        """For each check, the org's records that break it (records.py says how they are counted). The fields and
        stages the checks read are named as `desired`, the Model they were made from, names them in Salesforce;
        without it, as the org holds what sos manages (read with one retrieve: two calls more)."""
        from sos.backends.salesforce.records import RecordCounter

        if not checks:
            return []
        _, namings = self._named(desired, {c.object for c in checks})
        clock = today or datetime.datetime.now(datetime.UTC).date()
        return RecordCounter(self.client, namings, top=top, today=clock).tally(checks)

    def _named(self, desired: Model | None, objects: Iterable[str]) -> tuple[Model, dict[str, Naming]]:
        """The Model that names fields and stages (`desired`, or what the org holds of sos's, read with one
        retrieve), and the Naming of each of `objects` through it."""
        from sos.backends.salesforce.lower.context import Build
        from sos.backends.salesforce.standard_fields import expression_naming

        if desired is None:
            org, _ = self._retrieve(Model())
            build = Build(org.model, (), org, False, False, frozenset())
        else:
            build = Build(desired, (), None, False, False, frozenset())
        return build.desired, {obj: expression_naming(obj, build.field_names(obj), build.stage_names_by_key(),
                                                      build.status_names_by_key()) for obj in objects}

    # -- history (backends.base.History; history.py) ----------------------------------------------

    def _history(self, obj: str, desired: Model | None) -> OrgHistory:
        from sos.backends.salesforce.history import OrgHistory
        from sos.model.exprs import model_scope

        model, namings = self._named(desired, [obj])
        return OrgHistory(self.client, {obj: model_scope(model, obj)}, namings)

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        return self._history(obj, desired).rows(obj, fields)

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        return self._history(obj, desired).changes(obj, fields, since)

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        return self._history(obj, Model()).activities(obj, since)

    def not_held(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> dict[str, str]:
        """See History.not_held: every field the reports read is a Salesforce field."""
        return {}

    # -- the handoff's claim (sos.handoff.run.DealStore; claims.py) ----------------------------

    def holds(self, obj: str, field: str, *, desired: Model | None = None) -> bool:
        from sos.backends.salesforce.claims import holds

        api_name = self._named(desired, [obj])[1][obj].fields.get(field)
        return api_name is not None and holds(self.client, OBJECTS[obj], api_name)

    def set_if(self, obj: str, record_id: str, field: str, expected: object, value: object, *,
               desired: Model | None = None) -> bool:
        from sos.backends.salesforce.claims import set_if

        api_name = self._named(desired, [obj])[1][obj].fields[field]
        return set_if(self.client, OBJECTS[obj], record_id, api_name, expected, value)

    def record_count(self, obj: str) -> int:
        """How many records of `obj` the org holds (one COUNT() query)."""
        return self.client.count(OBJECTS[obj])

    # -- status -----------------------------------------------------------------------------

    def status(self) -> str:
        """Where the org is and how much of its daily API allowance is used (one REST call)."""
        limits = self.client.limits()
        daily = limits.get("DailyApiRequests") or {}
        maximum, remaining = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
        return (f"Salesforce {self.client.instance_url} (API {self.auth.api_version}, "
                f"{maximum - remaining:,}/{maximum:,} daily API requests used)")


def org_fingerprint(live: LiveOrg) -> str:
    """A digest of what sos manages in the org and of everything an apply writes back (the value sets, the
    permission set): equal digests, and a plan made against one still applies to the other."""
    routing = live.routing
    state = [live.model.fingerprint(), live.stage_values, live.lead_status_values, live.permission_set,
             sorted(live.formulas.items()), sorted((name, body.decode()) for name, body in live.flows.items()),
             routing.entries, routing.active, routing.others_active, sorted(routing.fields.items())]
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def scope_of(plan: Plan, desired: Model) -> Model:
    """The blueprint the plan was made from, with whatever else the plan touches: what the org's look-alikes are
    matched against, so that one at any address the plan names is found."""
    scope = Model()
    for resource in desired:
        scope.add(resource)
    for change in plan.changes:
        if change.address not in scope:
            scope.add(Resource(change.address, dict(change.after or change.before or {}), change.origin))
    return scope


def blamed(failure: ComponentFailure, package: Package, plan: Plan) -> list[tuple[Address, str]]:
    """Which resources a component failure belongs to, each with the component it came through ('' when the
    component is the resource's own).

    The component's own resource; else the resource whose component the failing line of an object file
    holds; else, for a component several resources share (permission set, value sets), the resources whose
    components its problem names; else the plan changes that put it in the package; else every change.
    """
    planned = [c.address for c in plan.changes]
    own = {(c.type.lower(), c.full_name.lower()): c for c in package.components}
    component = own.get((failure.type.lower(), failure.full_name.lower()))
    if component is not None and component.address is not None:
        return [(component.address, "")]
    if failure.line is not None and failure.file in package.files:
        name = component_at_line(package.files[failure.file], failure.line)
        obj = failure.file.rsplit("/", 1)[-1].split(".", 1)[0]
        for candidate in package.components:
            if name and candidate.address is not None and candidate.full_name.lower() == f"{obj}.{name}".lower():
                return [(candidate.address, "")]
    via = f"{failure.type} {failure.full_name}".strip()
    problem = failure.problem.lower()
    named = sorted({c.address for c in package.components
                    if c.address is not None and c is not component and c.full_name.lower() in problem})
    if named:
        return [(address, via) for address in named]
    if any(c.address is None and c.type == "CustomField" and c.full_name.lower() in problem
           for c in package.components):
        kinds = {Kind.STAGE, Kind.PIPELINE}  # deal-aging fields come from the stages' max_days
    else:
        kinds = DERIVED_KINDS.get(failure.full_name if failure.type == "StandardValueSet" else failure.type, set())
    related = [a for a in planned if a.kind in kinds]
    return [(address, via) for address in related or planned]


def component_at_line(xml: bytes, line: int) -> str | None:
    """The fullName of the top-level element of a metadata file that spans `line` (1-based)."""
    from lxml import etree

    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError:
        return None
    children = [c for c in root if isinstance(c.tag, str)]
    for index, child in enumerate(children):
        end = children[index + 1].sourceline if index + 1 < len(children) else None
        if child.sourceline is not None and child.sourceline <= line and (end is None or line < end):
            name = child.find(f"{{{MD_NS}}}fullName")
            return name.text if name is not None else None
    return None


def rejection(address: Address, change: Change | None, failure: ComponentFailure, via: str) -> str:
    """'blueprint.yaml:42: Salesforce rejected rule close_date_not_past: <problem>'."""
    origin = change.origin if change is not None else None
    where = f"{origin.file}:{origin.line}: " if origin else ""
    through = f" (in {via})" if via else ""
    return f"{where}Salesforce rejected {describe(address)}{through}: {failure.problem}"
