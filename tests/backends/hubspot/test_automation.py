"""Cadences and routes on HubSpot. Workflows (automation v4) are in beta, and HubSpot's OpenAPI spec for them
(HubSpot/HubSpot-public-api-spec-collection, Automation V4, rollout 144908) types an action's `actionTypeId` and
`fields` only as a string and an open map; routing has no assignment-rule API at all (reference/hubspot.md §7,
docs/hubspot.md "Cadences and routing"). So for every starter a plan against the emulator writes neither and says
so, per kind, in its JSON form, its text and its Markdown; the portal's workflows are never called."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli
from tests.backends.automation_notes import STARTERS, not_applied, starter_counts, statements
from tests.emulators.hubspot import HubSpotEmulator

CADENCES = ("sos does not write HubSpot workflows: their API (automation v4) is in beta, and HubSpot's published spec "
            "leaves each action's type id and fields open, so its create-task and notification steps cannot be "
            "written from it with confidence; build the task and notification cadences as HubSpot workflows by hand; "
            "scheduled reports are not a CRM automation and are never written to HubSpot")
ROUTES = ("HubSpot has no lead assignment rules that sos could own through its API (owner rotation is a step inside a "
          "workflow): set up the routing in HubSpot by hand")


@pytest.mark.parametrize("starter", sorted(p.stem for p in STARTERS.glob("*.yaml")))
def test_every_starters_cadences_and_routes_are_stated_as_not_applied(
        hub: HubSpotEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starter: str) -> None:
    (tmp_path / "blueprint.yaml").write_text(f"sos: 1\nname: client\nextends: [starter:{starter}]\n", encoding="utf-8")
    (tmp_path / "sos.yaml").write_text(f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  hs: {{type: hubspot, api_url: '
                                       f'"{hub.api_url}", portal_id: {hub.portal_id}}}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "--format", "json", "--no-impact"],
                                env={"HUBSPOT_ACCESS_TOKEN": hub.access_token, "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    cadences, routes = starter_counts(starter)
    said = [not_applied(cadences, "cadence", CADENCES), not_applied(routes, "route", ROUTES)]
    assert statements(plan, said) == {"json": True, "text": True, "markdown": True}
    assert not [c for c in plan["changes"] if c["address"].split(".")[0] in ("cadence", "route")]
    assert not [call for call in hub.calls if "/automation/" in call]
