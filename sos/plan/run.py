"""The plan → apply cycle against one target, as the commands run it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sos.backends import lint_for_target, open_backend
from sos.backends.base import ApplyResult, Backend
from sos.blueprint.load import load_blueprint
from sos.errors import Diagnostic, SosError
from sos.history import git_commit, record_apply
from sos.model.compile import compile_model
from sos.model.resources import Model
from sos.plan.change import Action, Plan
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
    blueprint, diagnostics = load_blueprint(project.blueprint_path, project.blueprint_folders)
    if blueprint is None:
        raise SosError([d for d in diagnostics if d.is_error] or diagnostics)
    return compile_model(blueprint)


def lint_targets(project: Project, desired: Model) -> list[Diagnostic]:
    """What the project's targets would refuse in `desired`, known offline; each problem once."""
    found = {d: None for target in project.targets.values() for d in lint_for_target(target, desired)}
    return sorted(found, key=Diagnostic.sort_key)


def make_plan(project: Project, target: Target, *, adopt: bool = False, backend: Backend | None = None) -> PlanRun:
    """Read the target's live state and diff it against the project's blueprint.

    `adopt`: plan to take look-alikes sos did not create under management (after `sos import`).
    `backend`: one already open (tests pass one with a fake clock); by default the target's.
    """
    desired = desired_model(project)
    refused = [d for d in lint_for_target(target, desired) if d.is_error]
    if refused:
        raise SosError(sorted(refused, key=Diagnostic.sort_key))
    backend = backend or open_backend(target, project.root)
    live = backend.read(desired)
    plan = diff(desired, live, target=target.name, target_type=target.type,
                supported=backend.capabilities.kinds, adopt=adopt)
    return PlanRun(plan, backend, desired)


def without_deletions(plan: Plan) -> Plan:
    return replace(plan, changes=tuple(c for c in plan.changes if c.action is not Action.DELETE))


def apply_plan(project: Project, backend: Backend, plan: Plan) -> ApplyResult:
    """Apply `plan` and record the outcome in the project's history, failed or not."""
    entry = {"target": plan.target, "git_commit": git_commit(project.root),
             "plan_digest": plan_digest(plan_to_json(plan)),
             "summary": {a.value: plan.count(a) for a in Action}}
    try:
        result = backend.apply(plan)
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
