"""A plan that tightens a stage requirement on Salesforce says how many open deals it would newly block, counted
by the org (SOQL through Composite), and `sos audit` lists them: the expected numbers are worked out here from the
records the test puts in the org, by the blueprint's meaning (docs/language.md: a stage's `require` holds in that
stage, every later open stage and the won stages; on_stage_change blocks the next stage move)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.cli import cli
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator

# (name, stage label, competitor, budget, owner): the org's deals when the requirement is tightened.
DEALS = [
    ("Acme expansion", "Proposal", "Globex", None, "ana@acme.example"),       # newly blocked
    ("Initech pilot", "Proposal", "Globex", 5000, "ana@acme.example"),        # meets both
    ("Hooli renewal", "Proposal", None, None, "bo@acme.example"),             # already blocked: not "more"
    ("Stark rollout", "Closed Won", "Globex", None, "bo@acme.example"),       # closed: not in play
    ("Wayne intro", "Discovery", None, None, "cy@acme.example"),              # the requirement does not hold yet
    ("Umbrella upsell", "Proposal", "Soylent", None, "cy@acme.example"),      # newly blocked
]


def sos(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def org(make_project: Callable[..., Project], emulator: SalesforceEmulator,
        monkeypatch: pytest.MonkeyPatch) -> Path:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    code, _, stderr = sos("apply", "--auto-approve")
    assert code == 0, stderr
    users = {name: emulator.org.add_user(name) for name in sorted({deal[4] for deal in DEALS})}
    for name, stage, competitor, budget, owner in DEALS:
        emulator.org.add_record("Opportunity", {"Name": name, "StageName": stage, "CloseDate": "2027-03-01",
                                                "Competitor__c": competitor, "Budget__c": budget,
                                                "Amount": 1000, "OwnerId": users[owner]})
    blueprint = project.root / "blueprint.yaml"
    blueprint.write_text(blueprint.read_text(encoding="utf-8").replace(
        "require: [competitor]", "require: [competitor, budget]"), encoding="utf-8")
    return project.root


def test_a_tightened_requirement_shows_the_deals_it_newly_blocks(org: Path, emulator: SalesforceEmulator) -> None:
    newly = [d for d in DEALS if d[1] == "Proposal" and d[2] and d[3] is None]
    emulator.calls.clear()
    code, stdout, _ = sos("plan", "--format", "json")
    assert code == 0
    [change] = [c for c in json.loads(stdout)["changes"]
                if c["address"] == "stage_requirement.new_business.proposal"]
    assert (change["impact"]["records"], change["impact"]["owners"], change["impact"]["more"]) == (
        len(newly), len({d[4] for d in newly}), True)
    assert change["impact"]["sentence"] == "would block the next stage move of 2 more open deals (2 owners)"
    assert emulator.calls["composite"] == 1           # one check: one Composite call counts it

    _, text, _ = sos("plan", "--no-impact")
    assert "would block" not in text


def test_the_audit_lists_every_deal_that_breaks_it(org: Path) -> None:
    code, stdout, _ = sos("audit", "--format", "json")
    assert code == 2
    [check] = [c for c in json.loads(stdout)["checks"] if c["address"] == "stage_requirement.new_business.proposal"]
    # the blueprint's requirement (competitor only, as applied: the audit reads the blueprint, so both fields)
    broken = [d for d in DEALS if d[1] in ("Proposal", "Closed Won") and (d[2] is None or d[3] is None)]
    assert check["count"] == len(broken)
    assert sorted(o["name"] for o in check["worst"]) == sorted(d[0] for d in broken)
    assert all(o["url"].endswith("/view") and "/lightning/r/Opportunity/" in o["url"] for o in check["worst"])
