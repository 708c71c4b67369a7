"""Where the schemas and starter blueprints live: in a checkout or an installed wheel."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).parent
_CHECKOUT = _PACKAGE.parent


def _data_dir(installed: str, checkout: str) -> Path:
    wheel_dir = _PACKAGE / installed
    return wheel_dir if wheel_dir.is_dir() else _CHECKOUT / checkout


def schemas_dir() -> Path:
    return _data_dir("schemas", "schemas")


def starters_dir() -> Path:
    return _data_dir("starters", "blueprints")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema by short name: 'blueprint', 'project' or 'plan'."""
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def starter_names() -> list[str]:
    return sorted(p.stem for p in starters_dir().glob("*.yaml"))
