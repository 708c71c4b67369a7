"""The record of past applies, one JSON line each, in the project's .sos/history.jsonl."""

from __future__ import annotations

import getpass
import json
import subprocess
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from sos.errors import Diagnostic, Severity, SosError, Span


HISTORY_KEYS = {"at", "by", "target", "plan_digest", "outcome"}


def git_commit(folder: Path) -> str | None:
    """The commit the blueprint is at (with `-dirty` for uncommitted changes), or None outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def who() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def record_apply(state_dir: Path, entry: dict[str, Any]) -> Diagnostic | None:
    """Append `entry` to the history; a warning, never an exception, when it cannot be written: the apply's
    outcome stands whatever happens to its record."""
    stamped = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "by": who(), **entry}
    path = state_dir / "history.jsonl"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(stamped, sort_keys=True) + "\n")
    except OSError as exc:
        return Diagnostic(None, f"the outcome of this apply ({entry['outcome']}) could not be recorded: cannot write "
                                f"{path}: {exc.strerror}", "history-unwritable", Severity.WARNING,
                          why="`sos history` will not list this apply; the outcome above is the CRM's all the same",
                          fix=f"make {path} writable")
    return None


def read_history(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / "history.jsonl"
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SosError(f"cannot read {path}: {reason}", "history-unreadable") from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict) or not set(entry) >= HISTORY_KEYS:
            raise SosError(Diagnostic(Span(str(path), number, 1), "not an apply record", "history-corrupt",
                                      fix="remove or repair this line; sos only ever appends whole lines"))
        entries.append(entry)
    return entries
