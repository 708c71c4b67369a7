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
from sos.model.compile import compile_model


@click.command("validate", epilog="""\b
Examples:
  sos validate                        # the project's blueprint (sos.yaml found here or above)
  sos validate blueprints/acme.yaml   # one file
  sos validate --format json          # for editors and CI annotations
  sos validate --strict               # fail on warnings too
""")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@output_format
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 when there are any).")
def command(path: Path | None, fmt: str, strict: bool) -> int:
    """Check a blueprint and everything it extends; report every problem at once.

    Each problem is one line `file:line:col: severity: message [code]`, followed by
    the offending source line, why it is a problem and how to fix it. Exit 0 when
    the blueprint is valid, 1 when it has errors (or warnings, with --strict).
    """
    try:
        blueprint_path, project = locate_blueprint(path)
    except SosError as exc:
        diagnostics, blueprint, blueprint_path = exc.diagnostics, None, path or Path("sos.yaml")
    else:
        blueprint, diagnostics = load_blueprint(blueprint_path, project.blueprint_folders if project else ())
        if blueprint is not None and project is not None:   # each target's own limits, e.g. its CRM's names
            diagnostics = sorted([*diagnostics, *lint_targets(project, compile_model(blueprint))],
                                 key=Diagnostic.sort_key)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    failed = errors > 0 or (strict and warnings > 0)
    name = display_path(blueprint_path)
    if fmt == "json":
        click.echo(output.diagnostics_json(diagnostics, file=name, valid=not failed))
        return 1 if failed else 0
    output.print_diagnostics(diagnostics)
    if failed:
        strict_note = " (--strict: warnings fail)" if not errors else ""
        summary = f"{name}: {output.plural(errors, 'error')}, {output.plural(warnings, 'warning')}{strict_note}"
    elif blueprint is not None:
        counts = [output.plural(sum(len(f) for f in blueprint.fields.values()), "field"),
                  output.plural(len(blueprint.pipelines), "pipeline"), output.plural(len(blueprint.rules), "rule"),
                  output.plural(len(blueprint.cadences), "cadence"), output.plural(len(blueprint.routing), "route")]
        summary = f"{name} is valid: {', '.join(counts)}" + (
            f"; {output.plural(warnings, 'warning')}" if warnings else "")
    else:
        summary = f"{name}: {output.plural(warnings, 'warning')}"
    click.echo(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
