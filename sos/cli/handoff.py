"""sos handoff run: the deals that reached a handoff's stage become projects in the delivery team's tool."""

from __future__ import annotations

import datetime
import os
import time
import uuid

import click

from sos.cli.options import current_project, target_option
from sos.engine import run_handoffs
from sos.handoff.run import Run


def _progress(line: str) -> None:
    click.echo(line, err=True)


@click.group("handoff", epilog="""\b
Examples:
  sos handoff run --dry-run            # which deals would be handed off, and to what
  sos handoff run                      # hand off the deals won in the last 30 days
""")
def command() -> None:
    """Hand won deals to delivery: the blueprint's `handoffs:` as Asana projects, Jira issues or ClickUp tasks.

    Each handoff names a stage (usually won), the tool, the project's name from the deal, the fields it carries
    and who owns it. docs/handoff.md has the reference, and says which types of target it runs on.
    """


@command.command("run", epilog="""\b
Examples:
  sos handoff run --since 2026-11-01   # deals that entered the stage on or after that day
  sos handoff run --only delivery      # one handoff of several
  ASANA_TOKEN=… sos handoff run        # in CI, with the tokens as secrets

\b
Credentials come from the environment, never from the repository, and are never printed:
  Asana: ASANA_TOKEN (a personal access token); ASANA_API_URL to reach another address
  Jira:  JIRA_URL (https://<site>.atlassian.net), JIRA_EMAIL and JIRA_API_TOKEN
  ClickUp: CLICKUP_TOKEN (pk_…); CLICKUP_API_URL to reach another address

\b
Exit codes: 0 every deal due was handed off (or already was, or none was due); 1 a deal failed (the summary
names it; the next run tries it again) or the run could not start (a located error says why).
""")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Look at deals that entered the stage on or after this day (default: the last 30 days). A deal "
                   "already linked is never handed off again, whatever the window.")
@click.option("--dry-run", is_flag=True, help="Say which deals would be handed off, and to what; create nothing.")
@click.option("--only", multiple=True, metavar="KEY", help="Run only this handoff (repeatable).")
@target_option
def run_command(since: datetime.datetime | None, dry_run: bool, only: tuple[str, ...],
                target_name: str | None) -> None:
    """Create a project or issue for each deal that reached a handoff's stage and has none yet, and write its link
    on the deal.

    Safe to run as often as you like, and from two places at once: a deal with a link is skipped, and a deal is
    claimed on the CRM before anything is created, so it never gets two projects. 429 and 5xx answers are retried
    (after the tool's Retry-After when it gives one).
    """
    project = current_project()
    target = project.target(target_name)
    now = datetime.datetime.now(datetime.UTC)
    window = since.date() if since else now.date() - datetime.timedelta(days=30)
    run = Run(target=target.name, tools={}, today=now.date(), now=now, run_id=uuid.uuid4().hex[:12], since=window,
              dry_run=dry_run, sleep=time.sleep, progress=_progress)
    summary = run_handoffs(project, target, run, os.environ, only=only)
    for outcome in summary.outcomes:
        if outcome.status == "failed":
            click.echo(f"failed: {outcome.handoff}: {outcome.deal}: {outcome.error}", err=True)
    click.echo(summary.line(dry_run=dry_run) + ".")
    if summary.failed:
        raise SystemExit(1)
