"""Each starter and the acme example, resolved, against tests/golden/resolved/<case>.yaml.

Refresh with `pytest tests/blueprint/test_golden.py --update-golden` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sos.blueprint.dump import blueprint_to_data, dump_yaml
from sos.blueprint.load import load_blueprint
from sos.resources import starter_names, starters_dir

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "resolved"

CASES = {**{name: starters_dir() / f"{name}.yaml" for name in starter_names()},
         "acme": ROOT / "examples" / "acme" / "blueprint.yaml"}


def resolved(path: Path) -> str:
    blueprint, diagnostics = load_blueprint(path)
    assert [d.headline() for d in diagnostics if d.code != "placeholder-domain"] == []
    assert blueprint is not None
    return dump_yaml(blueprint_to_data(blueprint))


@pytest.mark.parametrize("case", sorted(CASES))
def test_resolved_blueprint(case: str, update_golden: bool) -> None:
    text = resolved(CASES[case])
    golden = GOLDEN / f"{case}.yaml"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"no golden file for {case}: run pytest --update-golden and review it"
    assert text == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.yaml")) == sorted(CASES)


def test_the_four_starters_are_covered() -> None:
    assert starter_names() == ["b2b-saas-meddicc", "plg-inbound", "services-agency", "smb-bant"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_resolved_blueprint_loads_back_the_same(case: str, tmp_path: Path) -> None:
    """`sos show` output is a standalone blueprint: loading it again resolves to the same thing."""
    text = resolved(CASES[case])
    again = tmp_path / "resolved.yaml"
    again.write_text(text, encoding="utf-8")
    assert resolved(again) == text


def test_acme_golden_shows_its_changes() -> None:
    """Read the golden file as a reviewer would: acme's overrides are there, the starter's rest too."""
    acme = yaml.safe_load((GOLDEN / "acme.yaml").read_text(encoding="utf-8"))
    stages = acme["pipelines"]["new_business"]["stages"]
    by_key = {s["key"]: s for s in stages}
    assert [s["key"] for s in stages] == [
        "discovery", "qualification", "solution_validation", "site_pilot", "proposal", "negotiation",
        "contracting", "closed_won", "closed_lost", "disqualified"]
    negotiation = {k: v for k, v in by_key["negotiation"].items() if k != "description"}
    assert negotiation == {"key": "negotiation", "label": "Negotiation", "probability": 65, "forecast": "best_case",
                           "outcome": "open", "max_days": 30, "require": ["contract_term_months", "signatory"],
                           "enforce": "on_stage_change"}
    assert by_key["site_pilot"]["probability"] == 45
    assert by_key["closed_won"]["forecast"] == "closed"
    assert "nurture_recycle" not in acme["cadences"]
    assert "emea_territory" not in [r["key"] for r in acme["routing"]]
    assert acme["routing"][-1]["key"] == "catch_all"
    assert "pilot_dates_valid" in acme["rules"]
    assert acme["fields"]["lead"]["warehouse_count"]["precision"] == 4
    assert acme["name"] == "acme"
    meddicc = yaml.safe_load((GOLDEN / "b2b-saas-meddicc.yaml").read_text(encoding="utf-8"))
    starter_negotiation = {s["key"]: s for s in meddicc["pipelines"]["new_business"]["stages"]}["negotiation"]
    assert (starter_negotiation["probability"], starter_negotiation["max_days"]) == (70, 21)
    assert by_key["negotiation"]["description"] == starter_negotiation["description"]  # inherited
    assert set(meddicc["fields"]["opportunity"]) < set(acme["fields"]["opportunity"])


@pytest.mark.parametrize("name", starter_names())
def test_a_starter_warns_once_that_its_team_is_a_placeholder(name: str) -> None:
    _, diagnostics = load_blueprint(starters_dir() / f"{name}.yaml")
    assert [d.code for d in diagnostics] == ["placeholder-domain"]
    assert "example.com" in diagnostics[0].message
