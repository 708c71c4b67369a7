"""sos build: the blueprint as Salesforce metadata files, offline (no credentials, no org)."""

from __future__ import annotations

import shlex
import shutil
from collections import Counter
from pathlib import Path

import click

from sos.cli.options import current_project, target_option
from sos.cli.output import plural, print_diagnostics
from sos.engine import desired_model, export_metadata, without_deletions
from sos.errors import SosError
from sos.model.resources import Model
from sos.plan.change import Action, Plan
from sos.plan.diff import blueprint_digest
from sos.plan.planfile import load_plan

# What a previous build may have left in --out; anything else there makes the build refuse.
BUILD_ENTRIES = {"package.xml", "destructiveChanges.xml", "objects", "standardValueSets", "permissionsets",
                 "sfdx-project.json", "force-app", "manifest"}


@click.command("build", epilog="""\b
Examples:
  sos build --target prod --out build/                  # mdapi: package.xml, objects/, permissionsets/
  sf project deploy start --metadata-dir build/ --dry-run
  sos build --target prod --format source --out sfdx/   # an SFDX project (force-app/main/default/...)
  sos build --target prod --out build/ --include-value-sets
  sos build --target prod --plan plan.json --allow-delete --out build/

\b
Stage and lead status values: Salesforce keeps them in two value sets
(OpportunityStage, LeadStatus), and a deployed value set DEACTIVATES every
value it does not list. Offline, sos cannot know the org's current values, so
they are left out by default: the package then needs the blueprint's stage
values to exist in the org already (its sales processes list them).
--include-value-sets writes the blueprint's values only; deploying that
deactivates every other stage and lead status of the org. `sos apply` has
neither problem: it reads the org's values and keeps them.
""")
@target_option
@click.option("--format", "fmt", type=click.Choice(["mdapi", "source"]), default="mdapi", show_default=True,
              help="mdapi: package.xml and folders (`sf project deploy start --metadata-dir`); source: an SFDX "
                   "project (`sf project deploy start --manifest manifest/package.xml`).")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write; a new or empty one, or one an earlier `sos build` wrote (it is replaced).")
@click.option("--include-value-sets", is_flag=True,
              help="Also write the OpportunityStage and LeadStatus value sets (the blueprint's values only).")
@click.option("--plan", "planfile", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Build only the changes of a saved plan (`sos plan -o`), instead of the whole blueprint.")
@click.option("--allow-delete", is_flag=True,
              help="With --plan: also write its deletions (destructiveChanges.xml; stages and statuses deactivated).")
def command(target_name: str | None, fmt: str, out: Path, include_value_sets: bool, planfile: Path | None,
            allow_delete: bool) -> int:
    """Write the Salesforce metadata for the blueprint: custom fields, validation rules,
    sales processes and record types, deal-aging formulas and a permission set.

    Offline: no credentials and no org are needed, and nothing is deployed. Review
    the files, deploy them with the Salesforce CLI or your release tool, or let
    `sos apply` do both (it compares with the org first and deploys only the changes).
    """
    project = current_project()
    target = project.target(target_name)
    if target.type != "salesforce":
        others = [t.name for t in project.targets.values() if t.type == "salesforce"]
        raise SosError(f"target '{target.name}' has type '{target.type}'; sos build writes Salesforce metadata"
                       + (f" (salesforce targets: {', '.join(others)})" if others else ""), "build-target")
    desired = desired_model(project)
    deletions, planned = 0, None
    if planfile is not None:
        plan = _saved_plan(planfile, desired, target.name)
        deletions = plan.count(Action.DELETE)
        planned = (plan if allow_delete else without_deletions(plan)).changes
    if allow_delete and planfile is None:
        click.echo("Nothing to delete: without --plan the package creates and updates only.", err=True)
    elif deletions and not allow_delete:
        click.echo(f"Skipping {plural(deletions, 'deletion')}: pass --allow-delete to write them.", err=True)
    changes, package, files = export_metadata(project, target, desired, planned, allow_delete=allow_delete,
                                              value_sets=include_value_sets, fmt=fmt)
    _write(out, files)

    if include_value_sets:
        print_diagnostics(list(package.notes))
    elif any(c.address is not None and c.address.kind.value in ("stage", "lead_status", "pipeline")
             for c in changes):
        click.echo("Left out the stage and lead status value sets (OpportunityStage, LeadStatus): a deployed value "
                   "set deactivates every value it does not list, and offline sos does not know the org's values. "
                   "The sales processes in this package need their stage values to exist in the org. Run `sos apply` "
                   "(it keeps the org's values), or pass --include-value-sets to write the blueprint's values only.",
                   err=True)
    counts = Counter(c.type for c in package.components if not c.deleted)
    removed = sum(c.deleted for c in package.components)
    click.echo(f"Wrote {plural(sum(counts.values()), 'component')} to {out} ({fmt} format):")
    for type_name, count in sorted(counts.items()):
        click.echo(f"  {type_name:<18} {count}")
    if removed:
        click.echo(f"  {'deleted':<18} {removed} (destructiveChanges.xml)")
    click.echo("Deploy with: " + _deploy_command(fmt, out, removed > 0))
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


def _write(out: Path, files: dict[str, bytes]) -> None:
    """Replace `out` with `files`, refusing to touch a folder that holds anything a build did not write."""
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in BUILD_ENTRIES)
        if foreign:
            raise SosError(f"{out} holds files sos build did not write ({', '.join(foreign[:5])}); "
                           "choose a new or empty folder", "build-out")
        for entry in out.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for name, body in sorted(files.items()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _deploy_command(fmt: str, out: Path, deletions: bool) -> str:
    if fmt == "mdapi":
        return f"sf project deploy start --metadata-dir {shlex.quote(str(out))}"
    command = f"cd {shlex.quote(str(out))} && sf project deploy start --manifest manifest/package.xml"
    return command + (" --post-destructive-changes manifest/destructiveChanges.xml" if deletions else "")
