"""sos audit: what the target's records break, rule by rule: the dirty-data report of a client's first week."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from sos.cli.options import current_project, target_option
from sos.cli.output import show_report
from sos.engine import audit
from sos.render.audit import AUDIT_FORMATS, closing, render_audit


@click.command("audit", epilog="""\b
Examples:
  sos audit                                   # the summary, against the default target
  sos audit --format html --out audit.html    # one self-contained page to send the client's sales team
  sos audit --format csv --top 100 > deals.csv
  sos audit --format markdown                 # for a pull request or a client note
  sos audit --today 2026-12-01                # as of a date (days in stage, close dates in the past)

\b
Exit codes: 0 clean, 2 records break a check (for CI), 1 an error.
""")
@target_option
@click.option("--format", "fmt", type=click.Choice(AUDIT_FORMATS), default="text", show_default=True,
              help="text for the terminal, markdown, csv, json for tools, html for a self-contained dashboard.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of the terminal (the summary's last line still shows).")
@click.option("--top", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="How many of the worst records (largest amount first) to list per check.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Audit as of this date instead of today (UTC).")
def command(target_name: str | None, fmt: str, out: Path | None, top: int, today: datetime.datetime | None) -> int:
    """Check every rule, stage requirement and stage time limit of the blueprint
    against the target's records, whatever their `enforce`.

    For each check: how many records break it, by owner and by stage, and the
    worst offenders, largest amount first, with a link into the CRM. The CRM does
    the counting where it can, in its own query language, so the calls grow with
    the number of checks, not of records. Nothing is changed.
    """
    project = current_project()
    target = project.target(target_name)
    report = audit(project, target, top=top, today=today.date() if today else None)
    show_report(lambda colour: render_audit(report, fmt, colour=colour), out, fmt, closing(report))
    return 2 if report["found"] else 0
