"""The record of past applies: one JSON line each in the project's .sos/history.jsonl, or, for a project that
shares its history (`history: repository`), one JSON file each in history/, committed, so that applies from
several machines merge in git without conflicts."""

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


def record_apply(folder: Path, entry: dict[str, Any], *, one_file_each: bool = False) -> Diagnostic | None:
    """Record `entry` in the history in `folder` (appended to history.jsonl, or `one_file_each` as a new file); a
    warning, never an exception, when it cannot be written: the apply's outcome stands whatever happens to its
    record."""
    moment = datetime.now(UTC)
    stamped = {"at": moment.isoformat(timespec="seconds"), "by": who(), **entry}
    text = json.dumps(stamped, sort_keys=True)
    path = folder / "history.jsonl"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if one_file_each:
            path = _new_file(folder, f"{moment:%Y%m%dT%H%M%S%fZ}-{entry['target']}")   # names sort as applies ran
            path.write_text(json.dumps(stamped, sort_keys=True, indent=2) + "\n", encoding="utf-8")
        else:
            with path.open("a", encoding="utf-8") as out:
                out.write(text + "\n")
    except OSError as exc:
        return Diagnostic(None, f"the outcome of this apply ({entry['outcome']}) could not be recorded: cannot write "
                                f"{path}: {exc.strerror}", "history-unwritable", Severity.WARNING,
                          why="`sos history` will not list this apply; the outcome above is the CRM's all the same",
                          fix=f"make {path} writable")
    return None


def _new_file(folder: Path, stem: str) -> Path:
    """A path in `folder` named after `stem` that no other apply has taken (two in one second get -2, -3 …)."""
    for number in range(1, 1000):
        path = folder / (f"{stem}.json" if number == 1 else f"{stem}-{number}.json")
        try:
            path.touch(exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise OSError(17, "too many applies recorded in one second", str(folder))


def read_history(folder: Path) -> list[dict[str, Any]]:
    """Every apply recorded in `folder` (its history.jsonl and its one-file-each records), oldest first."""
    entries = _read_lines(folder / "history.jsonl") if (folder / "history.jsonl").exists() else []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T*.json")):
        entries.append(_read_record(path))
    return sorted(entries, key=lambda entry: str(entry["at"]))


def _read_record(path: Path) -> dict[str, Any]:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        entry = None
    if not isinstance(entry, dict) or not set(entry) >= HISTORY_KEYS:
        raise SosError(Diagnostic(Span(str(path), 1, 1), "not an apply record", "history-corrupt",
                                  fix="restore it from git (`git checkout -- FILE`) or remove it"))
    return entry


def _read_lines(path: Path) -> list[dict[str, Any]]:
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
