"""The plan → apply cycle against one target, as the commands run it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sos.backends import open_backend
from sos.backends.base import ApplyResult, ApplyUnknown, Backend
from sos.blueprint.load import load_blueprint
from sos.errors import SosError
from sos.history import git_commit, read_history, record_apply
from sos.model.compile import compile_model
from sos.model.resources import Model
from sos.plan.change import Action, Plan, held_stages, keep_stages
from sos.plan.diff import diff, plan_digest
from sos.plan.planfile import plan_to_json
from sos.project import Project
from sos.target import Target


@dataclass
class PlanRun:
    plan: Plan
    backend: Backend
    desired: Model


def desired_model(project: Project) -> Model:
    blueprint, diagnostics = load_blueprint(project.blueprint_path)
    if blueprint is None:
        raise SosError([d for d in diagnostics if d.is_error] or diagnostics)
    return compile_model(blueprint)


def make_plan(project: Project, target: Target, *, adopt: bool = False, backend: Backend | None = None) -> PlanRun:
    """Read the target's live state and diff it against the project's blueprint.

    `adopt`: plan to take look-alikes sos did not create under management (after `sos import`).
    `backend`: one already open (tests pass one with a fake clock); by default the target's.
    """
    desired = desired_model(project)
    backend = backend or open_backend(target, project.root)
    live = backend.read(desired)
    plan = diff(desired, live, target=target.name, target_type=target.type,
                supported=backend.capabilities.kinds, adopt=adopt)
    return PlanRun(plan, backend, desired)


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


def apply_plan(project: Project, backend: Backend, plan: Plan) -> ApplyResult:
    """Apply `plan` and record the outcome in the project's history, failed or not."""
    entry = {"target": plan.target, "git_commit": git_commit(project.root),
             "plan_digest": plan_digest(plan_to_json(plan)),
             "summary": {a.value: plan.count(a) for a in Action}}
    try:
        result = backend.apply(plan)
    except ApplyUnknown as exc:
        record_apply(project.state_dir, {**entry, "outcome": "unknown", "job": exc.job,
                                         "error": exc.diagnostics[0].message})
        raise
    except SosError as exc:
        record_apply(project.state_dir, {**entry, "outcome": "failed", "error": exc.diagnostics[0].message})
        raise
    except BaseException as exc:  # a crash or Ctrl-C mid-apply is still a failed apply on record
        record_apply(project.state_dir, {**entry, "outcome": "failed",  # the type only: the text may hold secrets
                                         "error": f"{type(exc).__name__}; see .sos/crash.log"})
        raise
    if result.ok:
        record_apply(project.state_dir, {**entry, "outcome": "applied"})
    else:
        address, reason = next(iter(result.failed.items()))
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        record_apply(project.state_dir, {**entry, "outcome": "failed", "error": f"{address}: {reason}{more}"})
    return result


def submitted_apply(project: Project, job: str) -> dict[str, object]:
    """The history entry of the apply that submitted `job` and did not learn its outcome."""
    entry = next((e for e in reversed(read_history(project.state_dir)) if e.get("job") == job), None)
    if entry is None:
        raise SosError(f"no apply in this project's history submitted {job}; `sos history` lists "
                       "past applies and the id of each whose outcome is unknown", "unknown-job")
    return entry


def resume_apply(project: Project, backend: Backend, entry: dict[str, object]) -> str:
    """Follow the job of a history `entry` whose outcome was unknown to its end, and record that outcome."""
    job = str(entry["job"])
    resumed = {k: entry[k] for k in ("target", "git_commit", "plan_digest", "summary") if k in entry}
    resumed["job"] = job
    try:
        said = backend.resume(job)
    except ApplyUnknown as exc:
        record_apply(project.state_dir, {**resumed, "outcome": "unknown", "error": exc.diagnostics[0].message})
        raise
    except SosError as exc:
        record_apply(project.state_dir, {**resumed, "outcome": "failed", "error": exc.diagnostics[0].message})
        raise
    record_apply(project.state_dir, {**resumed, "outcome": "applied"})
    return said
