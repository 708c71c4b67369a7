"""What a plan says about the cadences and routes a target does not hold, read from its JSON form and its text and
Markdown renderings, and the counts it should give, read from a starter's own YAML (not from sos's model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sos.render import render_plan

STARTERS = Path(__file__).resolve().parents[2] / "blueprints"


def starter_counts(starter: str) -> tuple[int, int]:
    """How many cadences and routes the starter's YAML holds."""
    blueprint = yaml.safe_load((STARTERS / f"{starter}.yaml").read_text(encoding="utf-8"))
    return len(blueprint["cadences"]), len(blueprint["routing"])


def not_applied(count: int, noun: str, note: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'} in the blueprint {'is' if count == 1 else 'are'} not applied: " \
           f"{note}"


def statements(plan: dict[str, Any], sentences: list[str]) -> dict[str, bool]:
    """For each rendering of `plan`, whether it states every one of `sentences` as its own line."""
    text = render_plan(plan, "text").splitlines()
    markdown = render_plan(plan, "markdown").splitlines()
    return {"json": all(s in plan["cannot_enforce"] for s in sentences),
            "text": all(f"  • {s}" in text for s in sentences),
            "markdown": all(f"- {s}" in markdown for s in sentences)}
