"""sos history: past applies, and the plan each applied."""

from __future__ import annotations

import json
import sys

import click

from sos.cli.options import current_project
from sos.cli.output import use_colour
from sos.errors import SosError
from sos.engine import history_of
from sos.render import render_plan


@click.group("history", invoke_without_command=True, epilog="""\b
Examples:
  sos history                          # one line per apply, oldest first, numbered
  sos history show 3                   # the plan apply number 3 applied
  sos history show -1 --format markdown
  sos history --format json | jq '.[-1]'
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def command(context: click.Context, fmt: str) -> int:
    """Past applies: when, by whom, the blueprint's git commit, the plan digest, the outcome.

    The history is kept in .sos/history.jsonl, or, with `history: repository` in
    sos.yaml, in history/ (one file per apply, committed, shared by every clone).
    """
    if context.invoked_subcommand is not None:
        return 0
    entries = history_of(current_project())
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return 0
    if not entries:
        click.echo("No applies yet.")
    for number, e in enumerate(entries, start=1):
        summary = e.get("summary", {})
        counts = f"+{summary.get('create', 0)} ~{summary.get('update', 0)} -{summary.get('delete', 0)}"
        if summary.get("adopt"):
            counts += f" ={summary['adopt']}"
        click.echo(f"{number:>3}  {e['at']}  {e['by']:<10} {e['target']:<10} {e.get('git_commit') or '-':<18} "
                   f"{e['plan_digest']}  {counts:<12} {e['outcome']}" + (f" {e['job']}" if e.get("job") else "")
                   + (f": {e['error']}" if e.get("error") else ""))
    return 0


@command.command("show", context_settings={"ignore_unknown_options": True})   # -1 is a number
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def show(number: int, fmt: str) -> int:
    """The plan that apply NUMBER (as `sos history` numbers them; -1 is the last) applied."""
    entries = history_of(current_project())
    if not entries:
        raise SosError("no applies yet: `sos apply` records each one here", "history-number")
    if not (1 <= number <= len(entries) or -len(entries) <= number <= -1):
        raise SosError(f"there is no apply {number}: the history holds 1 to {len(entries)}", "history-number")
    number = number if number > 0 else len(entries) + 1 + number
    entry = entries[number - 1]
    plan = entry.get("plan")
    if plan is None:
        raise SosError(f"apply {number} ({entry['at']}) was recorded by an earlier sos, which kept only its counts "
                       f"({entry.get('summary')})", "history-number")
    click.echo(f"Apply {number}: {entry['at']} by {entry['by']}, {entry['outcome']}"
               + (f", from commit {entry['git_commit']}" if entry.get("git_commit") else ""), err=True)
    click.echo(render_plan(plan, fmt, colour=use_colour(sys.stdout)), nl=False)
    return 0
