"""A saved plan edited between `sos plan` and `sos apply` (a CI artifact) never touches what the org made itself.

The org holds Partner__c, made in Setup (no sos mark). Whatever a plan says about it, the apply re-reads the
org's marks and refuses the whole plan before any deploy: the field keeps its label and gets no mark.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from sos.cli import cli
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child, md, set_text

PARTNER = "field.opportunity.partner"
THEIRS = {"label": "Partner", "length": 80, "type": "text"}


@pytest.fixture
def saved(emulator: SalesforceEmulator, applied: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """SMALL applied; the org's own Partner__c; a saved plan that relabels Budget."""
    project = applied
    body = etree.Element(md("CustomField"))
    for name, value in (("label", "Partner"), ("length", 80), ("type", "Text")):
        set_text(body, name, value)
    emulator.org.put("CustomField", "Opportunity.Partner__c", body)
    (project.root / "blueprint.yaml").write_text(SMALL.replace("label: Budget", "label: Budget (USD)"))
    monkeypatch.chdir(project.root)
    assert CliRunner().invoke(cli, ["plan", "-o", "plan.json"]).exit_code == 0
    return project


def edit_plan(action: str) -> None:
    """Add a change to plan.json, by hand, that `action`s the org's own field."""
    data = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    hijacked = {**THEIRS, "label": "Hijacked"}
    before, after = {"create": (None, hijacked), "delete": (THEIRS, None)}.get(action, (THEIRS, hijacked))
    data["changes"].append({"address": PARTNER, "action": action, "origin": None, "before": before,
                            "after": after, "attributes": [], "danger": None})
    Path("plan.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


CASES = [
    pytest.param("delete", ["--allow-delete"], "it deletes field.opportunity.partner, which sos did not create "
                 "(`--adopt` takes it under management)", id="delete"),
    pytest.param("update", [], "it changes field.opportunity.partner, which sos did not create (`--adopt` takes it "
                 "under management)", id="relabel"),
    pytest.param("create", [], "it creates field.opportunity.partner, which the CRM already holds (sos did not "
                 "create)", id="create-over"),
]


@pytest.mark.parametrize(("action", "flags", "why"), [*CASES, pytest.param(
    "adopt", ["--adopt"], "it adopts field.opportunity.partner, otherwise than the blueprint the plan was made from "
    "says", id="adopt-not-in-blueprint")])
def test_an_edited_plan_is_refused_and_the_orgs_field_kept(saved: Project, emulator: SalesforceEmulator,
                                                           action: str, flags: list[str], why: str) -> None:
    edit_plan(action)
    assert_refused(emulator, flags, why)


@pytest.mark.parametrize(("action", "flags", "why"), CASES)
def test_in_a_fresh_checkout_the_orgs_marks_alone_refuse_it(saved: Project, emulator: SalesforceEmulator,
                                                            action: str, flags: list[str], why: str) -> None:
    """The apply job's checkout has no .sos/ from the plan job: the org's marks are all there is to go by."""
    edit_plan(action)
    shutil.rmtree(saved.root / ".sos")
    assert_refused(emulator, flags, why)


def assert_refused(emulator: SalesforceEmulator, flags: list[str], why: str) -> None:
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["apply", "plan.json", "--auto-approve", *flags])
    assert result.exit_code == 1, result.output
    edited_line = plan_line(f'"address": "{PARTNER}"')
    assert f"plan.json:{edited_line}:7: error: this plan cannot be applied: {why} [plan-mismatch]" \
        in result.stderr.splitlines()
    assert "deploy" not in emulator.calls
    field = emulator.org.get("CustomField", "Opportunity.Partner__c")
    assert field is not None and child(field.body, "label").text == "Partner"
    assert child(field.body, "description") is None                      # no sos mark
    budget = emulator.org.get("CustomField", "Opportunity.Budget__c")
    assert budget is not None and child(budget.body, "label").text == "Budget"   # nothing of the plan applied


def plan_line(text: str) -> int:
    """The line of plan.json that holds `text`."""
    lines = Path("plan.json").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_a_plan_that_adopts_needs_adopt_at_apply_time(saved: Project, emulator: SalesforceEmulator) -> None:
    edit_plan("adopt")
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["apply", "plan.json", "--auto-approve"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("error: plan.json takes 1 component sos did not create under "
                                              "management; pass --adopt to apply it [plan-adopts]")
    assert emulator.calls == {}
