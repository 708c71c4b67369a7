"""sos starters: the starter blueprints a client repository can begin from."""

from __future__ import annotations

import click
import yaml

from sos.resources import starter_names, starters_dir


def starter_description(name: str) -> str:
    data = yaml.safe_load((starters_dir() / f"{name}.yaml").read_text(encoding="utf-8")) or {}
    return str(data.get("description", "")).strip().splitlines()[0] if data.get("description") else ""


@click.command("starters", epilog="""\b
Example:
  sos init acme --starter smb-bant --name acme
""")
def command() -> int:
    """List the starter blueprints, each with the sales motion it fits."""
    names = starter_names()
    width = max(map(len, names), default=0)
    for name in names:
        click.echo(f"{name:<{width}}  {starter_description(name)}")
    return 0
