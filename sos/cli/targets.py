"""sos targets: the project's targets and whether each answers."""

from __future__ import annotations

import click

from sos.cli.options import current_project
from sos.engine import open_target
from sos.errors import SosError


@click.command("targets", epilog="""\b
Example:
  sos targets        # before a plan, check every CRM is reachable with your credentials
""")
def command() -> int:
    """List the targets in sos.yaml and whether each is reachable."""
    project = current_project()
    failed = False
    for name, target in project.targets.items():
        marker = "*" if name == project.default_target else " "
        try:
            status = open_target(project, target).status()
        except SosError as exc:
            problem = exc.diagnostics[0]
            state = "unusable" if target.type == "local" else "unreachable"
            status, failed = f"{state}: {problem.message} [{problem.code}]", True
        click.echo(f"{marker} {name:<12} {target.type:<11} {status}")
    return 1 if failed else 0
