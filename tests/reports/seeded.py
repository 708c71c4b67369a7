"""A client on smb-bant with its sandbox seeded, shared by the report tests and the report page's browser tests."""

from __future__ import annotations

import datetime
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from sos.cli import cli

TODAY = datetime.date(2026, 12, 5)
# smb-bant's new_business pipeline (blueprints/smb-bant.yaml): open stages in order, probability, max_days.
OPEN = {"discovery_call": (10, 5), "demo": (25, 7), "quote_sent": (50, 7), "negotiation": (70, 7),
        "verbal_commit": (90, 5)}


def sos(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(root), *args])


def seeded_client(folder: Path, deals: int = 300) -> Path:
    """A client on smb-bant in `folder`, applied to its sandbox and seeded with `deals` deals as of TODAY."""
    assert sos(folder, "init", "acme", "--starter", "smb-bant").exit_code == 0
    root = folder / "acme"
    assert sos(root, "apply", "--auto-approve").exit_code == 0
    seeded = sos(root, "sandbox", "seed", "--deals", str(deals), "--seed", "3", "--today", TODAY.isoformat())
    assert seeded.exit_code == 0, seeded.output
    return root


def query(root: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows straight from the sandbox's SQLite file."""
    with closing(sqlite3.connect(root / ".sos" / "sandbox.db")) as connection:
        return connection.execute(sql, args).fetchall()


def report(root: Path, *args: str) -> dict[str, Any]:
    """A weekly report's JSON form, as of TODAY."""
    result = sos(root, *args, "--format", "json", "--today", TODAY.isoformat())
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)
