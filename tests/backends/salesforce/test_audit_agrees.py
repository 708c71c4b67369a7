"""`sos audit` gives the same answers on the local sandbox and on the Salesforce emulator holding the same records:
the sandbox is seeded (`sos sandbox seed`), its records are copied into the org as Salesforce stores them, and the
two audits' JSON reports must agree check by check (counts, by owner, by stage, the worst offenders' names)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from sos.backends.local import LocalBackend
from sos.engine import desired_model
from sos.expr.types import Kind, Scope
from sos.model.exprs import model_scope
from sos.project import Project, load_project
from tests.backends.salesforce.conftest import SMALL
from tests.backends.salesforce.test_impact import sos
from tests.backends.salesforce.test_records import OBJECTS, naming, salesforce_row
from tests.emulators.salesforce import SalesforceEmulator

TODAY = datetime.date(2026, 12, 4)


@pytest.fixture
def both(make_project: Callable[..., Project], emulator: SalesforceEmulator,
         monkeypatch: pytest.MonkeyPatch) -> Project:
    """SMALL applied to the org (target prod) and to a sandbox (target sandbox) seeded with 300 deals."""
    project = make_project(SMALL)
    monkeypatch.chdir(project.root)
    with (project.root / "sos.yaml").open("a", encoding="utf-8") as out:
        out.write("  sandbox: {type: local}\ndefault_target: prod\n")
    for target in ("prod", "sandbox"):
        code, _, stderr = sos("apply", "--auto-approve", "--target", target)
        assert code == 0, stderr
    code, _, stderr = sos("sandbox", "seed", "--deals", "300", "--seed", "11", "--today", TODAY.isoformat(),
                          "--target", "sandbox")
    assert code == 0, stderr
    return load_project(project.root / "sos.yaml")


def copy_into_the_org(project: Project, emulator: SalesforceEmulator) -> int:
    """The sandbox's deals and leads, written into the org as Salesforce stores them; how many."""
    model = desired_model(project)
    sandbox = LocalBackend(project.target("sandbox"), project.root)
    users: dict[str, str] = {}
    copied = 0
    for obj, sobject in OBJECTS.items():
        scope, names = model_scope(model, obj), naming(model, obj)
        for record in sandbox.records(obj, today=TODAY):
            owner = record.get("owner")
            if owner is not None and owner not in users:
                users[str(owner)] = emulator.org.add_user(str(owner))
            if obj == "opportunity":   # entered its stage at noon GMT, days_in_stage days ago
                days = int(record.get("days_in_stage") or 0)
                record = {**record, "_entered": datetime.datetime.combine(
                    TODAY - datetime.timedelta(days=days), datetime.time(12))}
            emulator.org.add_record(sobject, salesforce_row(typed(record, scope), scope, names, users))
            copied += 1
    return copied


def typed(record: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """The record with its dates and moments as Python values (the sandbox reads them back as ISO text)."""
    parse = {Kind.DATE: datetime.date.fromisoformat,
             Kind.DATETIME: lambda text: datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(
                 tzinfo=None)}
    return {key: parse[scope.fields[key].kind](value) if isinstance(value, str) and key in scope.fields
            and scope.fields[key].kind in parse else value for key, value in record.items()}


def essentials(report: dict[str, Any]) -> dict[str, Any]:
    """What both CRMs must agree on, check by check: not ids or links, which are each CRM's own."""
    return {c["address"]: (c["count"], c["by_owner"], c["by_stage"], sorted(o["name"] for o in c["worst"]),
                           c["unsupported"]) for c in report["checks"]}


def test_the_sandbox_and_salesforce_find_the_same_problems(both: Project, emulator: SalesforceEmulator) -> None:
    copied = copy_into_the_org(both, emulator)
    assert copied > 300
    reports = {}
    for target in ("sandbox", "prod"):
        code, stdout, stderr = sos("audit", "--target", target, "--format", "json", "--top", "5",
                                   "--today", TODAY.isoformat())
        assert code == 2, stderr
        reports[target] = json.loads(stdout)
    sandbox, org = essentials(reports["sandbox"]), essentials(reports["prod"])
    assert sandbox == org
    assert reports["sandbox"]["found"] == reports["prod"]["found"] > 0
    assert sum(1 for found in sandbox.values() if found[0]) >= 3        # the seeded dirt breaks several checks
