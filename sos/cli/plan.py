"""sos plan: what would change in the target, and what it would break."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from sos.cli.options import adopt_option, current_project, no_impact_option, target_option
from sos.cli.output import plural, print_diagnostics, use_colour
from sos.engine import check_plan, make_plan, unresolved_apply
from sos.errors import SosError
from sos.plan.diff import settled_renames
from sos.plan.planfile import plan_to_json, save_plan
from sos.render import render_plan


format_option = click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
                             show_default=True, help="text for the terminal, json for tools, markdown for PRs.")


@click.command("plan", epilog="""\b
Examples:
  sos plan                              # against the default target
  sos plan --target prod -o plan.json   # save it; `sos apply plan.json` applies exactly that
  sos plan --format markdown            # for a pull-request comment
  sos plan --detailed-exitcode          # CI drift check: 0 none, 2 changes, 1 error
  sos plan --target prod --validate     # also have the CRM check the changes (a check-only deploy)
""")
@target_option
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), help="Save the plan as JSON.")
@format_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none.")
@adopt_option
@click.option("--validate", is_flag=True,
              help="Have the CRM check the changes without making them (a check-only deploy, where the CRM has one).")
@no_impact_option
def command(target_name: str | None, out: Path | None, fmt: str, detailed_exitcode: bool, adopt: bool,
            validate: bool, no_impact: bool) -> int:
    """Compare the blueprint with the target's live state and show the changes an apply would make.

    Nothing is changed. Changes are listed in the order they would be applied
    (fields before the rules that read them); dangerous ones (a stage removed or
    renamed, a field deleted) are flagged; what sos did not create is left alone.
    A rule or stage requirement that would block saves says how many open records
    break it today, where the target reads records.
    """
    project = current_project()
    target = project.target(target_name)
    run = make_plan(project, target, adopt=adopt, impact=not no_impact)
    problems = check_plan(project, run) if run.plan.has_changes else []
    problems += settled_renames(run.desired, run.live.model, target.name) if run.live else []
    click.echo(render_plan({**plan_to_json(run.plan), "checks": [p.to_json() for p in problems]}, fmt,
                       colour=use_colour(sys.stdout)), nl=False)
    if out is not None:
        save_plan(run.plan, run.desired, out)
        click.echo(f"Saved the plan to {out}. Apply exactly it with: sos apply {shlex.quote(str(out))}", err=True)
    print_diagnostics(problems)
    print_diagnostics(unresolved_apply(project, target.name))
    if any(p.is_error for p in problems):
        verb = "Validation failed" if validate else "Plan refused"
        raise SosError(f"{verb}: target '{target.name}' would refuse this plan; see above",
                       "validate-failed" if validate else "plan-refused")
    if validate and run.plan.has_changes:
        result = run.backend.apply(run.plan, run.desired, check_only=True)
        for address, reason in result.failed.items():
            click.echo(f"{address}: {reason}", err=True)
        print_diagnostics(result.notes)
        if not result.ok:
            raise SosError(f"Validation failed: target '{target.name}' would refuse this plan; nothing was changed",
                           "validate-failed")
        click.echo(f"Validation passed: target '{target.name}' accepts all {plural(len(run.plan.changes), 'change')}"
                   " (checked only; nothing was changed).", err=True)
    return 2 if detailed_exitcode and run.plan.has_changes else 0
