"""sos schema: print a JSON Schema, for editors and other tools."""

from __future__ import annotations

import json

import click

from sos.resources import load_schema


@click.command("schema", epilog="""\b
Examples:
  sos schema > blueprint.schema.json      # point your editor's YAML plugin at it
  sos schema project
""")
@click.argument("name", type=click.Choice(["blueprint", "project"]), default="blueprint")
def command(name: str) -> int:
    """Print the JSON Schema (Draft 2020-12) of blueprints or of sos.yaml."""
    click.echo(json.dumps(load_schema(name), indent=2))
    return 0
