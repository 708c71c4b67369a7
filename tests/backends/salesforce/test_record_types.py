"""Values a deploy adds to a picklist reach the pipelines' record types (reference, facts table 6)."""

from __future__ import annotations

from collections.abc import Callable

from sos.engine import apply_plan, make_plan
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import kids, text

WITH_REASON = SMALL.replace("    budget: {type: currency, label: Budget}\n",
                            "    budget: {type: currency, label: Budget}\n"
                            "    loss_reason: {type: picklist, label: Loss reason, values: [Price, Timing]}\n")


def offered(emulator: SalesforceEmulator) -> dict[str, list[str]]:
    """Per picklist, the values the New_Business record type offers (read beside the backend, not through it)."""
    record_type = emulator.org.get("RecordType", "Opportunity.New_Business")
    assert record_type is not None
    return {text(p, "picklist") or "": [text(v, "fullName") or "" for v in kids(p, "values")]
            for p in kids(record_type.body, "picklistValues")}


def apply(project: Project) -> None:
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok


def test_a_value_added_later_reaches_the_record_type(emulator: SalesforceEmulator,
                                                     make_project: Callable[..., Project]) -> None:
    project = make_project(WITH_REASON)
    apply(project)
    assert offered(emulator) == {"Loss_Reason__c": ["Price", "Timing"]}
    (project.root / "blueprint.yaml").write_text(WITH_REASON.replace("[Price, Timing]", "[Price, Timing, Competitor]"),
                                                 encoding="utf-8")
    apply(project)          # only the field changes in the plan; the record type travels with it
    assert offered(emulator) == {"Loss_Reason__c": ["Price", "Timing", "Competitor"]}
    assert make_plan(project, project.target(None)).plan.changes == ()



def test_a_record_type_missing_values_shows_as_drift_and_apply_restores_them(
        emulator: SalesforceEmulator, make_project: Callable[..., Project]) -> None:
    project = make_project(WITH_REASON)
    apply(project)
    record_type = emulator.org.get("RecordType", "Opportunity.New_Business")
    assert record_type is not None
    for picklist in kids(record_type.body, "picklistValues"):    # as an older sos left them, or an admin in Setup
        record_type.body.remove(picklist)
    plan = make_plan(project, project.target(None)).plan
    assert [(str(c.address), c.attr_changes, c.reason) for c in plan.changes] == [
        ("pipeline.opportunity.new_business", [], "record type does not offer Price, Timing of Loss_Reason__c")]
    apply(project)
    assert offered(emulator) == {"Loss_Reason__c": ["Price", "Timing"]}
