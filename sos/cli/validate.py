"""sos validate: is the blueprint well-formed and consistent?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sos.blueprint.load import load_blueprint
from sos.blueprint.resolve import display_path
from sos.cli import output
from sos.cli.options import locate_blueprint, output_format
from sos.engine import lint_targets
from sos.errors import Diagnostic, SosError
from sos.lock import changed_starters
from sos.model.compile import compile_model


@click.command("validate", epilog="""\b
Examples:
  sos validate                        # the project's blueprint (sos.yaml found here or above)
  sos validate blueprints/acme.yaml   # one file
  sos validate clients/*/             # several client repositories (or the files a pre-commit hook passes)
  sos validate --format json          # for editors and CI annotations
  sos validate --strict               # fail on warnings too
""")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_format
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 when there are any).")
def command(paths: tuple[Path, ...], fmt: str, strict: bool) -> int:
    """Check a blueprint and everything it extends; report every problem at once.

    Each problem is one line `file:line:col: severity: message [code]`, followed by
    the offending source line, why it is a problem and how to fix it. Exit 0 when
    every blueprint is valid, 1 when any has errors (or warnings, with --strict).
    PATHS are blueprint files or folders holding sos.yaml; each is checked on its
    own, and the same blueprint named twice is checked once. With --format json
    and several paths, the output is a list with one object per blueprint.
    """
    results = [_validate(path, fmt, strict) for path in _distinct(paths or (None,))]
    if fmt == "json":
        reports = [report for _, report in results]
        click.echo(reports[0] if len(reports) == 1 else "[\n" + ",\n".join(reports) + "\n]")
    return 1 if any(failed for failed, _ in results) else 0


def _distinct(paths: tuple[Path | None, ...]) -> list[Path | None]:
    """`paths` without two that name one blueprint (a client folder, its sos.yaml and its blueprint.yaml)."""
    seen: dict[object, Path | None] = {}
    for path in paths:
        try:
            key: object = locate_blueprint(path)[0].resolve()
        except SosError:
            key = path
        seen.setdefault(key, path)
    return list(seen.values())


def _validate(path: Path | None, fmt: str, strict: bool) -> tuple[bool, str]:
    """Check the blueprint at `path`: whether it failed, and its JSON report (printed by the caller) or, in text,
    its problems and summary printed here."""
    try:
        blueprint_path, project = locate_blueprint(path)
    except SosError as exc:
        diagnostics, blueprint, blueprint_path = exc.diagnostics, None, path or Path("sos.yaml")
    else:
        blueprint, diagnostics = load_blueprint(blueprint_path, project.blueprint_folders if project else ())
        if blueprint is not None and project is not None:   # each target's own limits, e.g. its CRM's names
            diagnostics = sorted([*diagnostics, *lint_targets(project, compile_model(blueprint)),
                                  *changed_starters(project.root, blueprint.starters)], key=Diagnostic.sort_key)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    failed = errors > 0 or (strict and warnings > 0)
    name = display_path(blueprint_path)
    if fmt == "json":
        return failed, output.diagnostics_json(diagnostics, file=name, valid=not failed)
    output.print_diagnostics(diagnostics)
    if failed:
        strict_note = " (--strict: warnings fail)" if not errors else ""
        summary = f"{name}: {output.plural(errors, 'error')}, {output.plural(warnings, 'warning')}{strict_note}"
    elif blueprint is not None:
        counts = [output.plural(sum(len(f) for f in blueprint.fields.values()), "field"),
                  output.plural(len(blueprint.pipelines), "pipeline"), output.plural(len(blueprint.rules), "rule"),
                  output.plural(len(blueprint.cadences), "cadence"), output.plural(len(blueprint.routing), "route")]
        if blueprint.handoffs:
            counts.append(output.plural(len(blueprint.handoffs), "handoff"))
        summary = f"{name} is valid: {', '.join(counts)}" + (
            f"; {output.plural(warnings, 'warning')}" if warnings else "")
    else:
        summary = f"{name}: {output.plural(warnings, 'warning')}"
    click.echo(summary, file=sys.stderr if failed else sys.stdout)
    return failed, ""
