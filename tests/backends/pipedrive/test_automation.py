"""Cadences and routes on Pipedrive: its API creates no automations and has no assignment rules (reference/pipedrive.md,
"No public API creates automations"), so for every starter a plan against the emulator writes none of them and says
so, per kind, in its JSON form, its text and its Markdown; a stage's max_days goes to Pipedrive as rotting."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.backends.automation_notes import STARTERS, not_applied, starter_counts, statements
from tests.backends.pipedrive.conftest import STARTERS as STARTER_NAMES
from tests.backends.pipedrive.conftest import Repo, blueprint_text

CADENCES = ("Pipedrive's API creates no automations, so the task and notification cadences are not written: build "
            "them in Pipedrive (Automations) by hand; a stage's max_days is applied as rotting, which marks a deal "
            "rotten but makes no task; scheduled reports are not a CRM automation and are never written to Pipedrive")
ROUTES = ("Pipedrive's API has no assignment rules: set up the routing in Pipedrive by hand (Automations, or the "
          "LeadBooster settings)")


@pytest.mark.parametrize("starter", STARTER_NAMES)
def test_every_starters_cadences_and_routes_are_stated_as_not_applied_and_its_max_days_as_rotting(
        repo: Repo, starter: str) -> None:
    plan = json.loads(repo.write(blueprint_text(starter)).sos("plan", "--format", "json", "--no-impact").stdout)
    cadences, routes = starter_counts(starter)
    said = [not_applied(cadences, "cadence", CADENCES), not_applied(routes, "route", ROUTES)]
    assert statements(plan, said) == {"json": True, "text": True, "markdown": True}
    assert not [c for c in plan["changes"] if c["address"].split(".")[0] in ("cadence", "route")]
    pipelines = yaml.safe_load((STARTERS / f"{starter}.yaml").read_text(encoding="utf-8"))["pipelines"]
    limits = {f"stage.{name}.{s['key']}": s["max_days"] for name, p in pipelines.items() for s in p["stages"]
              if "max_days" in s}
    assert {c["address"]: c["after"]["max_days"] for c in plan["changes"]
            if c["address"].startswith("stage.") and "max_days" in c["after"]} == limits
