"""What `sos validate` says of a blueprint for a HubSpot target, offline: located at the blueprint line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli

BLUEPRINT = """\
sos: 1
name: client
fields:
  opportunity:
    champion: {type: lookup, to: contact, label: Champion}
    hs_score: {type: number, label: Score}
  lead:
    region: {type: text, label: Region}
  contact:
    region: {type: text, label: Region}
pipelines:
  new_business:
    stages:
      - {key: demo, label: Demo, probability: 25}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: fresh, label: Fresh, default: true}
  - {key: qualified, label: Qualified, converted: true}
"""


def test_validate_locates_what_hubspot_cannot_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (tmp_path / "sos.yaml").write_text(textwrap.dedent("""\
        sos: 1
        blueprint: blueprint.yaml
        targets:
          hs: {type: hubspot}
        """), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if not line.startswith(" ")] == [
        "blueprint.yaml:5:22: warning: field opportunity.champion is a lookup, which HubSpot has no property for; sos "
        "leaves it out of HubSpot [hs-lookup]",
        "blueprint.yaml:6:5: error: field opportunity.hs_score becomes HubSpot property 'hs_score', which HubSpot "
        "does not allow [hs-property-name]",
        "blueprint.yaml:8:5: error: fields contact.region and lead.region both become the HubSpot contact property "
        "'region' [hs-property-name]",
        "blueprint.yaml:14:9: warning: stage new_business.demo has probability 25; HubSpot holds probabilities in "
        "tenths, so it gets 0.3 [hs-probability]",
        "blueprint.yaml: 2 errors, 2 warnings",
    ]
