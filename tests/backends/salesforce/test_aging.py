"""Deal aging follows the blueprint's max_days to the end: with no limit left, Sos_Stale__c ticks no deal.

The fields stay once made (Salesforce refuses to delete Sos_Days_In_Stage__c while Sos_Stale__c's formula uses
it, and reports may be built on them); removing the last limit, or the last stage that had one, deploys.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from sos.engine import apply_plan, make_plan
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.xmlutil import child

NO_LIMIT = SMALL.replace(", max_days: 14", "")
NO_AGED_STAGE = SMALL.replace("      - {key: discovery, label: Discovery, probability: 10, max_days: 14}\n", "")


def apply(project: Project, blueprint: str) -> None:
    (project.root / "blueprint.yaml").write_text(blueprint, encoding="utf-8")
    run = make_plan(project, project.target(None))
    result = apply_plan(project, run.backend, run.plan, run.desired)
    assert result.ok, result.failed
    assert make_plan(project, project.target(None)).plan.changes == ()


def formula(emulator: SalesforceEmulator, name: str) -> str | None:
    field = emulator.org.get("CustomField", f"Opportunity.{name}")
    return None if field is None else child(field.body, "formula").text


@pytest.mark.parametrize("blueprint", [NO_LIMIT, NO_AGED_STAGE], ids=["max-days-removed", "aged-stage-removed"])
def test_with_no_max_days_left_no_deal_is_stale(emulator: SalesforceEmulator, make_project: Callable[..., Project],
                                                blueprint: str) -> None:
    project = make_project(SMALL)
    apply(project, SMALL)
    assert "'Discovery', IF(Sos_Days_In_Stage__c > 14, 1, 0)" in formula(emulator, "Sos_Stale__c")
    days = formula(emulator, "Sos_Days_In_Stage__c")
    apply(project, blueprint)            # the removed stage goes too: apply_plan applies the whole plan
    assert formula(emulator, "Sos_Stale__c") == "FALSE"
    assert formula(emulator, "Sos_Days_In_Stage__c") == days
    permissions = emulator.org.get("PermissionSet", "Sos_Managed_Fields")
    assert permissions is not None and b"Opportunity.Sos_Stale__c" in etree.tostring(permissions.body)

