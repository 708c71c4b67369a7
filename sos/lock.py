"""sos.lock: the digest of every starter a client repository extends, as of its last upgrade, so that an edit to a
shared starter changes a client only when the client takes it (`sos upgrade`). Committed with the blueprint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from sos.blueprint.resolve import display_path
from sos.errors import Diagnostic, SosError, Span

LOCK_FILE = "sos.lock"


def read_lock(root: Path) -> dict[str, str] | None:
    """The starters locked in `root`/sos.lock, or None when there is no lock yet."""
    path = root / LOCK_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("starters"), dict):
        raise SosError(Diagnostic(Span(display_path(path), 1, 1), f"{LOCK_FILE} is not a sos lock file",
                                  "lock-corrupt", fix="restore it from git, or delete it and run `sos upgrade` to "
                                  "lock the starters as they are now", quote=False))
    return {str(k): str(v) for k, v in data["starters"].items()}


def write_lock(root: Path, starters: Mapping[str, str]) -> None:
    text = json.dumps({"starters": dict(sorted(starters.items()))}, indent=2) + "\n"
    (root / LOCK_FILE).write_text(text, encoding="utf-8")


def changed_starters(root: Path, starters: Mapping[str, str]) -> list[Diagnostic]:
    """An error for each starter whose file changed since `root` locked it."""
    locked = read_lock(root) or {}
    return [Diagnostic(Span(display_path(root / LOCK_FILE), 1, 1), f"{reference} changed since this client locked it",
                       "starter-changed", why="a shared starter changes a client only when the client takes it",
                       fix="run `sos upgrade` to see what the new version changes in the CRM and take it", quote=False)
            for reference, digest in sorted(starters.items()) if reference in locked and locked[reference] != digest]


def lock_new_starters(root: Path, starters: Mapping[str, str]) -> None:
    """Record the starters `root` extends that its lock does not hold yet (all of them, on the first plan)."""
    locked = read_lock(root)
    if locked is None or any(reference not in locked for reference in starters):
        write_lock(root, {**(locked or {}), **{r: d for r, d in starters.items() if r not in (locked or {})}})
