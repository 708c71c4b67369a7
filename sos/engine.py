"""The plan → apply cycle against one target, as the commands run it: the one module that joins the project, the
model, plans and the backends (no other core module imports `sos.backends`)."""

from __future__ import annotations

import datetime
import importlib
import tempfile
from typing import Any, cast
import shlex
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from sos.backends import (BACKENDS, CI_LOGINS, CODE_MODULES, backend_class, backend_of_type, ci_login_for_target,
                          lint_for_target, open_backend)
from sos.audit import READS_A_SAVE, report
from sos.backends.base import (ApplyInterrupted, ApplyResult, ApplyUnknown, Backend, CiLogin, Export, History, Live,
                               Records, Tally)
from sos.backends.local import LocalBackend
from sos.backends.local.store import RECORD_OBJECTS
from sos.blueprint.checks import placeholder_errors
from sos.blueprint.load import load_blueprint
from sos.blueprint.types import Blueprint
from sos.codes import CODES, Code
from sos.errors import Diagnostic, Severity, SosError, did_you_mean
from sos.handoff.connect import open_tools
from sos.handoff.run import DealStore, Run, Summary
from sos.handoff.run import run_handoffs as handoff_deals
from sos.history import git_commit, read_history, record_apply
from sos.lock import changed_starters, lock_new_starters, read_lock, write_lock
from sos.model.compile import compile_model
from sos.model.checks import checks_of, newly_broken, reads_a_save, with_blank_fields
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Action, Impact, Plan, held_stages, keep_stages
from sos.plan.diff import diff, plan_digest
from sos.plan.planfile import PlanFile, plan_to_json, saved_json
from sos.process_tests import Outcome, ProcessTest, run_test
from sos.project import Project
from sos.target import Target


@dataclass
class PlanRun:
    """A plan, the backend it is for, and what it was made from: the desired model and, when it was made here
    rather than loaded from a file, the live state read for it."""

    plan: Plan
    backend: Backend
    desired: Model
    live: Live | None = None


def all_codes() -> dict[str, Code]:
    """Every diagnostic code by name, the backends' included (each backend declares its own)."""
    for module in CODE_MODULES:
        importlib.import_module(module)
    return dict(sorted(CODES.items()))


def target_types() -> list[str]:
    """The target types sos can plan and apply, each with its backend."""
    return list(BACKENDS)


def resolved_blueprint(project: Project) -> Blueprint:
    """The project's blueprint, resolved and checked; SosError with its problems."""
    blueprint, diagnostics = load_blueprint(project.blueprint_path, project.blueprint_folders)
    if blueprint is None:
        raise SosError([d for d in diagnostics if d.is_error] or diagnostics)
    return blueprint


def forecast_target(project: Project, period: str) -> float | None:
    """The team's number for `period` (month or quarter) as the blueprint's `forecast_target` gives it, or None."""
    return resolved_blueprint(project).forecast_target.get(period)


def desired_model(project: Project, *, locked: bool = True, record: bool = True) -> Model:
    """The project's blueprint compiled. `locked`: refuse a starter that changed since sos.lock recorded it (the
    client takes it with `sos upgrade`), and (`record`: not for a command that changes nothing) record the starters
    it does not hold yet."""
    blueprint = resolved_blueprint(project)
    if locked:
        changed = changed_starters(project.root, blueprint.starters)
        if changed:
            raise SosError(changed)
        if record:
            lock_new_starters(project.root, blueprint.starters)
    return compile_model(blueprint)


def upgrade_starters(project: Project) -> dict[str, tuple[str | None, str]]:
    """Lock the starters the blueprint extends as they are now: for each whose digest changed, (was, now)."""
    blueprint = resolved_blueprint(project)
    locked = read_lock(project.root) or {}
    changed = {ref: (locked.get(ref), digest) for ref, digest in blueprint.starters.items()
               if locked.get(ref) != digest}
    write_lock(project.root, blueprint.starters)
    return changed


def lint_targets(project: Project, desired: Model) -> list[Diagnostic]:
    """What the project's targets would refuse in `desired`, known offline; each problem once."""
    found = {d: None for target in project.targets.values() for d in lint_for_target(target, desired)}
    return sorted(found, key=Diagnostic.sort_key)


def open_target(project: Project, target: Target) -> Backend:
    """The backend that plans and applies against `target`, by its `type` in sos.yaml."""
    return open_backend(target, project.root)


def ci_login(project: Project, target: Target) -> CiLogin:
    """The secrets (and setup) a CI runner needs to plan and apply against `target`; SosError at the target in
    sos.yaml for one CI cannot reach, naming those it can."""
    login = ci_login_for_target(target)
    if login is None:
        backend_class(target)       # a type sos has no backend for says so
        reachable = [name for name, other in project.targets.items() if other.type in CI_LOGINS]
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' is the local sandbox, kept in this "
                                  "machine's .sos folder: a CI runner starts without it", "ci-target",
                                  fix=f"pass --target {' or '.join(reachable)}" if reachable else
                                  "add a CRM target to sos.yaml (`sos schema project` lists the options)"))
    return login


def make_plan(project: Project, target: Target, *, adopt: bool = False, backend: Backend | None = None,
              impact: bool = True, locked: bool = True, record: bool = True) -> PlanRun:
    """Read the target's live state and diff it against the project's blueprint.

    `adopt`: plan to take look-alikes sos did not create under management (after `sos import`).
    `backend`: one already open (tests pass one with a fake clock); by default the target's.
    `impact`: count the open records each blocking rule or stage requirement the plan adds or tightens would block
    (when the target reads records). `locked`, `record`: see desired_model (`sos upgrade` plans with the starters as
    they are).
    """
    desired = desired_model(project, locked=locked, record=record)
    backend = backend or open_target(project, target)
    refused = [d for d in backend.lint(desired) if d.is_error]
    if refused:
        raise SosError(sorted(refused, key=Diagnostic.sort_key))
    live = backend.read(desired)
    capabilities = backend.capabilities
    plan = diff(desired, live.model, target=target.name, target_type=target.type, supported=capabilities.held,
                notes=capabilities.plan_notes() | dict(live.notes), drift=live.drift,
                live_fingerprint=live.fingerprint, adopt=adopt, cannot_rename=capabilities.cannot_rename)
    if impact and isinstance(backend, Records):
        plan = with_impact(plan, backend, desired)
    return PlanRun(plan, backend, desired, live)


# What a stage requirement or rule checks: a change to any of these can block saves it did not block before.
_CHECKED = ("when", "require", "fields", "stages", "enforce")


def with_impact(plan: Plan, records: Records, desired: Model) -> Plan:
    """`plan` with, on each change that adds or tightens a blocking rule or stage requirement, how many open records
    it would block that the target does not block now (all that break it, for a new one): one tally for the plan.
    A count the target cannot make is said on the change; it never stops the plan."""
    tightened = {c.address: c for c in plan.changes
                 if c.address.kind in (Kind.RULE, Kind.STAGE_REQUIREMENT) and c.after is not None
                 and (c.action is Action.CREATE or any((c.before or {}).get(k) != c.after.get(k) for k in _CHECKED))}
    created = {(c.address.scope, c.address.key) for c in plan.changes
               if c.address.kind is Kind.FIELD and c.action is Action.CREATE}
    impacts: dict[Address, Impact] = {}
    checks = []
    for check in checks_of(desired, (Kind.RULE, Kind.STAGE_REQUIREMENT), only=tightened, open_only=True):
        before = tightened[check.address].before
        narrowed = check if before is None else newly_broken(check, before, desired)
        countable = with_blank_fields(narrowed, {key for obj, key in created if obj == check.object})
        if not check.blocks:
            continue
        if countable is None:
            impacts[check.address] = Impact(0, 0, check.object, check.enforce,
                                            "it compares fields this plan creates, which hold nothing yet")
        else:
            checks.append(countable)
    try:
        tallies = records.tally(checks, top=0, desired=desired) if checks else []
    except SosError as error:
        tallies = [Tally(0, unsupported=error.diagnostics[0].message.splitlines()[0]) for _ in checks]
    for check, tally in zip(checks, tallies, strict=True):
        impacts[check.address] = Impact(tally.total, len(tally.by_owner), check.object, check.enforce,
                                        tally.unsupported, more=tightened[check.address].before is not None)
    # A target with no records of an object (a new sandbox) has no impact to tell: asked only when nothing was found.
    quiet = {i.object for i in impacts.values()} - {i.object for i in impacts.values() if i.records}
    empty = {obj for obj in quiet if not records.record_count(obj)}
    return replace(plan, changes=tuple(replace(c, impact=None if (i := impacts.get(c.address)) is None
                                               or i.object in empty else i) for c in plan.changes))


def audit(project: Project, target: Target, *, top: int = 10, today: datetime.date | None = None,
          backend: Backend | None = None, desired: Model | None = None) -> dict[str, object]:
    """The audit report (sos.audit) of the blueprint's rules, stage requirements and stage time limits against the
    target's records, whatever their `enforce`. `today`: the date the audit reads as today (default: UTC's).
    `backend`, `desired`: already open and compiled (sos status has them from its plan)."""
    desired = desired or desired_model(project, record=False)
    backend = backend or open_target(project, target)
    if not isinstance(backend, Records):
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}', whose records "
                                  "this version of sos cannot read", "records-missing"))
    today = today or datetime.datetime.now(datetime.UTC).date()
    checks = checks_of(desired)
    records = {obj: backend.record_count(obj) for obj in dict.fromkeys(check.object for check in checks)}
    readable = [check for check in checks if not reads_a_save(check)]
    held = any(records.values())            # a target without records costs no count
    counted = iter(backend.tally(readable, top=top, today=today, desired=desired) if held else
                   [Tally(0) for _ in readable])
    tallies = [Tally(0, unsupported=READS_A_SAVE) if reads_a_save(check) else next(counted) for check in checks]
    return report({"name": target.name, "type": target.type}, desired, checks, tallies, records, today=today,
                  generated=datetime.datetime.now(datetime.UTC))


def weekly_report(project: Project, target: Target,
                  build: Callable[[History, Model, Mapping[str, str]], dict[str, Any]]) -> dict[str, Any]:
    """A weekly report (sos.reports: review, forecast, trace): `build` reads the target through its History
    with the blueprint's Model and the target's name and type. Nothing is changed."""
    desired = desired_model(project, record=False)
    backend = open_target(project, target)
    if not isinstance(backend, History):
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}', whose record "
                                  "history this version of sos cannot read", "history-missing",
                                  fix="load a CSV export of its records into a local sandbox (`sos sandbox load`) "
                                      "and report on that target"))
    return build(backend, desired, {"name": target.name, "type": target.type})


def client_status(project: Project) -> dict[str, object]:
    """One client's row of `sos status`: its default target, what a plan would change (deletions are held back
    until `--allow-delete`), drift, the last apply, and how many records break a check where the target reads
    records. Read only: nothing is changed."""
    target = project.target(None)
    run = make_plan(project, target, impact=False, record=False)
    plan = run.plan
    last = next((e for e in reversed(history_of(project)) if e.get("target") == target.name), None)
    found = None
    if isinstance(run.backend, Records):
        found = audit(project, target, top=0, backend=run.backend, desired=run.desired)["found"]
    return {"target": target.name, "type": target.type,
            "add": plan.count(Action.CREATE), "change": plan.count(Action.UPDATE) + plan.count(Action.ADOPT),
            "delete": plan.count(Action.DELETE), "drift": sum(1 for c in plan.changes if c.reason),
            "last_apply": {k: last.get(k) for k in ("at", "by", "git_commit", "outcome")} if last else None,
            "audit": found}


def saved_run(project: Project, target: Target, saved: PlanFile) -> PlanRun:
    """A saved plan, ready to check and apply against `target` (nothing read yet)."""
    return PlanRun(saved.plan, open_target(project, target), saved.desired)


def check_plan(project: Project, run: PlanRun, plan: Plan | None = None) -> list[Diagnostic]:
    """What the target would refuse in `plan` (by default the run's), and warnings on what applying it does beyond
    its changes. A saved plan's run reads the target for it first, as the start of its apply: a read that fails
    is recorded in the history as the apply's outcome."""
    plan = plan or run.plan
    live = run.live
    if live is None:
        with _recorded(project, _history_entry(project, plan, run.desired)):
            live = run.backend.read(run.desired)
    return run.backend.check(plan, run.desired, live)


def export_plan(project: Project, target: Target, desired: Model, plan: Plan | None, *, fmt: str | None,
                value_sets: bool) -> tuple[str, Export]:
    """What `sos build` writes for `target`, offline: the files that apply `plan` (the whole blueprint when None),
    in `fmt` (by default the backend's first format), and the format they are in."""
    formats = backend_class(target).formats
    if not formats:
        builds = [t.name for t in project.targets.values() if (cls := backend_of_type(t.type)) and cls.formats]
        raise SosError(f"target '{target.name}' has type '{target.type}', for which sos build has nothing to write"
                       + (f" (targets it builds: {', '.join(builds)})" if builds else ""), "build-target")
    fmt = fmt or formats[0]
    if fmt not in formats:
        raise SosError(Diagnostic(None, f"{target.type} targets are built as {' or '.join(formats)}, not '{fmt}'",
                                  "build-format", fix=did_you_mean(fmt, formats) or ""))
    backend = open_target(project, target)
    if plan is None:
        plan = diff(desired, Model(), target=target.name, target_type=target.type,
                    supported=backend.capabilities.held)
    return fmt, backend.export(plan, desired, fmt=fmt, value_sets=value_sets)


def build_help() -> str:
    """What each backend says of the files `sos build` writes for it, read only when help is asked for."""
    return "\n".join(cls.build_help for name in BACKENDS if (cls := backend_of_type(name)) and cls.build_help)


def without_deletions(plan: Plan) -> Plan:
    """`plan` without its deletions, and without anything that takes a stage out of reps' choices: a pipeline
    keeps the stages whose deletion is skipped (and is left alone when that was all its change did)."""
    kept = replace(plan, changes=tuple(c for c in plan.changes if c.action is not Action.DELETE))
    changes = []
    for change in kept.changes:
        held = held_stages(kept, change)
        if held:
            change = replace(change, after=keep_stages(change.after or {}, change.before or {}, held))
            if change.after == change.before:
                continue
        changes.append(change)
    return replace(kept, changes=tuple(changes))


def apply_plan(project: Project, backend: Backend, plan: Plan, desired: Model) -> ApplyResult:
    """Apply `plan`, made from `desired`, and record the outcome in the project's history, failed or not.

    A history that cannot be written does not undo the outcome: it becomes a warning, in the result's `notes`
    or beside the error."""
    written = {kind: {c.address.key for c in plan.changes if c.address.kind is kind and c.after is not None}
               for kind in (Kind.AUTOMATION, Kind.ASSIGNMENT)}
    if plan.target_type != "local" and any(written.values()):    # a CRM would route leads to the placeholders
        blueprint, _ = load_blueprint(project.blueprint_path, project.blueprint_folders)
        refused = placeholder_errors(blueprint, written[Kind.AUTOMATION], written[Kind.ASSIGNMENT]) if blueprint else []
        if refused:
            raise SosError(refused)
    entry = _history_entry(project, plan, desired)
    with _recorded(project, entry):
        result = backend.apply(plan, desired)
    if result.ok:
        outcome = {"outcome": "applied"}
    else:
        address, reason = next(iter(result.failed.items()))
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        outcome = {"outcome": "failed", "error": f"{address}: {reason}{more}"}
    warning = _record(project, {**entry, **outcome})
    return replace(result, notes=(warning,)) if warning else result


def _history_entry(project: Project, plan: Plan, desired: Model) -> dict[str, object]:
    """What the history records of any apply of `plan`, whatever its outcome."""
    return {"target": plan.target, "git_commit": git_commit(project.root),
            "plan_digest": plan_digest(saved_json(plan, desired)), "summary": {a.value: plan.count(a) for a in Action},
            "plan": plan_to_json(plan)}


def history_of(project: Project) -> list[dict[str, Any]]:
    """Every apply recorded for the project, oldest first: in history/ when it shares its history, and those
    recorded on this machine before it did."""
    entries = read_history(project.state_dir)
    if project.shared_history:
        entries = sorted([*entries, *read_history(project.history_dir)], key=lambda entry: str(entry["at"]))
    return entries


def _record(project: Project, entry: dict[str, object]) -> Diagnostic | None:
    """Record an apply's `entry` where the project keeps its history; a warning when it cannot be written."""
    return record_apply(project.history_dir, entry, one_file_each=project.shared_history)


def submitted_apply(project: Project, job: str) -> dict[str, object]:
    """The history entry of the apply that submitted `job` and did not learn its outcome."""
    entry = next((e for e in reversed(history_of(project)) if e.get("job") == job), None)
    if entry is None:
        raise SosError(f"no apply in this project's history submitted {job}; `sos history` lists "
                       "past applies and the id of each whose outcome is unknown", "unknown-job")
    return entry


def unresolved_apply(project: Project, target: str) -> list[Diagnostic]:
    """A warning when the last apply to `target` was submitted but its outcome is unknown: the plan just read may
    still change under it, and `sos apply --resume` finds out."""
    try:
        entries = history_of(project)
    except SosError:     # a damaged history is `sos history`'s to report, not a plan's
        return []
    last = next((e for e in reversed(entries) if e.get("target") == target), None)
    if last is None or last.get("outcome") != "unknown" or not last.get("job"):
        return []
    job = str(last["job"])
    return [Diagnostic(None, f"the last apply to target '{target}' ({last.get('at')}) was submitted as {job}, and "
                             "its outcome is not known yet", "apply-unknown", Severity.WARNING,
                       why="it may still complete; until it does, the CRM may change under this plan",
                       fix=f"run `sos apply --resume {shlex.quote(job)}` to wait for it and record its outcome")]


def resume_apply(project: Project, backend: Backend, entry: dict[str, object]) -> tuple[str, list[Diagnostic]]:
    """Follow the job of a history `entry` whose outcome was unknown to its end, and record that outcome: what
    the backend says about it, and a warning when the history cannot be written."""
    job = str(entry["job"])
    resumed: dict[str, object] = {k: entry[k] for k in ("target", "git_commit", "plan_digest", "summary") if k in entry}
    resumed["job"] = job
    with _recorded(project, resumed):
        said = backend.resume(job)
    warning = _record(project, {**resumed, "outcome": "applied"})
    return said, [warning] if warning else []


@contextmanager
def _recorded(project: Project, entry: dict[str, object]) -> Iterator[None]:
    """Record the outcome of an apply that ends in an exception, and let the exception go on."""
    try:
        yield
    except SosError as exc:
        outcome = {"outcome": "unknown", "job": exc.job} if isinstance(exc, ApplyUnknown) else {"outcome": "failed"}
        warning = _record(project, {**entry, **outcome, "error": exc.diagnostics[0].message})
        exc.diagnostics.extend([warning] if warning else [])
        raise
    except ApplyInterrupted as exc:
        _record(project, {**entry, "outcome": "unknown", "job": exc.job,
                          "error": "stopped with Ctrl-C after the CRM accepted the changes"})
        raise
    except KeyboardInterrupt:   # no crash log is written for Ctrl-C, so the record names none
        _record(project, {**entry, "outcome": "interrupted",
                          "error": "stopped with Ctrl-C; `sos plan` shows what the CRM holds now"})
        raise
    except BaseException as exc:  # the type only: the text may hold secrets
        _record(project, {**entry, "outcome": "failed",
                          "error": f"internal error ({type(exc).__name__}); see .sos/crash.log"})
        raise


def sandbox_objects() -> tuple[str, ...]:
    """The objects whose records a local sandbox holds."""
    return RECORD_OBJECTS


def seed_sandbox(project: Project, target: Target, *, deals: int, seed: int, today: datetime.date | None,
                 progress: Callable[[str], None]) -> dict[str, int]:
    """Replace the records of the local sandbox `target` with realistic ones for its applied blueprint, as of `today`
    (None: the sandbox's day); how many rows of each kind were written."""
    return _sandbox(project, target).seed_records(deals=deals, seed_value=seed, today=today, progress=progress)


def load_sandbox(project: Project, target: Target, path: Path, obj: str, overrides: Mapping[str, str], *,
                 today: datetime.date | None, progress: Callable[[str], None]) -> tuple[int, list[str]]:
    """Add the records of the CSV export at `path` to the local sandbox `target`, all or none, as of `today` (None:
    the sandbox's day): how many, and the columns no field took."""
    return _sandbox(project, target).load_csv(path, obj, overrides, today=today, progress=progress)


def run_process_tests(project: Project, tests: Sequence[tuple[str, ProcessTest]], *,
                      now: datetime.datetime | None = None) -> list[tuple[str, Outcome]]:
    """Run each of `tests` (with the file it is in) on a sandbox of its own, in a temporary folder, with the
    project's blueprint applied: what each found. Every sandbox's clock starts at `now` (UTC; by default the
    minute the run started) and moves only by the tests' ticks, so a run across midnight counts days as any other."""
    desired = desired_model(project, record=False)
    plan = diff(desired, Model(), target="test", target_type="local")
    now = now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None, second=0, microsecond=0)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="sos-test-") as folder:
        applied = Path(folder) / "applied.db"     # the blueprint applied once; each test runs on a copy of it
        LocalBackend(Target("test", "local", {"path": str(applied)}), Path(folder)).apply(plan, desired)
        for file, test in tests:
            sandbox = Path(folder) / "sandbox.db"
            shutil.copyfile(applied, sandbox)
            outcomes.append((file, run_test(test, LocalBackend(Target("test", "local", {"path": str(sandbox)}),
                                                               Path(folder), clock=lambda: now), now)))
    return outcomes


def run_handoffs(project: Project, target: Target, run: Run, environ: Mapping[str, str], *,
                 only: Sequence[str] = (), store: DealStore | None = None) -> Summary:
    """Hand off the deals of `target` that reached a handoff's stage (sos.handoff.run), through the tools the
    handoffs name, opened from `environ`. `only`: these handoffs (by key). `store`: the deals, when a test wraps
    them; by default the target's."""
    desired = desired_model(project, record=False)
    known = [h.address.key for h in desired.of_kind(Kind.HANDOFF)]
    for key in only:
        if key not in known:
            raise SosError(Diagnostic(None, f"the blueprint has no handoff '{key}'", "handoff-unknown",
                                      fix=did_you_mean(key, known) or f"its handoffs: {', '.join(known) or 'none'}"))
    if not known:
        raise SosError(Diagnostic(None, "the blueprint has no `handoffs:`: nothing to hand off", "handoff-unknown",
                                  fix="add one (docs/handoff.md)"))
    if store is None and not issubclass(backend_class(target), DealStore):
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}': `sos handoff "
                                  "run` cannot read and claim its deals yet", "handoff-target",
                                  fix="docs/handoff.md says which types of target it runs on"))
    tools = [h.attrs["tool"] for h in desired.of_kind(Kind.HANDOFF) if not only or h.address.key in only]
    if not run.dry_run:
        run = replace(run, tools=open_tools(tools, environ))
    return handoff_deals(desired, store or cast(DealStore, open_target(project, target)), run, only)


def convert_lead(project: Project, target: Target, lead_id: int, deal_values: Mapping[str, object]) -> int:
    """Convert a lead of the local sandbox `target` into a new deal, as a rep does in the CRM: the deal's id."""
    return _sandbox(project, target).convert_lead(lead_id, deal_values=deal_values)


def tick_sandbox(project: Project, target: Target, days: int) -> tuple[datetime.date, int]:
    """Move the local sandbox `target`'s clock `days` forward, firing the cadences on time in a stage: its new day
    and how many fired."""
    return _sandbox(project, target).tick(days)


def _sandbox(project: Project, target: Target) -> LocalBackend:
    if target.type != "local":
        local = [t.name for t in project.targets.values() if t.type == "local"]
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}': `sos sandbox` "
                                  "seeds and loads local sandboxes only", "sandbox-only",
                                  fix=f"pass --target {local[0]}" if local else "add a target of type local to "
                                                                                 "sos.yaml"))
    return LocalBackend(target, project.root)
