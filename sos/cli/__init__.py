"""The `sos` command line: one group, one module per command, one error handler."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from sos import __version__
from sos.cli.output import print_diagnostics, redact
from sos.errors import SosError
from sos.project import find_project_file

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

HELP = """\
sos keeps a client's sales process (pipeline stages, exit criteria, required
fields, validation rules, lead statuses, cadences and routing) as YAML
blueprints in git, and makes their CRM match.

\b
Start a client repository from a starter, then check it:
  sos starters                       # the sales motions you can start from
  sos init acme --starter b2b-saas-meddicc --name acme
  cd acme && sos validate            # precise errors, file:line:col
  sos show                           # the blueprint with inheritance applied
  sos plan                           # what would change in the target (default: local sandbox)
  sos apply                          # make it so, atomically
  sos audit                          # what the records already there break
  sos review / forecast / trace      # Monday pipeline review, Friday forecast, the ten-lead test
  sos docs                           # the playbook reps read: stages, rules, routes, cadences
  sos ci github                      # the GitHub Actions workflow: plans, applies, drift, reports
  sos -C clients/acme plan           # any command, as if started in that folder
  sos status                         # every client below this folder in one table

\b
Exit codes: 0 success, 1 problems in your input (or --strict warnings),
2 changes pending (plan --detailed-exitcode) or problems found (audit, trace), 3
internal error, 130 interrupted.
"""


class SosGroup(click.Group):
    """The `sos` group; its `main` turns every failure into a message and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except SosError as exc:
            print_diagnostics(exc.diagnostics)
            code = EXIT_ERROR
        except (click.exceptions.Abort, KeyboardInterrupt) as exc:
            job = getattr(exc, "job", None) or getattr(exc.__cause__, "job", None)   # click wraps Ctrl-C in Abort
            click.echo(f"Interrupted. {job} was submitted and may still complete: `sos apply --resume "
                       f"{shlex.quote(job)}` waits for it and records its outcome." if job else "Interrupted.",
                       err=True)
            code = EXIT_INTERRUPTED
        except click.ClickException as exc:
            exc.show()
            code = EXIT_ERROR
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except Exception as exc:  # noqa: BLE001 — the one place that turns crashes into a pointer
            log = _crash_log(exc)
            where = f"details in {log}" if log else "no crash log could be written"
            click.echo(redact(f"internal error: {type(exc).__name__}: {exc}; {where} — please report it"), err=True)
            code = EXIT_INTERNAL
        sys.exit(code if isinstance(code, int) else 0)


def _crash_log(exc: BaseException) -> Path | None:
    """Write the traceback to the project's .sos/crash.log, else (outside a project, or where that cannot be
    written) to a new file in the temporary folder; None when neither can be written."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = redact(f"--- {stamp} sos {__version__} {' '.join(sys.argv[1:])}\n"
                  + "".join(traceback.format_exception(exc)))
    try:
        project_file = find_project_file(Path.cwd())
    except OSError:     # the working folder itself is gone
        project_file = None
    if project_file is not None:
        log = project_file.parent / ".sos" / "crash.log"
        try:
            log.parent.mkdir(exist_ok=True)
            with log.open("a", encoding="utf-8") as out:
                out.write(text)
            return log
        except OSError:
            pass
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="sos-crash-", suffix=".log",
                                         delete=False) as out:
            out.write(text)
            return Path(out.name)
    except OSError:
        return None


@click.group(cls=SosGroup, help=HELP,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="sos")
@click.option("-C", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR",
              help="Run as if sos was started in DIR (like `git -C`): `sos -C clients/acme plan`.")
def cli(directory: Path | None) -> None:
    if directory is not None:
        os.chdir(directory)


def _register() -> None:
    from sos.cli import (apply, audit, build, ci, docs, fmt, handoff, history, import_, init, plan, reports, sandbox,
                         schema, show, starters, status, targets, test, upgrade, validate)

    for module in (validate, show, plan, apply, audit, status, upgrade, import_, targets, history, starters, init,
                   schema, build, sandbox, test, fmt, docs, ci, handoff):
        cli.add_command(module.command)
    for command in (reports.review_command, reports.forecast_command, reports.trace_command):
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="sos")
