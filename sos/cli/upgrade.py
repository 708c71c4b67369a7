"""sos upgrade: take the new version of the starters a client extends, seeing first what it changes."""

from __future__ import annotations

import sys

import click

from sos.cli.options import current_project, target_option
from sos.cli.output import use_colour
from sos.engine import make_plan, upgrade_starters
from sos.lock import LOCK_FILE
from sos.plan.planfile import plan_to_json
from sos.render import render_plan


@click.command("upgrade", epilog="""\b
Examples:
  sos upgrade              # show what the starters' new versions change in the default target, lock them
  sos upgrade && sos apply
""")
@target_option
def command(target_name: str | None) -> int:
    """Lock the starters this client extends at their current version.

    A client repository records the digest of every starter it extends in sos.lock
    (commit it): when someone edits a shared starter, the client's plans refuse to
    use the new version until the client takes it here. `sos upgrade` shows the
    plan with the new version against the target first, then updates sos.lock;
    `sos apply` makes the CRM match. `sos starters impact NAME` lists the clients
    an edit to a starter would change.
    """
    project = current_project()
    target = project.target(target_name)
    run = make_plan(project, target, locked=False, impact=True)
    click.echo(render_plan(plan_to_json(run.plan), "text", colour=use_colour(sys.stdout)), nl=False)
    changed = upgrade_starters(project)
    if not changed:
        click.echo(f"Every starter is as {LOCK_FILE} locked it; nothing to upgrade.", err=True)
        return 0
    for reference, (was, now) in changed.items():
        click.echo(f"Locked {reference} at {now[7:19]}" + (f" (was {was[7:19]})." if was else "."), err=True)
    click.echo(f"Commit {LOCK_FILE}; `sos apply` makes target '{target.name}' match the plan above.", err=True)
    return 0
