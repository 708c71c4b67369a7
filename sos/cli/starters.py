"""sos starters: the starter blueprints a client repository can begin from, and which clients an edit changes."""

from __future__ import annotations

import os
from pathlib import Path

import click
import yaml

from sos.blueprint.load import load_blueprint
from sos.blueprint.resolve import STARTER_PREFIX, file_digest
from sos.cli.options import client_projects
from sos.errors import Diagnostic, SosError, did_you_mean
from sos.lock import read_lock
from sos.project import load_project
from sos.resources import starter_names, starter_path, starters_dir


def starter_description(name: str) -> str:
    path = starter_path(name)
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path else None) or {}
    return str(data.get("description", "")).strip().splitlines()[0] if data.get("description") else ""


@click.group("starters", invoke_without_command=True, epilog="""\b
Examples:
  sos init acme --starter smb-bant --name acme
  sos show starter:smb-bant                     # a starter, resolved
  SOS_STARTERS_PATH=~/starters sos starters     # your own library first
  sos starters impact agency                    # which clients an edit to starter agency changes
""")
@click.pass_context
def command(context: click.Context) -> int:
    """List the starter blueprints, each with the sales motion it fits.

    Your own starters come first: the folders in SOS_STARTERS_PATH (separated
    by the path separator) and those a sos-portfolio.yaml above the current
    folder lists under `starters:`. A file NAME@VERSION.yaml is a version
    (`extends: [starter:NAME@VERSION]`). A starter in your library named like a
    built-in one is used instead of it.
    """
    if context.invoked_subcommand is not None:
        return 0
    names = starter_names()
    width = max(map(len, names), default=0)
    for name in names:
        path = starter_path(name)
        where = "" if path is None or path.parent == starters_dir() else f"  ({os.path.relpath(path.parent)})"
        click.echo(f"{name:<{width}}  {starter_description(name)}{where}")
    return 0


@command.command("impact", epilog="""\b
Example:
  sos starters impact agency clients/
""")
@click.argument("name")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def impact(name: str, folders: tuple[Path, ...]) -> int:
    """Which client repositories below FOLDERS (default: the current folder) extend
    starter NAME (directly or through another blueprint), and whether its current
    version differs from the one each locked: those change on `sos upgrade`."""
    path = starter_path(name)
    if path is None:
        raise SosError(Diagnostic(None, f"unknown starter '{name}'", "unknown-starter",
                                  fix=did_you_mean(name, starter_names()) or "run `sos starters` to list them"))
    reference, current = STARTER_PREFIX + name, file_digest(path)
    found = 0
    for project_file in sorted({p for folder in folders or (Path("."),) for p in client_projects(folder)}):
        project = load_project(project_file)
        blueprint, _ = load_blueprint(project.blueprint_path, project.blueprint_folders)
        client = os.path.relpath(project.root)
        if blueprint is None:
            click.echo(f"{client}: its blueprint does not validate (`sos validate` says why)")
            continue
        if reference not in blueprint.starters:
            continue
        found += 1
        locked = (read_lock(project.root) or {}).get(reference)
        state = ("changes on `sos upgrade`" if locked and locked != current
                 else "not locked yet: its next plan takes the current version" if not locked else "up to date")
        click.echo(f"{client}: {state}")
    if not found:
        click.echo(f"No client repository below {', '.join(map(str, folders or ('.',)))} extends {reference}.")
    return 0
