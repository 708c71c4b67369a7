"""`renamed_from:` on Salesforce: renamed in place, so deals, leads and field values stay where they were.

What Salesforce does, as the emulator holds it (reference/salesforce.md §3.4 and §6; Metadata API Developer Guide,
renameMetadata()): a stage or lead status is a value of a standard value set whose fullName is what records store, so
sos keeps the value and changes its label and mark; a custom field and a validation rule are renamed with
renameMetadata, which keeps the component (its id) and a field's data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sos.engine import apply_plan, check_plan, export_plan, make_plan
from sos.plan.change import Action
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator

RENAMED = (SMALL
           .replace("    competitor: {type: text", "    rival: {renamed_from: competitor, type: text")
           .replace("require: [competitor]", "require: [rival]")
           .replace("{key: proposal, label: Proposal", "{key: solution, renamed_from: proposal, label: Solution")
           .replace("{key: working, label: Working}", "{key: contacted, renamed_from: working, label: Contacted}")
           .replace("  close_date_not_past:\n", "  close_date_ahead:\n    renamed_from: close_date_not_past\n"))


def test_renames_keep_the_orgs_records(emulator: SalesforceEmulator, applied: Project,
                                       make_project: Callable[..., Project]) -> None:
    org = emulator.org
    deals = org.seed_opportunities({"Proposal": 3, "Discovery": 2})
    for deal in deals[:2]:
        org.records["Opportunity"][deal]["Competitor__c"] = "Rival Inc"
    org.seed_leads({"Working": 2, "New": 1})
    field_id = org.get("CustomField", "Opportunity.Competitor__c").id  # type: ignore[union-attr]
    project = make_project(RENAMED)

    run = make_plan(project, project.target(None), impact=False)
    assert {(c.action, str(c.address), str(c.renamed_from)) for c in run.plan.changes if c.renamed_from} == {
        (Action.UPDATE, "field.opportunity.rival", "field.opportunity.competitor"),
        (Action.UPDATE, "stage.new_business.solution", "stage.new_business.proposal"),
        (Action.UPDATE, "stage_requirement.new_business.solution", "stage_requirement.new_business.proposal"),
        (Action.UPDATE, "lead_status.lead.contacted", "lead_status.lead.working"),
        (Action.UPDATE, "rule.opportunity.close_date_ahead", "rule.opportunity.close_date_not_past")}
    assert not any(c.action is Action.DELETE for c in run.plan.changes)
    assert [d.message for d in check_plan(project, run) if d.code == "sf-rename-keeps-value"] == [
        "stage solution keeps the Salesforce value 'Proposal' that its deals hold; reps see it as 'Solution'",
        "lead status contacted keeps the Salesforce value 'Working' that its leads hold; reps see it as 'Contacted'"]
    # `sos build` files cannot rename: they say which components a deploy of them would create beside the old ones.
    _, files = export_plan(project, project.target(None), run.desired, run.plan, fmt="mdapi", value_sets=False)
    assert [m.split(" is renamed from ")[0] for m in files.messages if " is renamed from " in m] == [
        "field.opportunity.rival", "stage_requirement.new_business.solution", "rule.opportunity.close_date_ahead"]
    assert apply_plan(project, run.backend, run.plan, run.desired).ok

    # The stage and status values records hold are the same values, shown under their new labels.
    assert Counter(r["StageName"] for r in org.records["Opportunity"].values()) == {"Proposal": 3, "Discovery": 2}
    assert Counter(r["Status"] for r in org.records["Lead"].values()) == {"Working": 2, "New": 1}
    stages = {v.full_name: v.label for v in org.value_set("OpportunityStage")}
    statuses = {v.full_name: v.label for v in org.value_set("LeadStatus")}
    assert (stages["Proposal"], statuses["Working"]) == ("Solution", "Contacted")
    # The field is the same field under its new name, with its data; the rules were renamed, not added.
    assert org.get("CustomField", "Opportunity.Competitor__c") is None
    assert org.get("CustomField", "Opportunity.Rival__c").id == field_id  # type: ignore[union-attr]
    assert [r.get("Rival__c") for r in org.records["Opportunity"].values()].count("Rival Inc") == 2
    rules = {c.full_name for c in org.of_type("ValidationRule", "Opportunity")}
    assert "Opportunity.Sos_Close_Date_Ahead" in rules and "Opportunity.Sos_Close_Date_Not_Past" not in rules
    assert len(rules) == 2      # the rule and the (renamed) requirement of the renamed stage

    assert make_plan(project, project.target(None), impact=False).plan.changes == ()
