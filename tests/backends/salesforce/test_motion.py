"""A client switching motion: the blueprint moves from one starter to another, the org holding the first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.lower import build_package
from sos.backends.salesforce.names import rule_api_name
from sos.cli import cli
from sos.errors import SosError
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change
from sos.engine import apply_plan, desired_model, make_plan
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL, blueprint_text, plan_for
from tests.backends.salesforce.staff import staff
from tests.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def switched(emulator: SalesforceEmulator, make_project: Callable[..., Project],
             monkeypatch: pytest.MonkeyPatch) -> Project:
    """b2b-saas-meddicc applied (its Qualification and Closed stages are the org's own values), then the blueprint
    moves to smb-bant, which has neither its stages nor its rules."""
    project = make_project(blueprint_text("b2b-saas-meddicc"))
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    (project.root / "blueprint.yaml").write_text(blueprint_text("smb-bant"), encoding="utf-8")
    staff(emulator, project)
    monkeypatch.chdir(project.root)
    return project


def test_switching_motion_plans_and_applies_without_deleting(switched: Project, emulator: SalesforceEmulator) -> None:
    plan = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    assert plan.exit_code == 2, plan.stderr
    assert ": error: " not in plan.stderr
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("Apply complete: ")
    active = {v.full_name for v in emulator.org.value_set("OpportunityStage") if v.active}
    assert {"Discovery call", "Qualification", "Closed Won", "Closed Lost"} <= active   # none deactivated
    kept = emulator.org.get("ValidationRule", f"Opportunity.{rule_api_name('new_business__qualification__required')}")
    assert kept is not None   # meddicc's rule stays until --allow-delete


@pytest.mark.parametrize(("value_set", "blamed", "spared"), [
    pytest.param("OpportunityStage", {Kind.STAGE, Kind.PIPELINE}, Kind.LEAD_STATUS, id="stages"),
    pytest.param("LeadStatus", {Kind.LEAD_STATUS}, Kind.STAGE, id="lead-statuses"),
])
def test_a_value_set_failure_is_blamed_on_its_own_resources(
        emulator: SalesforceEmulator, make_project: Callable[..., Project],
        backend_for: Callable[..., SalesforceBackend], value_set: str, blamed: set[Kind], spared: Kind) -> None:
    project = make_project(SMALL)
    backend = backend_for(project)
    plan = plan_for(project, backend)
    emulator.faults.fail_component(value_set, "Picklist value is not valid", type_name="StandardValueSet")
    result = backend.apply(plan, desired_model(project))
    rejected = {a.kind for a, why in result.failed.items() if "Salesforce rejected" in why}
    assert rejected == blamed
    assert {why for a, why in result.failed.items() if a.kind is spared} == {
        "not applied: rolled back because another component failed"}
    assert emulator.org.of_type("CustomField") == []     # rolled back: nothing applied


def test_a_rule_kept_in_the_org_that_cannot_be_written_again_says_what_to_do() -> None:
    rule = Address(Kind.STAGE_REQUIREMENT, "new_business", "discovery")
    attrs = {"fields": ["amount"], "stages": ["qualification"], "message": "Amount, please."}
    desired = Model({rule: Resource(rule, attrs)})          # no origin: the org's, not the blueprint's
    with pytest.raises(SosError) as caught:
        build_package(desired, [Change(rule, Action.UPDATE, attrs, attrs)], None, allow_delete=False)
    assert [d.headline() for d in caught.value.diagnostics] == [
        "error: the required fields of stage discovery (pipeline new_business), which sos made in the org and the "
        "blueprint no longer has, "
        "cannot be deployed again: no Salesforce stage value is known for stage 'qualification' [unsupported]"]
    assert caught.value.diagnostics[0].fix == ("apply with --allow-delete to remove it from the org, or put it "
                                               "back in the blueprint")
