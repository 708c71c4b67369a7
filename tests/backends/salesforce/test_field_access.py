"""Fields sos deploys are usable over the API: apply assigns its permission set to the user it runs as."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from sos.cli import cli
from sos.project import Project
from tests.backends.salesforce.conftest import SMALL
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.org import USER_ID


def test_apply_makes_its_fields_usable_by_the_api_user(emulator: SalesforceEmulator,
                                                       make_project: Callable[..., Project],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert emulator.field_security          # on, as in a real org
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 0, result.stderr
    assert ("Assigned permission set Sos_Managed_Fields to the user sos runs as; assign it to the people who work "
            "these records too") in result.stderr.splitlines()
    permission_set = emulator.org.get("PermissionSet", "Sos_Managed_Fields")
    assert permission_set is not None
    assignments = [a for a in emulator.org.records["PermissionSetAssignment"].values()
                   if a["PermissionSetId"] == permission_set.id]
    assert [a["AssigneeId"] for a in assignments] == [USER_ID]
    sf = emulator.client()
    created = sf.Opportunity.create({"Name": "Acme", "StageName": "Discovery", "CloseDate": "2031-01-01",
                                     "Competitor__c": "Globex"})
    row = sf.query(f"SELECT Competitor__c FROM Opportunity WHERE Id = '{created['id']}'")["records"][0]
    assert row["Competitor__c"] == "Globex"
    # A later apply that deploys the permission set again assigns nothing twice.
    with_notes = SMALL.replace("label: Budget}\n", "label: Budget}\n    champion: {type: text, label: Champion}\n")
    (project.root / "blueprint.yaml").write_text(with_notes, encoding="utf-8")
    again = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert again.exit_code == 0, again.stderr
    assert "Assigned permission set" not in again.stderr
    assert len(emulator.org.records["PermissionSetAssignment"]) == 1
    second = sf.Opportunity.create({"Name": "Globex", "StageName": "Discovery", "CloseDate": "2031-01-01",
                                    "Champion__c": "Dana"})
    assert sf.query(f"SELECT Champion__c FROM Opportunity WHERE Id = '{second['id']}'")["records"][0] == {
        "attributes": {"type": "Opportunity", "url": f"/services/data/v63.0/sobjects/Opportunity/{second['id']}"},
        "Champion__c": "Dana"}


def test_an_assignment_refused_leaves_the_apply_applied_and_says_what_to_do(
        emulator: SalesforceEmulator, make_project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(make_project(SMALL).root)
    emulator.faults.rate_limit(times=1, status=403, operations={"create"})
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("Apply complete: ")
    warning = next(line for line in result.stderr.splitlines() if line.startswith("Could not assign"))
    assert warning.startswith("Could not assign permission set Sos_Managed_Fields to the user sos runs as (")
    assert warning.endswith("); assign it in Setup → Permission Sets")
    assert emulator.org.get("CustomField", "Opportunity.Competitor__c") is not None
    assert emulator.org.records["PermissionSetAssignment"] == {}
