"""SalesforceBackend: read with one Metadata API retrieve, apply with one deploy (all or nothing)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from collections.abc import Callable, Mapping

from sos.backends.base import ApplyResult, Capabilities
from sos.backends.salesforce.auth import Authenticator
from sos.backends.salesforce.lower import HELD_KINDS
from sos.backends.salesforce.client import ComponentFailure, DeployOutcome, SalesforceClient, plural, stderr_progress
from sos.backends.salesforce.mdxml import MD_NS
from sos.backends.salesforce.names import PERMISSION_SET, STAGE_SET, STATUS_SET, describe
from sos.errors import Diagnostic, SosError, Span
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan
from sos.plan.verify import refuse_mismatches
from sos.target import Target

if TYPE_CHECKING:
    import requests

    from sos.backends.salesforce.package import Package
    from sos.backends.salesforce.read import LiveOrg

STALE = "Saved plan is stale: the CRM changed after this plan was made. Run `sos plan` again."
STAGE_USAGE_QUERY = "SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName"
# Which plan changes put a derived component (one no single resource owns) in the package, by type or value set.
DERIVED_KINDS = {"PermissionSet": {Kind.FIELD}, STAGE_SET: {Kind.STAGE, Kind.PIPELINE}, STATUS_SET: {Kind.LEAD_STATUS}}


class SalesforceBackend:
    """A Salesforce org, reached with simple-salesforce; see auth.py for how it logs in."""

    capabilities: ClassVar[Capabilities] = Capabilities(kinds=HELD_KINDS)

    def __init__(self, target: Target, project_root: Path, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, progress: Callable[[str], None] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.project_root = project_root
        self.auth = Authenticator(target, session=session, environ=environ)
        self.client = SalesforceClient(self.auth, sleep=sleep, progress=progress or stderr_progress)
        self.live: LiveOrg | None = None  # what the last retrieve said; apply builds the package against it
        self._read_scope: Model | None = None
        self._notes_shown: set[Diagnostic] = set()  # package notes check() returned: apply does not repeat them

    # -- read -------------------------------------------------------------------------------

    def read(self, desired: Model) -> Model:
        """One retrieve of everything sos reads; the org in sos's terms, with look-alikes of `desired`.

        With a blueprint, a managed resource the org holds otherwise than sos deployed it, in a way its
        attributes cannot show (a rule switched off or its formula edited, the deal-aging fields or the
        permission set edited), carries `active: false` or `drift` (lower.org_drift), so the plan updates it.
        With an empty `desired` (`sos import`), the org's own custom fields come back too, unmanaged.
        """

        importing = not len(desired)
        self._read_scope = desired
        self.live, fingerprint = self._retrieve(desired, org_fields=importing)
        if importing:
            for name, why in self.live.left_out:
                self.client.progress(f"Left out the org's field {name}: {why}; sos cannot manage it")
        else:
            remember_desired(self.project_root, desired)
        resources = as_planned(self.live, drift=not importing)
        return OrgModel(resources, org_fingerprint=fingerprint)

    def _retrieve(self, desired: Model | None, *, org_fields: bool = False) -> tuple[LiveOrg, str]:
        """The org as one retrieve shows it, and its fingerprint (which does not depend on `desired`)."""
        from sos.backends.salesforce.read import listed_org_stages, parse_retrieved, retrieve_members

        outcome = self.client.retrieve(retrieve_members(desired or Model()), what="the org's configuration")
        live = parse_retrieved(outcome.files, desired, org_fields=org_fields)
        fingerprint = org_fingerprint(live if desired is None else parse_retrieved(outcome.files))
        listed_org_stages(live, desired or Model())    # before anything generates a rule that names one
        return live, fingerprint

    # -- check ------------------------------------------------------------------------------

    def check(self, plan: Plan) -> list[Diagnostic]:
        """Stages this plan removes that deals are still in (one REST query, only when stages are removed), what
        Salesforce would refuse in the deploy the plan makes, and, as warnings, what deploying it does beyond its
        changes (a new default lead status), found in the org as read() saw it without another call (none when
        nothing was read, as for a saved plan)."""
        return [*self._stages_in_use(plan), *self._package_notes(plan)]

    def _package_notes(self, plan: Plan) -> list[Diagnostic]:
        """What building the deploy finds: what Salesforce would refuse, and notes on what the deploy also does."""
        from sos.backends.salesforce.lower import build_package

        if self.live is None or not plan.changes:
            return []
        try:
            package = build_package(desired_from_plan(plan, self.live.model), plan.changes, self.live,
                                    allow_delete=any(c.action is Action.DELETE for c in plan.changes))
        except SosError as exc:
            return list(exc.diagnostics)
        self._notes_shown.update(package.notes)
        return list(package.notes)

    def _stages_in_use(self, plan: Plan) -> list[Diagnostic]:
        removed = [c for c in plan.changes if c.address.kind is Kind.STAGE and c.action is Action.DELETE]
        if not removed:
            return []
        if self.live is None:  # a saved plan: the org's stage values (a renamed stage keeps its old one) need a read
            self.live, _ = self._retrieve(None)
        counts: dict[str, int] = {}
        for row in self.client.query(STAGE_USAGE_QUERY):
            counts[str(row.get("StageName"))] = int(row.get("expr0") or 0)
        problems = []
        for change in removed:
            value = self._stage_value(change)
            deals = counts.get(value, 0)
            if deals:
                noun = "1 deal is" if deals == 1 else f"{deals:,} deals are"
                problems.append(Diagnostic(
                    change.origin or self._pipeline_origin(plan, change.address.scope),
                    f"{noun} in stage {value}, which this plan removes", "stage-in-use",
                    why="Salesforce keeps the inactive stage on those deals; reports and the stage path lose them",
                    fix=f"move those deals to another stage first (in Salesforce: a list view filtered on stage "
                        f"'{value}', then mass-edit), or keep the stage in the blueprint"))
        return problems

    def _pipeline_origin(self, plan: Plan, pipeline: str) -> Span | None:
        """Where the pipeline a removed stage was in is written (the stage itself is gone from the blueprint)."""
        candidates = [*(c for c in plan.changes if c.address.kind is Kind.PIPELINE),
                      *(self._read_scope.of_kind(Kind.PIPELINE) if self._read_scope is not None else ())]
        return next((c.origin for c in candidates if c.address.key == pipeline and c.origin), None)

    def _stage_value(self, change: Change) -> str:
        """The Salesforce value (StageName) of the stage a change names."""
        from sos.backends.salesforce.names import stage_value_name

        return stage_value_name(change.address, change.before or {}, self.live)

    # -- apply ------------------------------------------------------------------------------

    def apply(self, plan: Plan, *, check_only: bool = False) -> ApplyResult:
        """One deploy of every change (rollbackOnError: all or nothing); refused when the org moved since the plan."""
        from sos.backends.salesforce.lower import build_package

        if not plan.changes:
            return ApplyResult()
        # The blueprint the plan was made from tells which org components are look-alikes sos leaves alone (a
        # pipeline may list such a stage); a saved plan finds it where `sos plan` left it.
        known = self._read_scope or recall_desired(self.project_root, plan.blueprint_digest)
        live, fingerprint = self._retrieve(scope_of(plan, known))
        if fingerprint != plan.live_fingerprint:
            raise SosError(STALE, "plan-stale")
        # Ownership is the org's marks as read now, never the plan's word: an edited saved plan is refused here.
        refuse_mismatches(plan, Model(as_planned(live, drift=True)), known)
        self.live = live
        allow_delete = any(c.action is Action.DELETE for c in plan.changes)
        try:
            package = build_package(desired_from_plan(plan, live.model), plan.changes, live,
                                    allow_delete=allow_delete, api_version=self.auth.api_version)
        except SosError as exc:
            if known is not None:
                raise
            raise SosError([*exc.diagnostics, Diagnostic(
                None, "this saved plan was made from a blueprint whose details are not on this machine",
                "plan-context", fix="run `sos plan -o FILE` here and apply that plan, or run `sos apply` without "
                                    "a plan file")]) from None
        for note in package.notes:      # what check() did not already return to be shown
            if note not in self._notes_shown:
                self.client.progress(note.headline())
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

    # -- status -----------------------------------------------------------------------------

    def status(self) -> str:
        """Where the org is and how much of its daily API allowance is used (one REST call)."""
        limits = self.client.limits()
        daily = limits.get("DailyApiRequests") or {}
        maximum, remaining = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
        return (f"Salesforce {self.client.instance_url} (API {self.auth.api_version}, "
                f"{maximum - remaining:,}/{maximum:,} daily API requests used)")


@dataclass
class OrgModel(Model):
    """A live Model whose fingerprint is the org's: the same whichever `desired` found look-alikes in it."""

    org_fingerprint: str = ""

    def fingerprint(self) -> str:
        return self.org_fingerprint or super().fingerprint()


def org_fingerprint(live: LiveOrg) -> str:
    """A digest of what sos manages in the org and of everything an apply writes back (the value sets, the
    permission set): equal digests, and a plan made against one still applies to the other."""
    state = [live.model.fingerprint(), live.stage_values, live.lead_status_values, live.permission_set,
             sorted(live.formulas.items())]
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _desired_file(project_root: Path, digest: str) -> Path:
    return project_root / ".sos" / "salesforce" / f"blueprint-{digest[:32]}.json"


def remember_desired(project_root: Path, desired: Model, keep: int = 20) -> None:
    """Keep the desired model a plan is made from, by its digest, for applying the saved plan later."""
    digest = desired.fingerprint()
    path = _desired_file(project_root, digest)
    if path.exists():
        return
    data = {"digest": digest, "resources": [
        {"address": str(r.address), "attrs": r.attrs, "managed": r.managed,
         "origin": list(astuple(r.origin)) if r.origin else None} for r in desired]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        older = sorted(path.parent.glob("blueprint-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]
        for stale in older:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only checkout: a saved plan then applies only where its blueprint is known (apply says so)


def recall_desired(project_root: Path, digest: str) -> Model | None:
    """The desired model `remember_desired` kept for `digest`, or None."""
    try:
        data = json.loads(_desired_file(project_root, digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model = Model()
    try:
        for item in data["resources"]:
            origin = Span(*item["origin"]) if item["origin"] else None
            model.add(Resource(Address.parse(item["address"]), item["attrs"], origin, item["managed"]))
    except (KeyError, TypeError, ValueError):
        return None
    return model if model.fingerprint() == digest else None


def scope_of(plan: Plan, known: Model | None = None) -> Model:
    """The blueprint the plan was made from (`known`), with whatever else the plan touches: what the org's
    look-alikes are matched against, so that one at any address the plan names is found."""
    scope = Model()
    for resource in known or ():
        scope.add(resource)
    for change in plan.changes:
        if change.address not in scope:
            scope.add(Resource(change.address, dict(change.after or change.before or {}), change.origin))
    return scope


def as_planned(live: LiveOrg, *, drift: bool) -> dict[Address, Resource]:
    """The org's resources as a plan sees them: with `drift`, what differs from what sos deploys in a way their
    attributes cannot show (lower.org_drift) is added to them, so the plan updates them."""
    from sos.backends.salesforce.lower import org_drift

    resources = dict(live.model.resources)
    for address, attrs in (org_drift(live) if drift else {}).items():   # on this copy only: apply builds clean
        resource = resources[address]
        resources[address] = Resource(address, {**resource.attrs, **attrs}, resource.origin, resource.managed)
    return resources


def desired_from_plan(plan: Plan, live: Model) -> Model:
    """What the org should hold after the plan: what it holds (with the look-alikes sos leaves alone) with the
    plan's changes made. A deletion the plan skipped stays: the resource stays in the org."""
    desired = Model()
    for resource in live:
        desired.add(resource)
    for change in plan.changes:
        if change.action is Action.DELETE:
            desired.resources.pop(change.address, None)
        else:
            desired.add(Resource(change.address, dict(change.after or {}), change.origin))
    return desired


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
