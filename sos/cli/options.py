"""Options and argument handling shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import click

from sos.errors import Diagnostic, SosError
from sos.blueprint.resolve import STARTER_PREFIX
from sos.project import PROJECT_FILE, Project, find_project_file, load_project, refuse_link_out
from sos.resources import starter_path

output_format = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Output for people (text) or for tools (json).")


def locate_blueprint(path: Path | None) -> tuple[Path, Project | None]:
    """The blueprint a command works on: PATH (a file, or a folder holding sos.yaml), else the project's.

    The project is the one PATH is in, if any: its sos.yaml says which other folders blueprints may read.
    """
    if path is not None and str(path).startswith(STARTER_PREFIX):     # `sos show starter:NAME`
        found = starter_path(str(path)[len(STARTER_PREFIX):])
        if found is None:
            raise SosError(Diagnostic(None, f"unknown starter '{str(path)[len(STARTER_PREFIX):]}'",
                                      "unknown-starter", fix="run `sos starters` to list them"))
        return found, None
    if path is not None and path.is_file() and path.name != PROJECT_FILE:
        project_file = find_project_file(path.parent)
        return path, load_project(project_file) if project_file else None
    start = path if path is not None else Path.cwd()
    if path is not None and path.name == PROJECT_FILE:
        start = path.parent
    if path is not None and not path.exists():
        raise SosError(f"{path}: no such file or folder", "file-missing")
    project_file = find_project_file(start)
    if project_file is None:
        fallback = start / "blueprint.yaml"
        if fallback.is_file():
            refuse_link_out(fallback, "blueprint-outside")
            return fallback, None
        raise SosError(f"no {PROJECT_FILE} here or in any parent folder, and no blueprint.yaml; "
                       "run `sos init --starter NAME` to start a client repository, or pass a blueprint file",
                       "no-project")
    project = load_project(project_file)
    return project.blueprint_path, project


adopt_option = click.option("--adopt", is_flag=True,
                            help="Take what sos did not create but the blueprint names under management "
                                 "(after `sos import`).")

def _target_names(context: click.Context, parameter: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --target: the targets of the sos.yaml here or above (none when it cannot be read)."""
    try:
        return [name for name in current_project().targets if name.startswith(incomplete)]
    except SosError:
        return []


target_option = click.option("--target", "-t", "target_name", metavar="NAME", shell_complete=_target_names,
                             help="Target from sos.yaml (default: its default_target).")


def current_project() -> Project:
    """The project whose sos.yaml is in the working directory or a parent."""
    project_file = find_project_file(Path.cwd())
    if project_file is None:
        raise SosError(f"no {PROJECT_FILE} here or in any parent folder; run `sos init --starter NAME` "
                       "to start a client repository", "no-project")
    return load_project(project_file)

no_impact_option = click.option(
    "--no-impact", is_flag=True,
    help="Skip counting the open records each new or tightened rule would block (one query per 25 rules on a CRM "
         "that reads records).")


SKIPPED = {".git", ".sos", ".venv", "node_modules", "__pycache__"}


def client_projects(folder: Path) -> Iterator[Path]:
    """The sos.yaml files at and below `folder`, not looking inside a client repository once found."""
    for root, dirs, files in os.walk(folder):
        if PROJECT_FILE in files:
            dirs.clear()
            yield Path(root) / PROJECT_FILE
        else:
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
