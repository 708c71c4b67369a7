"""`renamed_from:` on the sandbox: planned as renames, applied in place, records kept, then a no-op with a warning."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.resources import starters_dir

STARTER = yaml.safe_load((starters_dir() / "smb-bant.yaml").read_text(encoding="utf-8"))

# A client of smb-bant renaming four things the starter has (each removed, then added under its new key).
RENAMES = {
    "remove": {"fields": {"opportunity": ["budget_range"]}, "stages": {"new_business": ["demo"]},
               "lead_statuses": ["nurture"], "rules": ["close_date_within_60_days"]},
    "fields": {"opportunity": {"budget_band": {**STARTER["fields"]["opportunity"]["budget_range"],
                                               "renamed_from": "budget_range"}}},
    "pipelines": {"new_business": {"stages": [
        {**next(s for s in STARTER["pipelines"]["new_business"]["stages"] if s["key"] == "demo"),
         "key": "product_demo", "label": "Product demo", "renamed_from": "demo", "after": "discovery_call"}]}},
    "lead_statuses": [{**next(s for s in STARTER["lead_statuses"] if s["key"] == "nurture"),
                       "key": "long_term", "renamed_from": "nurture", "after": "working"}],
    "rules": {"close_within_60_days": {**STARTER["rules"]["close_date_within_60_days"],
                                       "renamed_from": "close_date_within_60_days"}},
}


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def held(db: Path, band: str) -> dict[str, Any]:
    """What the sandbox's records hold, counted straight from its file: deals by stage, leads by status, and the
    budget band of every deal (in the column `band`)."""
    with sqlite3.connect(db) as connection:
        return {"stages": dict(connection.execute("SELECT stage, count(*) FROM opportunity GROUP BY stage")),
                "statuses": dict(connection.execute("SELECT status, count(*) FROM lead GROUP BY status")),
                "bands": [row[0] for row in connection.execute(f"SELECT {band} FROM opportunity ORDER BY _id")]}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    assert sos("init", "acme", "--starter", "smb-bant", "--name", "acme").exit_code == 0
    monkeypatch.chdir(tmp_path / "acme")
    assert sos("apply", "--auto-approve").exit_code == 0
    assert sos("sandbox", "seed", "--deals", "30").exit_code == 0
    return tmp_path / "acme"


def test_renames_are_applied_in_place_and_records_keep_their_values(client: Path) -> None:
    db = client / ".sos" / "sandbox.db"
    before = held(db, "budget_range")
    assert before["stages"]["demo"] and before["statuses"]["nurture"] and any(before["bands"])  # what the seed holds
    with (client / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write(yaml.safe_dump(RENAMES, sort_keys=False))

    shown = yaml.safe_load(sos("show").stdout)       # the resolved blueprint keeps each rename
    assert [s.get("renamed_from") for s in shown["pipelines"]["new_business"]["stages"]].count("demo") == 1
    assert shown["fields"]["opportunity"]["budget_band"]["renamed_from"] == "budget_range"

    plan = json.loads(sos("plan", "--format", "json").stdout)
    renamed = {c["address"]: c["renamed_from"] for c in plan["changes"] if c["renamed_from"]}
    assert renamed == {
        "field.opportunity.budget_band": "field.opportunity.budget_range",
        "stage.new_business.product_demo": "stage.new_business.demo",
        "stage_requirement.new_business.product_demo": "stage_requirement.new_business.demo",
        "lead_status.lead.long_term": "lead_status.lead.nurture",
        "rule.opportunity.close_within_60_days": "rule.opportunity.close_date_within_60_days"}
    assert {c["action"] for c in plan["changes"]} == {"update"}          # no deletion, no creation
    text = sos("plan").stdout
    assert "  ~ stage.new_business.product_demo" in text and "# renamed from stage.new_business.demo" in text

    assert sos("apply", "--auto-approve").exit_code == 0
    stages, statuses = dict(before["stages"]), dict(before["statuses"])
    stages["product_demo"], statuses["long_term"] = stages.pop("demo"), statuses.pop("nurture")
    assert held(db, "budget_band") == {"stages": stages, "statuses": statuses, "bands": before["bands"]}

    again = sos("plan")
    assert again.stdout.strip() == "No changes. The CRM matches the blueprint."
    lines = (client / "blueprint.yaml").read_text(encoding="utf-8").splitlines()
    line, text = next((n, s) for n, s in enumerate(lines, 1) if s.strip() == "renamed_from: demo")
    assert (f"blueprint.yaml:{line}:{text.index('demo') + 1}: warning: stage product_demo is renamed from demo in "
            "target 'sandbox' already [rename-done]") in again.stderr
    assert again.stderr.count("[rename-done]") == 4
