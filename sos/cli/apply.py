"""sos apply: make the target match the blueprint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sos.cli.options import adopt_option, current_project, no_impact_option, target_option
from sos.cli.output import plural, print_diagnostics, use_colour
from sos.engine import (
    PlanRun,
    apply_plan,
    check_plan,
    make_plan,
    open_target,
    resume_apply,
    saved_run,
    submitted_apply,
    unresolved_apply,
    without_deletions,
)
from sos.errors import Diagnostic, SosError
from sos.plan.change import Action
from sos.plan.planfile import load_plan, plan_to_json
from sos.project import Project
from sos.render import render_plan
from sos.target import Target


@click.command("apply", epilog="""\b
Examples:
  sos apply                       # plan, show, ask, apply
  sos apply plan.json             # exactly a saved plan; refused if the CRM changed since
  sos apply --auto-approve        # in CI (required when not on a terminal)
  sos apply --allow-delete        # also delete what sos manages and the blueprint dropped
  sos apply --resume 0Af…         # follow an apply whose outcome was unknown to its end
  sos apply --auto-approve --format json   # the plan and what was applied, for a pipeline's next step
""")
@click.argument("planfile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@target_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-delete", is_flag=True, help="Apply deletions too (only ever of what sos created).")
@adopt_option
@no_impact_option
@click.option("--resume", "job", metavar="ID",
              help="Wait for an apply the CRM accepted but whose outcome sos could not learn (history says "
                   "'unknown' and names the ID), and record how it ended.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json (with --auto-approve) prints one object: the plan, what was applied, "
                   "what failed and why, the deletions held back.")
def command(planfile: Path | None, target_name: str | None, auto_approve: bool, allow_delete: bool,
            adopt: bool, no_impact: bool, job: str | None, fmt: str) -> int:
    """Apply the changes `sos plan` shows: all or nothing where the CRM has a
    transaction (the sandbox, a deploy); elsewhere in order, stopping at the first
    change the CRM refuses, with `sos plan` then showing exactly the rest.

    Without PLANFILE, plans first and shows the plan. Asks for confirmation on a
    terminal (a `protected: true` target asks for its name to be typed);
    elsewhere requires --auto-approve. Deletions are skipped unless
    --allow-delete is given or the target sets `allow_delete: true`. Each apply
    is recorded in `sos history`.
    """
    project = current_project()
    if fmt == "json" and not auto_approve:
        raise SosError("--format json prints one JSON object and cannot ask for confirmation: add --auto-approve",
                       "no-approval")
    if job is not None:
        if planfile is not None:
            raise SosError("--resume follows an apply already submitted; it takes no plan file", "usage")
        return _resume(project, job, target_name)
    if planfile is not None:
        run, target = _saved_plan(project, planfile, target_name, adopt)
    else:
        target = project.target(target_name)
        run = make_plan(project, target, adopt=adopt, impact=not no_impact)
    return _apply(project, run, target, fmt=fmt, auto_approve=auto_approve, allow_delete=allow_delete)


def _apply(project: Project, run: PlanRun, target: Target, *, fmt: str, auto_approve: bool,
           allow_delete: bool) -> int:
    """Show `run`'s plan, hold back its deletions unless allowed, ask, check and apply it; the exit code."""
    plan = run.plan
    planned = plan_to_json(plan)
    shown: dict[str, object] = {"plan": planned, "applied": [], "failed": {}, "held_back": 0}
    if fmt == "text":
        click.echo(render_plan(planned, "text", colour=use_colour(sys.stdout)), nl=False)
    print_diagnostics(unresolved_apply(project, target.name))
    deletions = plan.count(Action.DELETE)
    if deletions and not (allow_delete or target.options.get("allow_delete")):
        plan = without_deletions(plan)
        shown["held_back"] = deletions
        click.echo(f"Skipping {plural(deletions, 'deletion')}: pass --allow-delete to apply them (or set "
                   f"`allow_delete: true` on target '{target.name}' in sos.yaml).", err=True)
    if not plan.has_changes:
        _json(fmt, shown, "no-changes")
        return 0
    if not auto_approve and not _confirmed(target.name, protected=bool(target.options.get("protected"))):
        click.echo("Apply cancelled; nothing was changed.", err=True)
        return 1
    problems = check_plan(project, run, plan)
    print_diagnostics(problems)
    if any(p.is_error for p in problems):
        raise SosError(f"Apply refused: target '{target.name}' would refuse this plan; nothing was changed",
                       "plan-refused")
    result = apply_plan(project, run.backend, plan, run.desired)
    shown.update(applied=[str(a) for a in result.applied], failed={str(a): r for a, r in result.failed.items()})
    _json(fmt, shown, "applied" if result.ok else "failed")
    if not result.ok:
        for address, reason in result.failed.items():
            click.echo(f"{address}: {reason}", err=True)
        outcome = (f"Apply stopped on target '{target.name}' after {len(result.applied)} of "
                   f"{plural(len(plan.changes), 'change')}; `sos plan` shows the rest") if result.applied \
            else f"Apply failed on target '{target.name}'; nothing was changed"
        raise SosError([Diagnostic(None, outcome, "apply-failed"), *result.notes])
    adopted = f", {plan.count(Action.ADOPT)} adopted" if plan.count(Action.ADOPT) else ""
    click.echo(f"Apply complete: {plan.count(Action.CREATE)} added, {plan.count(Action.UPDATE)} changed, "
               f"{plan.count(Action.DELETE)} deleted{adopted}.", err=fmt == "json")
    print_diagnostics(result.notes)
    return 0


def _json(fmt: str, shown: dict[str, object], outcome: str) -> None:
    """With --format json, the one object the apply prints: its plan, outcome, what was applied and failed."""
    if fmt == "json":
        click.echo(json.dumps({"outcome": outcome, **shown}, indent=2))


def _resume(project: Project, job: str, target_name: str | None) -> int:
    entry = submitted_apply(project, job)
    if target_name is not None and target_name != entry["target"]:
        raise SosError(f"{job} was submitted to target '{entry['target']}', not '{target_name}'", "plan-target")
    target = project.target(str(entry["target"]))
    said, notes = resume_apply(project, open_target(project, target), entry)
    click.echo(said)
    print_diagnostics(notes)
    return 0


def _saved_plan(project: Project, planfile: Path, target_name: str | None, adopt: bool) -> tuple[PlanRun, Target]:
    """The plan in `planfile`, ready to apply, and its target; refused when either does not match what was asked."""
    saved = load_plan(planfile)
    plan = saved.plan
    target = project.target(target_name or plan.target)
    if target.name != plan.target:
        raise SosError(f"{planfile} was made for target '{plan.target}', not '{target.name}'", "plan-target")
    if plan.count(Action.ADOPT) and not adopt:
        raise SosError(f"{planfile} takes {plural(plan.count(Action.ADOPT), 'component')} sos did not create "
                       "under management; pass --adopt to apply it", "plan-adopts")
    return saved_run(project, target, saved), target


def _confirmed(target_name: str, *, protected: bool) -> bool:
    if not sys.stdin.isatty():
        raise SosError("not on a terminal, so nobody can confirm: pass --auto-approve to apply", "no-approval")
    if protected:
        typed = click.prompt(f"Target '{target_name}' is protected. Type its name to apply these changes",
                             default="", show_default=False)
        return bool(typed == target_name)
    return click.confirm(f"Apply these changes to target '{target_name}'?")
