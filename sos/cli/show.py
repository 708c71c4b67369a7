"""sos show: the blueprint with inheritance applied."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sos.blueprint.load import load_blueprint
from sos.blueprint.dump import blueprint_to_data, dump_yaml
from sos.cli.options import locate_blueprint
from sos.errors import SosError


@click.command("show", epilog="""\b
Examples:
  sos show                        # what the starter plus your overrides add up to
  sos show --format json | jq '.pipelines'
""")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def command(path: Path | None, fmt: str) -> int:
    """Print the resolved blueprint: parents merged, removals applied, defaults filled in."""
    blueprint_path, project = locate_blueprint(path)
    blueprint, diagnostics = load_blueprint(blueprint_path, project.blueprint_folders if project else ())
    if blueprint is None:
        raise SosError(diagnostics)
    data = blueprint_to_data(blueprint)
    click.echo(json.dumps(data, indent=2) if fmt == "json" else dump_yaml(data), nl=fmt == "json")
    return 0
