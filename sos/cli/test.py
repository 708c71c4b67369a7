"""sos test: the client's process tests (tests/*.yaml), run offline on the sandbox engine."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click

from sos.blueprint.resolve import display_path
from sos.cli.options import current_project
from sos.cli.output import print_diagnostics
from sos.engine import run_process_tests
from sos.errors import Diagnostic, SosError
from sos.plan.planfile import write_output
from sos.process_tests import EXAMPLE, ProcessTest, junit_xml, load_tests

EPILOG = """\b
Examples:
  sos test                          # every tests/*.yaml of the client repository
  sos test tests/routing.yaml
  sos test --junit report.xml       # for CI

\b
A test file:
""" + textwrap.indent(EXAMPLE, "  ") + """
\b
Steps: create: OBJECT (as, with, refused), update: NAME (with, refused), tick: DAYS, expect: {record, owner,
route, turn, values: {...}, task (due_in_days, due_in_hours, priority, owner), tasks, notification (to)}.
turn: N: the owner is the Nth user of the round robin of the route that assigned it (turns wrap round), so a
test holds whoever the client puts in the team. tasks: N: the record has that many tasks. Dates: today, today+N.
"""


@click.command("test", epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write JUnit XML here.")
def command(paths: tuple[Path, ...], junit: Path | None) -> int:
    """Run the client's process tests: records created and changed step by step on a
    sandbox with the blueprint applied (routes assign, cadences fire, rules refuse),
    and what must follow. Offline; nothing outside the temporary sandboxes changes.
    Exit 0 when every test passes, 1 when one fails."""
    project = current_project()
    files = list(paths) or sorted((project.root / "tests").glob("*.yaml"))
    if not files:
        raise SosError(Diagnostic(None, f"no process tests in {project.root / 'tests'}", "no-tests",
                                  fix="write tests/*.yaml (see `sos test --help`), or name the files"))
    tests: list[tuple[str, ProcessTest]] = []
    problems: list[Diagnostic] = []
    for file in files:
        try:
            tests += [(display_path(file), test) for test in load_tests(file)]
        except SosError as error:
            problems += error.diagnostics
    if problems:
        raise SosError(problems)
    outcomes = run_process_tests(project, tests)
    for _, outcome in outcomes:
        click.echo(f"{'ok  ' if outcome.passed else 'FAIL'}  {outcome.test.name}"
                   + (f"  ({outcome.test.description})" if outcome.test.description else ""))
        print_diagnostics(outcome.failures)
    failed = sum(not outcome.passed for _, outcome in outcomes)
    if junit is not None:
        write_output(junit, junit_xml(outcomes))
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed.", file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
