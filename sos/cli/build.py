"""sos build: the files that make a target match the blueprint, for the CRM's own tools, offline (no credentials)."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

import click

from sos.cli.options import current_project, target_option
from sos.cli.output import plural, print_diagnostics
from sos.engine import build_help, desired_model, export_plan, without_deletions
from sos.errors import SosError
from sos.model.resources import Model
from sos.plan.change import Action, Plan
from sos.plan.diff import blueprint_digest
from sos.plan.planfile import load_plan


class BuildCommand(click.Command):
    """`sos build`, whose help ends with what each backend writes (read from the backends only for --help)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = build_help()
        super().format_epilog(ctx, formatter)


@click.command("build", cls=BuildCommand)
@target_option
@click.option("--layout", "fmt", metavar="LAYOUT",
              help="How the files are laid out; each target type has its own (below). Default: the type's first. "
                   "(--format means output for people or tools in every other command.)")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write; a new or empty one, or one an earlier `sos build` wrote (it is replaced).")
@click.option("--include-value-sets", is_flag=True,
              help="Also write the stage and lead status value sets (the blueprint's values only; see below).")
@click.option("--plan", "planfile", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Build only the changes of a saved plan (`sos plan -o`), instead of the whole blueprint.")
@click.option("--allow-delete", is_flag=True,
              help="With --plan: also write its deletions (stages and statuses deactivated).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What it says it wrote: text for people, json (folder, layout, counts, files, deploy) for tools.")
def command(target_name: str | None, fmt: str | None, out: Path, include_value_sets: bool, planfile: Path | None,
            allow_delete: bool, output: str) -> int:
    """Write the files that make the target match the blueprint, for the CRM's own deploy tools.

    Offline: no credentials and no CRM are needed, and nothing is deployed. Review
    the files, deploy them with the CRM's tools or your release tool, or let
    `sos apply` do both (it compares with the CRM first and applies only the changes).
    """
    project = current_project()
    target = project.target(target_name)
    desired = desired_model(project)
    deletions, planned = 0, None
    if planfile is not None:
        plan = _saved_plan(planfile, desired, target.name)
        deletions = plan.count(Action.DELETE)
        planned = plan if allow_delete else without_deletions(plan)
    fmt, export = export_plan(project, target, desired, planned, fmt=fmt, value_sets=include_value_sets)
    if allow_delete and planfile is None:
        click.echo("Nothing to delete: without --plan the package creates and updates only.", err=True)
    elif deletions and not allow_delete:
        click.echo(f"Skipping {plural(deletions, 'deletion')}: pass --allow-delete to write them.", err=True)
    _write(out, export.files, export.entries)
    print_diagnostics(list(export.notes))
    for message in export.messages:
        click.echo(message, err=True)
    deploy = export.deploy.format(out=shlex.quote(str(out)))
    if output == "json":
        counts = {what: int(n) if n.isdigit() else n for what, n in export.rows}
        click.echo(json.dumps({"out": str(out), "layout": fmt, "components": export.written, "counts": counts,
                               "files": sorted(export.files), "deploy": deploy}, indent=2))
        return 0
    click.echo(f"Wrote {plural(export.written, 'component')} to {out} ({fmt} layout):")
    for what, count in export.rows:
        click.echo(f"  {what:<18} {count}")
    click.echo("Deploy with: " + deploy)
    return 0


def _saved_plan(planfile: Path, desired: Model, target_name: str) -> Plan:
    """A saved plan, refused when it was made for another target or blueprint."""
    plan = load_plan(planfile).plan
    if plan.target != target_name:
        raise SosError(f"{planfile} was made for target '{plan.target}', not '{target_name}'", "plan-target")
    if plan.blueprint_digest != blueprint_digest(desired):
        raise SosError(f"{planfile} was made from another version of the blueprint; run `sos plan` again",
                       "plan-blueprint")
    return plan


def _write(out: Path, files: Mapping[str, bytes], entries: frozenset[str]) -> None:
    """Replace `out` with `files`, refusing to touch a folder that holds anything but `entries` (what a build
    writes)."""
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in entries)
        if foreign:
            raise SosError(f"{out} holds files sos build did not write ({', '.join(foreign[:5])}); "
                           "choose a new or empty folder", "build-out")
        for entry in out.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for name, body in sorted(files.items()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
