"""sos import: a blueprint written from a live target."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sos.blueprint.dump import dump_yaml
from sos.cli.options import current_project, target_option
from sos.engine import open_target
from sos.model.decompile import model_to_blueprint
from sos.model.resources import Model
from sos.plan.planfile import write_output


@click.command("import", epilog="""\b
Examples:
  sos import --target prod -o blueprint.yaml    # bring an existing client under management
  sos import --target sandbox                   # print to stdout
""")
@target_option
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.option("--name", help="The blueprint's name (default: the target's name).")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="yaml for a blueprint to edit; json, the same blueprint as data for tools.")
def command(target_name: str | None, out: Path | None, name: str | None, fmt: str) -> int:
    """Write a blueprint holding everything the target has; planning it right after shows no changes."""
    project = current_project()
    target = project.target(target_name)
    live = open_target(project, target).read(Model()).model
    imported = model_to_blueprint(live, name or target.name.replace("_", "-"), f"Imported from target {target.name}")
    text = json.dumps(imported, indent=2) + "\n" if fmt == "json" else (
        f"# Imported by `sos import` from target '{target.name}'.\n" + dump_yaml(imported))
    if out is None:
        click.echo(text, nl=False)
    else:
        write_output(out, text)
        click.echo(f"Wrote {out}: {len(live)} resources from target '{target.name}'.", err=True)
    unmanaged = sum(not r.managed for r in live)
    if unmanaged:
        click.echo(f"{unmanaged} of them were not created by sos. To manage them from now on, point sos.yaml's "
                   "`blueprint:` at the imported file and run `sos apply --adopt`.", err=True)
    return 0
