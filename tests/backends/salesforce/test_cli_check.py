"""`sos plan` and `sos apply` show what the org would refuse before anything is deployed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import jsonschema

import pytest
from click.testing import CliRunner

from sos.cli import cli
from sos.project import Project
from tests.backends.salesforce.conftest import REPO, SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child, kids

PROPOSAL = "      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}\n"
WITHOUT_PROPOSAL = SMALL.replace(PROPOSAL, "")
IN_USE = "3 deals are in stage Proposal, which this plan removes [stage-in-use]"


@pytest.fixture
def proposal_in_use(emulator: SalesforceEmulator, applied: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Applied SMALL, 3 deals in Proposal, then the blueprint drops the Proposal stage."""
    project = applied
    emulator.org.seed_opportunities({"Proposal": 3})
    (project.root / "blueprint.yaml").write_text(WITHOUT_PROPOSAL, encoding="utf-8")
    monkeypatch.chdir(project.root)
    return project


def test_plan_reports_deals_in_a_removed_stage(proposal_in_use: Project) -> None:
    result = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    assert result.exit_code == 1  # an error, as docs/plans.md says, not "changes"
    assert "  - stage.new_business.proposal" in result.stdout
    assert f"blueprint.yaml:8:3: error: {IN_USE}" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1] == ("error: Plan refused: target 'prod' would refuse this plan; see above "
                                              "[plan-refused]")


def test_every_plan_format_carries_the_checks(proposal_in_use: Project) -> None:
    plan = json.loads(CliRunner().invoke(cli, ["plan", "--format", "json"]).stdout)
    jsonschema.validate(plan, json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8")))
    assert [(c["severity"], c["code"], c["file"], c["line"]) for c in plan["checks"]] == [
        ("error", "stage-in-use", "blueprint.yaml", 8)]
    assert plan["checks"][0]["message"] == IN_USE.removesuffix(" [stage-in-use]")
    markdown = CliRunner().invoke(cli, ["plan", "--format", "markdown"]).stdout
    assert ("> [!CAUTION]\n> `sos apply` refuses this plan:\n> - `blueprint.yaml`:8: 3 deals are in stage Proposal, "
            "which this plan removes (`stage-in-use`). Fix: move those deals") in markdown


def test_plan_validate_fails_on_deals_in_a_removed_stage(proposal_in_use: Project,
                                                          emulator: SalesforceEmulator) -> None:
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["plan", "--validate"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("error: Validation failed: target 'prod' would refuse this plan; "
                                              "see above [validate-failed]")
    assert "deploy" not in emulator.calls


def test_apply_refuses_before_deploying(proposal_in_use: Project, emulator: SalesforceEmulator) -> None:
    before = process_stages(emulator)
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "--allow-delete"])
    assert result.exit_code == 1
    assert f"blueprint.yaml:8:3: error: {IN_USE}" in result.stderr.splitlines()
    assert "deploy" not in emulator.calls
    assert process_stages(emulator) == before and stage_active(emulator, "Proposal")


def process_stages(emulator: SalesforceEmulator) -> list[str]:
    """The stage values reps can choose in the New Business sales process, as the org holds it."""
    process = emulator.org.get("BusinessProcess", "Opportunity.New_Business")
    assert process is not None
    return [child(v, "fullName").text for v in kids(process.body, "values")]


def stage_active(emulator: SalesforceEmulator, name: str) -> bool:
    return next(v for v in emulator.org.value_set("OpportunityStage") if v.full_name == name).active


@pytest.mark.parametrize("saved", [[], ["plan.json"]], ids=["plan-and-apply", "saved-plan"])
def test_without_allow_delete_the_stage_stays_and_the_rest_applies(proposal_in_use: Project,
                                                                   emulator: SalesforceEmulator,
                                                                   saved: list[str]) -> None:
    before = process_stages(emulator)
    assert "Proposal" in before
    (proposal_in_use.root / "blueprint.yaml").write_text(
        WITHOUT_PROPOSAL.replace("label: Competitor", "label: Rival"), encoding="utf-8")
    if saved:   # the plan is refused as it stands (its deletion would strand 3 deals) and saved all the same
        planned = CliRunner().invoke(cli, ["plan", "-o", "plan.json"])
        assert planned.exit_code == 1 and "[stage-in-use]" in planned.stderr
        assert (proposal_in_use.root / "plan.json").is_file()
    result = CliRunner().invoke(cli, ["apply", *saved, "--auto-approve"])
    assert result.exit_code == 0, result.stderr
    assert "Skipping 2 deletions: pass --allow-delete to apply them (or set" in result.stderr  # the stage and its rule
    assert "stage-in-use" not in result.stderr
    assert process_stages(emulator) == before              # reps can still choose Proposal
    assert stage_active(emulator, "Proposal")
    field = emulator.org.get("CustomField", "Opportunity.Competitor__c")
    assert field is not None and child(field.body, "label").text == "Rival"      # the rest was applied
    assert emulator.org.usage("OpportunityStage")["proposal"] == 3


def test_a_saved_plan_is_checked_against_the_org_before_deploying(proposal_in_use: Project,
                                                                  emulator: SalesforceEmulator) -> None:
    assert CliRunner().invoke(cli, ["plan", "-o", "plan.json"]).exit_code == 1    # refused, and saved
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["apply", "plan.json", "--auto-approve", "--allow-delete"])
    assert result.exit_code == 1
    assert f"blueprint.yaml:8:1: error: {IN_USE}" in result.stderr.splitlines()  # saved plans keep file:line
    assert "deploy" not in emulator.calls


def test_plan_predicts_what_building_the_deploy_refuses(emulator: SalesforceEmulator,
                                                        make_project: Callable[..., Project],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    clash = SMALL.replace("    budget: {type: currency, label: Budget}\n",
                          "    budget: {type: currency, label: Budget}\n"
                          "    age: {type: number, label: Age, api_name: Sos_Days_In_Stage__c}\n")
    monkeypatch.chdir(make_project(clash).root)
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    assert result.exit_code == 1
    assert ("blueprint.yaml:7:5: error: field opportunity.age takes the name Sos_Days_In_Stage__c, which sos keeps "
            "for deal aging [reserved-name]") in result.stderr.splitlines()
    assert "deploy" not in emulator.calls


def test_a_build_from_a_saved_plan_keeps_the_stage_unless_deletions_are_allowed(proposal_in_use: Project) -> None:
    (proposal_in_use.root / "blueprint.yaml").write_text(
        WITHOUT_PROPOSAL.replace("label: Competitor", "label: Rival"), encoding="utf-8")
    assert CliRunner().invoke(cli, ["plan", "-o", "plan.json"]).exit_code == 1    # refused, saved all the same
    kept = CliRunner().invoke(cli, ["build", "--plan", "plan.json", "--out", "kept"])
    assert kept.exit_code == 0, kept.output
    assert kept.stderr.startswith("Skipping 2 deletions: pass --allow-delete to write them.\n")
    opportunity = (proposal_in_use.root / "kept" / "objects" / "Opportunity.object").read_text(encoding="utf-8")
    assert "<label>Rival</label>" in opportunity
    assert "<businessProcesses>" not in opportunity     # the sales process, Proposal included, is left as it is
    dropped = CliRunner().invoke(cli, ["build", "--plan", "plan.json", "--out", "dropped", "--allow-delete"])
    assert dropped.exit_code == 0, dropped.output
    opportunity = (proposal_in_use.root / "dropped" / "objects" / "Opportunity.object").read_text(encoding="utf-8")
    process = opportunity[opportunity.index("<businessProcesses>"):opportunity.index("</businessProcesses>")]
    assert re.findall(r"<values>\s*<fullName>([^<]*)</fullName>", process) == ["Discovery", "Closed Won",
                                                                                "Closed Lost"]
