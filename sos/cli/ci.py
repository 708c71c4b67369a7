"""sos ci github: the GitHub Actions workflow that plans, applies, checks drift and runs the reports on schedule."""

from __future__ import annotations

import contextlib
import datetime
import difflib
from pathlib import Path

import click

from sos import __version__
from sos.blueprint.load import load_blueprint
from sos.blueprint.resolve import display_path
from sos.ci.github import DEFAULT_PATH, DRIFT_CRON, REPORT_COMMANDS, rhythm_of, workflow_text
from sos.cli.options import current_project, target_option
from sos.cli.output import plural
from sos.engine import ci_login
from sos.errors import Diagnostic, SosError
from sos.plan.planfile import write_output


@click.group("ci", epilog="""\b
Examples:
  sos ci github                  # .github/workflows/sos.yml for the default target
  sos ci github --check          # in CI: exit 1 when that file is out of date
""")
def command() -> None:
    """Write the CI workflow that runs a client's rhythm: plans, applies, drift checks and reports."""


@command.command("github", epilog=f"""\b
Examples:
  sos ci github                          # write {DEFAULT_PATH} for the default target
  sos ci github --target prod            # for another target of sos.yaml
  sos ci github --check                  # in CI: exit 1 when the file is out of date

\b
The workflow:
  pull request     sos plan --format markdown as ONE comment, edited on each push
  push to main     a fresh plan, saved and applied exactly (sos apply plan.json);
                   a protected target waits for a reviewer of its GitHub environment
  nightly          sos plan --detailed-exitcode: drift opens one issue, closed when gone
  each report      at its cadence's time in UTC (the earlier one when daylight saving
                   shifts it: early, never late), as job summary and artifact:
{chr(10).join(f"                   {report}: sos {cmd}" for report, cmd in REPORT_COMMANDS.items())}

\b
Credentials come from repository secrets: the command names the ones to create
and writes no value. See docs/ci.md.
""")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_PATH, show_default=True,
              help="Where to write the workflow, relative to the client repository.")
@target_option
@click.option("--branch", default="main", show_default=True, help="The branch merges go to (applied on push).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the file differs from what would be written.")
def github(out: Path, target_name: str | None, branch: str, check: bool) -> int:
    """Write a GitHub Actions workflow for this client repository: the plan of
    each pull request as one comment, an apply of what is merged, a nightly drift
    check, and each report cadence of the blueprint on its schedule."""
    project = current_project()
    target = project.target(target_name)
    login = ci_login(project, target)
    refused = [name for name in login.secrets if name.upper().startswith("GITHUB_")]
    if refused:
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' reads its credentials from {refused[0]}, "
                                  "and GitHub allows no secret named GITHUB_…", "ci-secret-name"))
    blueprint, diagnostics = load_blueprint(project.blueprint_path, project.blueprint_folders)
    if blueprint is None:
        raise SosError(diagnostics)
    rhythm = rhythm_of(blueprint, year=datetime.date.today().year)
    path = out if out.is_absolute() else project.root / out
    if not path.resolve().is_relative_to(project.root):
        raise SosError(f"--out {out} is outside the client repository (the folder of sos.yaml), where GitHub "
                       "reads workflows", "usage")
    text = workflow_text(rhythm, target=target.name, protected=bool(target.options.get("protected")),
                         secrets=sorted(login.secrets), setup=login.setup, branch=branch, version=__version__,
                         out=path.resolve().relative_to(project.root), shared_history=project.shared_history)
    if check:
        return _check(path, text)
    with contextlib.suppress(OSError):      # a folder that cannot be made: write_output says so
        path.parent.mkdir(parents=True, exist_ok=True)     # .github/workflows of a fresh repository
    write_output(path, text)
    click.echo(f"Wrote {display_path(path)}: plan on pull requests, apply on push to {branch}, drift check "
               f"nightly at {_time(DRIFT_CRON)} UTC.")
    for report in rhythm.reports:
        click.echo(f"  {report.note}")
    if rhythm.handoffs:
        click.echo("  sos handoff run: hourly")
    click.echo("Create these repository secrets (Settings → Secrets and variables → Actions):")
    for name, what in sorted(login.secrets.items()):
        click.echo(f"  {name}: {what}")
    if target.options.get("protected"):
        click.echo(f"Target '{target.name}' is protected: give the GitHub environment '{target.name}' required "
                   "reviewers (Settings → Environments); until then merges apply without approval.")
    return 0


def _check(path: Path, text: str) -> int:
    try:
        on_disk = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        click.echo(f"{display_path(path)} does not exist; run `sos ci github` to write it", err=True)
        return 1
    if on_disk == text:
        click.echo(f"{display_path(path)} is up to date.", err=True)
        return 0
    lines = list(difflib.unified_diff(on_disk.splitlines(), text.splitlines(), lineterm="", n=0))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    click.echo(f"{display_path(path)} is out of date: {plural(added, 'line')} to add and {removed} to remove; run "
               "`sos ci github` and commit it", err=True)
    return 1


def _time(cron: str) -> str:
    minute, hour = cron.split()[:2]
    return f"{int(hour):02d}:{int(minute):02d}"
