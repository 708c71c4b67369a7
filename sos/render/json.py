"""A plan as JSON: its one JSON form, for machines and `sos apply plan.json`."""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Mapping


def render_json(data: Mapping[str, Any]) -> str:
    """The plan's JSON form (`plan_to_json`) as indented JSON text, ending in a newline."""
    return json.dumps(data, indent=2) + "\n"
