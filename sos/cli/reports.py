"""sos review, sos forecast, sos trace: the weekly rhythm's reports (sos.reports), read from the target's records
and their history."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sos.cli.options import current_project, target_option
from sos.cli.output import show_report
from sos.engine import forecast_target, weekly_report
from sos.errors import Diagnostic, SosError
from sos.render.reports import REPORT_FORMATS, closing, render_report
from sos.reports.forecast import PERIODS, forecast
from sos.reports.review import review
from sos.reports.trace import trace

DAY = click.DateTime(formats=["%Y-%m-%d"])


def report_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--target, --format, --out and --today, which every weekly report takes."""
    for option in reversed([
        target_option,
        click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True,
                     help="text: terminal tables; markdown: to paste into Slack, an email or a meeting doc; json "
                          "for tools; html: one self-contained page with charts."),
        click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
                     help="Write the report to this file instead of the terminal (its last line still shows)."),
        click.option("--today", type=DAY, metavar="YYYY-MM-DD",
                     help="Report as of this date instead of today (UTC): pins the clock."),
    ]):
        command = option(command)
    return command


def _since_option(what: str) -> Callable[..., Any]:
    return click.option("--since", type=DAY, metavar="YYYY-MM-DD",
                        help=f"Count {what} from this date (default: a week before --today).")


def _show(target_name: str | None, fmt: str, out: Path | None,
          build: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    project = current_project()
    report = weekly_report(project, project.target(target_name), build)
    show_report(lambda colour: render_report(report, fmt, colour=colour), out, fmt, closing(report))
    return report


def _dates(today: datetime.datetime | None, since: datetime.datetime | None) -> tuple[datetime.date, datetime.date]:
    day = today.date() if today else datetime.datetime.now(datetime.UTC).date()
    start = since.date() if since else day - datetime.timedelta(days=7)
    if start > day:
        raise SosError(Diagnostic(None, f"--since {start} is after the report's day {day}", "usage",
                                  fix="pass a --since on or before --today"))
    return day, start


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@click.command("review", epilog="""\b
Examples:
  sos review                                  # Monday: the last week, against the default target
  sos review --format markdown | pbcopy       # to paste into the meeting doc or Slack
  sos review --format html --out review.html  # one page with charts, to send
  sos review --since 2026-11-23 --today 2026-12-07 --inactive-days 10
""")
@report_options
@_since_option("what moved and which close dates slipped")
@click.option("--inactive-days", type=click.IntRange(1, 365), default=14, show_default=True,
              help="An open deal with no activity for longer than this is flagged.")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True,
              help="How many deals to talk about, per pipeline.")
def review_command(target_name: str | None, fmt: str, out: Path | None, today: datetime.datetime | None,
                   since: datetime.datetime | None, inactive_days: int, top: int) -> None:
    """The Monday pipeline review, per pipeline and owner.

    Open deals by stage (count, amount, amount weighted by the stage's
    probability) and by owner; the deals past their stage's max_days (how long,
    against the limit); what moved since the last review (new, forward, back,
    won, lost); close dates pushed out; open deals with no next step or no
    activity in --inactive-days; and the deals to talk about, ranked by amount ×
    the number of risks they carry. Read from the target's records and their
    history; nothing is changed.
    """
    day, start = _dates(today, since)
    _show(target_name, fmt, out, functools.partial(_review, today=day, since=start, inactive_days=inactive_days,
                                                   top=top))


def _review(history: Any, model: Any, target: Any, **options: Any) -> dict[str, Any]:
    return review(history, model, target=target, generated=_now(), **options)


@click.command("forecast", epilog="""\b
Examples:
  sos forecast                                # Friday: this quarter, changes since last Friday
  sos forecast --period month --format markdown
  sos forecast --quota 250000                 # coverage of the quarter's number (default: the blueprint's
                                              # forecast_target: {quarter: 250000})
  sos forecast --today 2026-12-04 --since 2026-11-27
""")
@report_options
@_since_option("the changes deal by deal")
@click.option("--period", type=click.Choice(PERIODS), default="quarter", show_default=True,
              help="The month or the quarter holding --today: the deals whose close date is in it.")
@click.option("--quota", type=click.FloatRange(min=0, min_open=True), metavar="AMOUNT",
              help="The team's number for the period: shows the coverage, open pipeline over what is left to close "
                   "[default: the blueprint's forecast_target for the period, when it gives one].")
def forecast_command(target_name: str | None, fmt: str, out: Path | None, today: datetime.datetime | None,
                     since: datetime.datetime | None, period: str, quota: float | None) -> None:
    """The Friday forecast call, per owner and in total.

    For the deals closing in the period: closed won, Commit, Best Case and
    Pipeline (each open deal in the forecast category it holds; Omitted left
    out), the pipeline weighted by each stage's probability;
    and what changed since --since deal by deal: deals into or out of Commit,
    amounts changed, close dates moved. With --quota, the coverage: the open
    pipeline over the quota left once closed won is counted (3x is the usual
    rule of thumb). Nothing is changed.
    """
    day, start = _dates(today, since)
    if quota is None:
        quota = forecast_target(current_project(), period)
    _show(target_name, fmt, out, functools.partial(_forecast, today=day, since=start, period=period, quota=quota))


def _forecast(history: Any, model: Any, target: Any, **options: Any) -> dict[str, Any]:
    return forecast(history, model, target=target, generated=_now(), **options)


@click.command("trace", epilog="""\b
Examples:
  sos trace                        # the ten most recent leads, end to end
  sos trace --leads 25 --format markdown
  sos trace 1042 1077              # these leads

\b
Exit codes: 0 no lead leaked, 2 some did (for CI), 1 an error.
""")
@report_options
@click.argument("ids", nargs=-1, metavar="[IDS]...")
@click.option("--leads", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many of the most recent leads to trace (ignored when IDS are given).")
@click.option("--stuck-days", type=click.IntRange(1, 365), default=14, show_default=True,
              help="A lead in an open status longer than this is stuck.")
def trace_command(target_name: str | None, fmt: str, out: Path | None, today: datetime.datetime | None,
                  ids: tuple[str, ...], leads: int, stuck_days: int) -> int:
    """The ten-lead test: recent leads followed end to end, leaks flagged.

    Each lead as a timeline: created (source), routed (to whom, by which
    route), first touch against the speed-to-lead cadence's due time, status
    changes, converted into which deal, the deal's stages with the days in each,
    its outcome. A leak is flagged where it happened: unassigned, first touch
    late or never, stuck in a status, converted but no deal, deal stalled past
    its stage's max_days. Ends with one line: "6 of 10 leads leaked: …".
    """
    day, _ = _dates(today, None)
    report = _show(target_name, fmt, out, functools.partial(_trace, today=day, leads=leads, ids=ids,
                                                            stuck_days=stuck_days))
    return 2 if report["leaked"] else 0


def _trace(history: Any, model: Any, target: Any, **options: Any) -> dict[str, Any]:
    return trace(history, model, target=target, generated=_now(), **options)
