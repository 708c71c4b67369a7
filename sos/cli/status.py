"""sos status: every client repository below a folder in one table, for a consultant running many clients."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from sos.cli.options import client_projects
from sos.engine import client_status
from sos.errors import SosError
from sos.project import PROJECT_FILE, Project, load_project
from sos.render.markdown import code

WORKERS = 8     # remote clients read at once: each waits on its CRM, not on this machine
COLUMNS = ("client", "target", "add", "change", "delete", "drift", "last apply", "audit")


@click.command("status", epilog="""\b
Examples:
  sos status                          # every client repository below this folder
  sos status clients/acme clients/beta
  sos status --format markdown        # for a weekly note or a pull request
  sos status --format json            # for a dashboard of your own
""")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="text for the terminal, markdown for notes, json for tools.")
def command(folders: tuple[Path, ...], fmt: str) -> int:
    """One line per client repository: its default target, what `sos plan` would
    add, change and delete there (deletions wait for `apply --allow-delete`),
    changes made outside sos (drift), the last apply (when, by whom, from which
    commit) and, where the target reads records, how many records break a check.

    FOLDERS are client repositories or folders holding them (default: every
    client repository below the current folder). Clients on a remote CRM are
    read several at a time, sandboxes one after another (quicker: reading one is
    work for this machine, not a wait); nothing is changed. Exit 1 when a
    client could not be read.
    """
    found = sorted({project for folder in folders or (Path("."),) for project in client_projects(folder)})
    if not found:
        raise SosError(f"no client repository ({PROJECT_FILE}) below {', '.join(map(str, folders or ('.',)))}",
                       "no-project")
    loaded = {path: _load(path) for path in found}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        remote = {path: pool.submit(_row, path, project) for path, project in loaded.items()
                  if isinstance(project, Project) and _waits_on_a_crm(project)}
        # A sandbox is read on this thread meanwhile: reading one is CPU work, which threads only take turns at.
        rows = [remote[path].result() if path in remote else _row(path, project) for path, project in loaded.items()]
    click.echo(_render(rows, fmt), nl=False)
    return 1 if any(row["error"] for row in rows) else 0


def _load(project_file: Path) -> Project | SosError:
    try:
        return load_project(project_file)
    except SosError as error:
        return error


def _waits_on_a_crm(project: Project) -> bool:
    """Whether the client's default target is a remote CRM (False when it has none: _row says why)."""
    try:
        return project.target(None).type != "local"
    except SosError:
        return False


def _row(project_file: Path, project: Project | SosError) -> dict[str, Any]:
    client = os.path.relpath(project_file.parent)
    try:
        if isinstance(project, SosError):
            raise project
        return {"client": client, "error": None, **client_status(project)}
    except SosError as error:
        return {"client": client, "error": error.diagnostics[0].headline()}


def _cells(row: dict[str, Any]) -> list[str]:
    if row["error"]:
        return [row["client"], row["error"]]     # its headline says error: already
    last = row["last_apply"]
    applied = "never" if last is None else " ".join(
        str(part) for part in (last["at"], last["by"], (last["git_commit"] or "")[:7],
                               "" if last["outcome"] == "applied" else f"({last['outcome']})") if part)
    return [row["client"], f"{row['target']} ({row['type']})", str(row["add"]), str(row["change"]),
            str(row["delete"]), str(row["drift"]), applied, "–" if row["audit"] is None else str(row["audit"])]


def _render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    table = [_cells(row) for row in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join([code(cells[0]), *(c.replace("|", "\\|") for c in cells[1:])])
                  + " |" * (len(COLUMNS) - len(cells) + 1) for cells in table]
        return "\n".join(lines) + "\n"
    whole = [list(COLUMNS), *(cells for cells in table if len(cells) == len(COLUMNS))]   # not the error lines
    widths = [max(len(cells[i]) for cells in whole) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()
                     for cells in [list(COLUMNS), *table]) + "\n"
