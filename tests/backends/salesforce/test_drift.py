"""What the Model alone would hide, made visible: drift in what sos manages, the package's notes, the org's own fields.

Drift: a rule switched off or its formula edited in Setup, the deal-aging formula or the permission set edited.
The read returns it as a reason (Live.drift), so the plan shows an update with that reason and no attribute
changed, the apply deploys sos's version again, and the next plan is empty. Notes: the default lead status the
blueprint takes from the org is a warning of `sos plan` (through check(), with no extra call) and of a saved plan's
apply.
Import: the org's own custom fields come back as unmanaged fields, which `sos apply --adopt` marks.
All through the real client against the emulator; the org is edited beside the API, as an admin in Setup would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import yaml
from click.testing import CliRunner
from lxml import etree

from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.names import rule_api_name
from sos.cli import cli
from sos.model.resources import Address, Kind
from sos.plan.change import Action, AttrChange
from sos.engine import apply_plan, make_plan
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child, md, set_text

MakeProject = Callable[..., Project]
MakeBackend = Callable[..., SalesforceBackend]
RULE = Address(Kind.RULE, "opportunity", "close_date_not_past")
RULE_NAME = f"Opportunity.{rule_api_name('close_date_not_past')}"
DEFAULT_NOTE = "warning: lead status 'New' becomes the default instead of 'Open - Not Contacted' [default-status]"
PLAN_CALLS = {"retrieve": 1, "checkRetrieveStatus": 1}


def applied(project: Project) -> None:
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok


def edit_in_setup(emulator: SalesforceEmulator, type_name: str, full_name: str,
                  edit: Callable[[etree._Element], None]) -> None:
    """Change a component in the org as an admin would in Setup: not through sos, not through its API calls."""
    component = emulator.org.get(type_name, full_name)
    assert component is not None, full_name
    body = copy.deepcopy(component.body)
    edit(body)
    emulator.org.put(type_name, full_name, body)


def changes_of(project: Project) -> list[tuple[Action, str, list[AttrChange], str | None]]:
    plan = make_plan(project, project.target(None)).plan
    return [(c.action, str(c.address), c.attr_changes, c.reason) for c in plan.changes]


def plan_exit(project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    return result.exit_code, result.stdout


# -- drift ---------------------------------------------------------------------------------------


def test_a_rule_switched_off_in_setup_is_planned_and_put_back(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    applied(project)
    edit_in_setup(emulator, "ValidationRule", RULE_NAME, lambda body: set_text(body, "active", False))
    emulator.calls.clear()
    assert changes_of(project) == [(Action.UPDATE, str(RULE), [], "rule switched off in Salesforce")]
    assert emulator.calls == PLAN_CALLS                                  # found in the one retrieve
    code, out = plan_exit(project, monkeypatch)
    assert code == 2
    assert "  ~ rule.opportunity.close_date_not_past" in out and "      # rule switched off in Salesforce" in out
    assert out.splitlines()[-1] == "Plan: 0 to add, 1 to change, 0 to delete."

    applied(project)
    rule = emulator.org.get("ValidationRule", RULE_NAME)
    assert rule is not None and child(rule.body, "active").text == "true"
    assert changes_of(project) == []
    assert plan_exit(project, monkeypatch)[0] == 0


def test_a_rule_formula_edited_in_setup_is_planned_and_put_back(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    rule = emulator.org.get("ValidationRule", RULE_NAME)
    assert rule is not None
    deployed = child(rule.body, "errorConditionFormula").text or ""
    assert "CloseDate >= TODAY()" in deployed
    # The comment sos reads the rule back from stays; only the condition is edited.
    edit_in_setup(emulator, "ValidationRule", RULE_NAME, lambda body: set_text(
        body, "errorConditionFormula", deployed.replace("CloseDate >= TODAY()", "CloseDate >= TODAY() - 30")))
    assert changes_of(project) == [
        (Action.UPDATE, str(RULE), [], "formula edited in Salesforce")]
    applied(project)
    rule = emulator.org.get("ValidationRule", RULE_NAME)
    assert rule is not None and child(rule.body, "errorConditionFormula").text == deployed
    assert changes_of(project) == []


def test_deal_aging_and_permission_set_edited_in_setup_are_planned_and_put_back(
        emulator: SalesforceEmulator, make_project: MakeProject) -> None:
    project = make_project(SMALL)
    applied(project)
    stale = emulator.org.get("CustomField", "Opportunity.Sos_Stale__c")
    assert stale is not None
    deployed = child(stale.body, "formula").text or ""
    edit_in_setup(emulator, "CustomField", "Opportunity.Sos_Stale__c",
                  lambda body: set_text(body, "formula", deployed.replace("> 14", "> 90")))

    def read_only(body: etree._Element) -> None:
        for permission in body.findall(md("fieldPermissions")):
            if child(permission, "field").text == "Opportunity.Competitor__c":
                set_text(permission, "editable", False)
    edit_in_setup(emulator, "PermissionSet", "Sos_Managed_Fields", read_only)

    assert changes_of(project) == [
        (Action.UPDATE, "field.opportunity.competitor", [], "read only in permission set Sos Managed Fields"),
        (Action.UPDATE, "pipeline.opportunity.new_business", [], "deal-aging fields edited in Salesforce")]
    applied(project)
    stale = emulator.org.get("CustomField", "Opportunity.Sos_Stale__c")
    assert stale is not None and child(stale.body, "formula").text == deployed
    assert changes_of(project) == []


def _without_competitor(body: etree._Element) -> None:
    for permission in body.findall(md("fieldPermissions")):
        if child(permission, "field").text == "Opportunity.Competitor__c":
            body.remove(permission)


def _with_another_grant(body: etree._Element) -> None:
    grant = etree.SubElement(body, md("fieldPermissions"))
    for name, value in (("editable", True), ("field", "Account.Region__c"), ("readable", True)):
        set_text(grant, name, value)


def _without_record_type(body: etree._Element) -> None:
    for visibility in body.findall(md("recordTypeVisibilities")):
        body.remove(visibility)


@pytest.mark.parametrize(("edit", "address", "drift"), [
    pytest.param(_without_competitor, "field.opportunity.competitor",
                 "no access in permission set Sos Managed Fields", id="field-removed"),
    pytest.param(_with_another_grant, "field.opportunity.budget",      # grants sos did not make: first managed field
                 "permission set Sos Managed Fields also grants Account.Region__c", id="grant-added"),
    pytest.param(_without_record_type, "pipeline.opportunity.new_business",
                 "record type not visible in permission set Sos Managed Fields", id="record-type-hidden"),
])
def test_permission_set_edits_are_planned_and_put_back(emulator: SalesforceEmulator, make_project: MakeProject,
                                                       edit: Callable[[etree._Element], None], address: str,
                                                       drift: str) -> None:
    project = make_project(SMALL)
    applied(project)
    deployed = emulator.org.get("PermissionSet", "Sos_Managed_Fields")
    assert deployed is not None
    before = etree.tostring(deployed.body)
    edit_in_setup(emulator, "PermissionSet", "Sos_Managed_Fields", edit)
    assert changes_of(project) == [(Action.UPDATE, address, [], drift)]
    applied(project)
    restored = emulator.org.get("PermissionSet", "Sos_Managed_Fields")
    assert restored is not None and etree.tostring(restored.body) == before
    assert changes_of(project) == []


def test_drift_is_not_written_by_import(emulator: SalesforceEmulator, make_project: MakeProject,
                                       backend_for: MakeBackend) -> None:
    """An imported blueprint holds the blueprint's words only; the plan after it shows the drift."""
    from sos.model.resources import Model

    project = make_project(SMALL)
    applied(project)
    edit_in_setup(emulator, "ValidationRule", RULE_NAME, lambda body: set_text(body, "active", False))
    live = backend_for(project).read(Model())
    rule = live.model.get(RULE)
    assert rule is not None and "active" not in rule.attrs and live.drift == {}


# -- the package's notes ---------------------------------------------------------------------------------


def test_plan_warns_that_the_default_lead_status_changes(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["plan", "--no-impact"])   # the impact counts cost calls of their own
    assert result.exit_code == 0, result.output
    assert f"blueprint.yaml:21:5: {DEFAULT_NOTE}" in result.stderr.splitlines()
    assert "  why: Salesforce has one default lead status, which every new lead starts in; the blueprint's takes " \
           "over from the org's" in result.stderr.splitlines()
    assert dict(emulator.calls) == PLAN_CALLS                  # check() found it in what the plan read

    validated = CliRunner().invoke(cli, ["plan", "--validate"])
    assert validated.exit_code == 0, validated.output
    assert sum(DEFAULT_NOTE in line for line in validated.stderr.splitlines()) == 1


def test_apply_warns_once_that_the_default_lead_status_changes(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if DEFAULT_NOTE in line] == [
        f"blueprint.yaml:21:5: {DEFAULT_NOTE}"]
    statuses = emulator.client().query("SELECT ApiName FROM LeadStatus WHERE IsDefault = true")["records"]
    assert [s["ApiName"] for s in statuses] == ["New"]


def test_a_saved_plan_says_so_when_applied(emulator: SalesforceEmulator, make_project: MakeProject,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The apply of a saved plan reads the org and checks the plan again before it deploys; it warns once."""
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    assert CliRunner().invoke(cli, ["plan", "-o", "plan.json"]).exit_code == 0
    emulator.calls.clear()
    result = CliRunner().invoke(cli, ["apply", "plan.json", "--auto-approve"])
    assert result.exit_code == 0, result.output
    # A saved plan keeps `file:line` origins, so the column is 1 here.
    assert [line for line in result.stderr.splitlines() if "[default-status]" in line] == [
        f"blueprint.yaml:21:1: {DEFAULT_NOTE}"]
    statuses = emulator.client().query("SELECT ApiName FROM LeadStatus WHERE IsDefault = true")["records"]
    assert [s["ApiName"] for s in statuses] == ["New"]


# -- import: the org's own fields --------------------------------------------------------------------


def org_field(emulator: SalesforceEmulator, full_name: str, **children: object) -> None:
    """A custom field made in Setup (no sos mark)."""
    body = etree.Element(md("CustomField"))
    for name, value in children.items():
        set_text(body, name, value)
    emulator.org.put("CustomField", full_name, body)


@pytest.fixture
def org_fields(emulator: SalesforceEmulator) -> None:
    org_field(emulator, "Opportunity.Competitor__c", label="Competitor", type="Text", length=80,
              description="Who else they are talking to.")
    org_field(emulator, "Lead.NPS_Score__c", label="NPS score", type="Number", precision=3, scale=0)
    org_field(emulator, "Opportunity.Amount__c", label="Contract amount", type="Currency", precision=16, scale=2)
    org_field(emulator, "Opportunity.Margin__c", label="Margin", type="Percent", precision=5, scale=2,
              formula="Amount / 100")
    org_field(emulator, "Contact.Badge__c", label="Badge", type="Text", length=20, unique=True)


def test_import_writes_the_orgs_own_fields_and_adopt_marks_them(
        emulator: SalesforceEmulator, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch,
        org_fields: None) -> None:
    project = make_project("sos: 1\nname: client\n")
    monkeypatch.chdir(project.root)
    imported = CliRunner().invoke(cli, ["import", "-o", "blueprint.yaml"])
    assert imported.exit_code == 0, imported.output
    assert imported.stderr.splitlines() == [
        "Retrieving the org's configuration… Succeeded",
        "Left out the org's field Contact.Badge__c: it is unique, which a blueprint field cannot say; sos cannot "
        "manage it",
        "Left out the org's field Opportunity.Margin__c: it is a formula field; sos cannot manage it",
        "Wrote blueprint.yaml: 3 resources from target 'prod'.",
        "3 of them were not created by sos. To manage them from now on, point sos.yaml's `blueprint:` at the "
        "imported file and run `sos apply --adopt`."]
    written = yaml.safe_load((project.root / "blueprint.yaml").read_text(encoding="utf-8"))
    assert written["fields"] == {
        "lead": {"nps_score": {"type": "number", "label": "NPS score", "precision": 3, "scale": 0,
                               "api_name": {"salesforce": "NPS_Score__c"}}},
        "opportunity": {
            "amount_custom": {"type": "currency", "label": "Contract amount", "precision": 16, "scale": 2,
                              "api_name": {"salesforce": "Amount__c"}},          # `amount` is the standard field's
            "competitor": {"type": "text", "label": "Competitor", "description": "Who else they are talking to.",
                           "length": 80}}}

    planned = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output
    assert "field.opportunity.competitor" in planned.stdout          # left alone until adopted
    adopting = make_plan(project, project.target(None), adopt=True).plan
    assert [(c.action, str(c.address), c.attr_changes) for c in adopting.changes] == [
        (Action.ADOPT, address, []) for address in (
            "field.lead.nps_score", "field.opportunity.amount_custom", "field.opportunity.competitor")]
    adopted = CliRunner().invoke(cli, ["apply", "--adopt", "--auto-approve"])
    assert adopted.exit_code == 0, adopted.output
    assert adopted.stdout.splitlines()[-1] == "Apply complete: 0 added, 0 changed, 0 deleted, 3 adopted."
    field = emulator.org.get("CustomField", "Lead.NPS_Score__c")
    assert field is not None
    assert child(field.body, "description").text == \
        'sos: managed (field lead.nps_score {"api_names": {"salesforce": "NPS_Score__c"}})'
    after = CliRunner().invoke(cli, ["plan", "--detailed-exitcode"])
    assert after.exit_code == 0, after.output
    assert "No changes. The CRM matches the blueprint." in after.stdout
    assert "Left alone" not in after.stdout


def test_a_normal_plan_does_not_list_the_orgs_fields(emulator: SalesforceEmulator, make_project: MakeProject,
                                                     backend_for: MakeBackend, org_fields: None) -> None:
    project = make_project(SMALL.replace("competitor:", "rival:").replace("require: [competitor]",
                                                                          "require: [rival]"))
    live = backend_for(project).read(make_plan(project, project.target(None)).desired).model
    assert [str(r.address) for r in live.of_kind(Kind.FIELD)] == []
    assert [str(u.address) for u in make_plan(project, project.target(None)).plan.unmanaged] == [
        "stage.new_business.lost", "stage.new_business.won"]        # the org's Closed Won/Lost; no field
