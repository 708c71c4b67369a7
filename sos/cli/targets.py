"""sos targets: the project's targets and whether each answers."""

from __future__ import annotations

import json

import click

from sos.cli.options import current_project
from sos.engine import open_target
from sos.errors import SosError


@click.command("targets", epilog="""\b
Examples:
  sos targets                  # before a plan, check every CRM is reachable with your credentials
  sos targets --format json    # for a script: name, type, default, ok, status, code
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for tools.")
def command(fmt: str) -> int:
    """List the targets in sos.yaml and whether each is reachable. Exit 1 when one is not."""
    project = current_project()
    rows = []
    for name, target in project.targets.items():
        try:
            row = {"status": open_target(project, target).status(), "ok": True, "code": None}
        except SosError as exc:
            problem = exc.diagnostics[0]
            state = "unusable" if target.type == "local" else "unreachable"
            row = {"status": f"{state}: {problem.message}", "ok": False, "code": problem.code}
        rows.append({"name": name, "type": target.type, "default": name == project.default_target, **row})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            code = f" [{row['code']}]" if row["code"] else ""
            click.echo(f"{'*' if row['default'] else ' '} {row['name']:<12} {row['type']:<11} {row['status']}{code}")
    return 0 if all(row["ok"] for row in rows) else 1
