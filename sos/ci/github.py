"""The GitHub Actions workflow of a client repository: plan on pull requests, apply on merge, a nightly drift check,
and one job per scheduled report of the blueprint, rendered from github.yml.j2."""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sos.blueprint.types import Blueprint
from sos.ci.cron import utc_schedule

DISTRIBUTION = "sos-crm"      # sos's name on PyPI (pyproject.toml); "sos" there is another project
DEFAULT_PATH = Path(".github/workflows/sos.yml")
# Off the hour: GitHub delays scheduled runs most at the top of the hour, when most schedules start.
DRIFT_CRON = "17 4 * * *"
HANDOFF_CRON = "41 * * * *"
# Each report a cadence may name (the blueprint schema's `report:` values) and the command that writes it.
REPORT_COMMANDS = {
    "pipeline_review": "review",
    "forecast": "forecast",
    "data_hygiene": "audit",
    "stale_deals": "audit",      # the audit lists every deal past its stage's max_days, worst first
}


@dataclass(frozen=True, slots=True)
class ReportJob:
    key: str          # the cadence's key
    command: str      # the sos command that writes its report
    cron: str         # in UTC
    note: str         # the schedule in words, with its daylight-saving shift


@dataclass(frozen=True, slots=True)
class Rhythm:
    """What runs on a schedule besides the drift check: the report cadences, and the handoff when there is one."""

    reports: tuple[ReportJob, ...]
    handoffs: bool


def rhythm_of(blueprint: Blueprint, *, year: int) -> Rhythm:
    """The blueprint's scheduled reports as jobs, their times converted to UTC with `year`'s offsets."""
    reports = []
    for cadence in blueprint.cadences.values():
        report = (cadence.action or {}).get("report")
        if cadence.schedule is None or report is None:
            continue
        schedule = utc_schedule(str(cadence.schedule["every"]), str(cadence.schedule["at"]),
                                str(cadence.schedule["timezone"]), year=year)
        command = REPORT_COMMANDS[str(report)]
        reports.append(ReportJob(cadence.key, command, schedule.cron,
                                 f"{cadence.key} (sos {command}): {schedule.explanation}"))
    return Rhythm(tuple(reports), handoffs=bool(blueprint.handoffs))


def workflow_text(rhythm: Rhythm, *, target: str, protected: bool, secrets: Sequence[str], setup: Sequence[str],
                  branch: str, version: str, out: Path = DEFAULT_PATH, shared_history: bool = False) -> str:
    """The workflow file for `target`: credentials read from the repository secrets named `secrets` (`setup`: shell
    lines that log in before sos runs), written to `out` (relative to the repository), whose pull requests check that
    it is up to date; `shared_history`: each apply's record is committed to history/."""
    import jinja2

    schedules: dict[str, list[str]] = {}
    for report in rhythm.reports:
        schedules.setdefault(report.cron, []).extend(_wrap(report.note))
    if rhythm.handoffs:
        schedules.setdefault(HANDOFF_CRON, []).append("hourly: sos handoff run")
    environment = jinja2.Environment(block_start_string="@%", block_end_string="%@", variable_start_string="@{",
                                     variable_end_string="}@", comment_start_string="@#", comment_end_string="#@",
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined, autoescape=False)
    environment.filters["wrap"] = _wrap
    template = environment.from_string((Path(__file__).parent / "github.yml.j2").read_text(encoding="utf-8"))
    return template.render(target=target, protected=protected, secrets=secrets, setup=setup, branch=branch,
                           version=version, package=f"{DISTRIBUTION}=={version}", drift_cron=DRIFT_CRON,
                           handoff_cron=HANDOFF_CRON, schedules=sorted(schedules.items()), reports=rhythm.reports,
                           handoffs=rhythm.handoffs, shared_history=shared_history, out=shlex.quote(out.as_posix()))



def _wrap(text: str) -> list[str]:
    """`text` as comment lines that keep the file within 120 columns."""
    return textwrap.wrap(text, 100)
