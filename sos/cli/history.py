"""sos history: past applies."""

from __future__ import annotations

import json

import click

from sos.cli.options import current_project
from sos.history import read_history


@click.command("history", epilog="""\b
Example:
  sos history --format json | jq '.[-1]'
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(fmt: str) -> int:
    """Past applies: when, by whom, the blueprint's git commit, the plan digest, the outcome."""
    entries = read_history(current_project().state_dir)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return 0
    if not entries:
        click.echo("No applies yet.")
    for e in entries:
        summary = e.get("summary", {})
        counts = f"+{summary.get('create', 0)} ~{summary.get('update', 0)} -{summary.get('delete', 0)}"
        if summary.get("adopt"):
            counts += f" ={summary['adopt']}"
        click.echo(f"{e['at']}  {e['by']:<10} {e['target']:<10} {e.get('git_commit') or '-':<18} "
                   f"{e['plan_digest']}  {counts:<12} {e['outcome']}" + (f" {e['job']}" if e.get("job") else "")
                   + (f": {e['error']}" if e.get("error") else ""))
    return 0
