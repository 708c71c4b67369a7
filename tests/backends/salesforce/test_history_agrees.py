"""History gives the same answers on the local sandbox and on the Salesforce emulator holding the same records and
the same past (issue 14's done-when, at the protocol level): the sandbox is seeded (`sos sandbox seed`), each deal
is loaded into the org WITH its past (created in its first stage, then moved stage by stage at the moments the
sandbox's field history says, by the user it names: tests/emulators/salesforce/loader.py), and so are its tasks;
then Salesforce's rows, stage changes and activities must equal the sandbox's record by record.

The sandbox's own History (sos/backends/local) is being written beside this test; until it is on main, the sandbox's
side is read here with SQL from its tables (the record tables, field_history, task), as that History reads them.
The seed keeps the stage history of deals only, so changes are compared for the stage."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Mapping

import pytest

from sos.backends.base import Activity, FieldChange
from sos.backends.local import LocalBackend
from sos.backends.salesforce.backend import SalesforceBackend
from sos.engine import desired_model
from sos.expr.types import Kind, Scope
from sos.model.exprs import model_scope
from sos.model.resources import Model
from sos.project import Project
from tests.backends.salesforce.test_audit_agrees import TODAY, both  # noqa: F401 - the fixture
from tests.backends.salesforce.test_records import naming
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.loader import Update, load_record
from tests.emulators.salesforce.org import USER_ID

SINCE = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
FIELDS = {"opportunity": ["name", "stage", "amount", "close_date", "owner", "forecast_category", "next_step",
                          "probability"],
          "lead": ["name", "company", "status", "owner", "email", "employees", "created_date"]}
SOBJECTS = {"opportunity": "Opportunity", "lead": "Lead"}
QUEUE_ID = "00GEm0000000001AAA"


def moment(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.UTC)


def salesforce_moment(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def in_history_terms(value: object, kind: Kind) -> object:
    """A sandbox value as History hands values out (base.History.rows)."""
    if value is None:
        return None
    if kind is Kind.DATE:
        return datetime.date.fromisoformat(str(value)[:10])
    if kind is Kind.DATETIME:
        return moment(str(value)) if isinstance(value, str) else value
    if kind is Kind.NUMBER:
        return float(str(value))
    return value


class Sandbox:
    """The seeded sandbox read with SQL."""

    def __init__(self, project: Project) -> None:
        self.path = LocalBackend(project.target("sandbox"), project.root).path

    def query(self, sql: str, *params: object) -> list[sqlite3.Row]:
        with sqlite3.connect(self.path) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(sql, params).fetchall()


def load_the_sandbox_into_the_org(sandbox: Sandbox, model: Model, emulator: SalesforceEmulator) -> dict[str, str]:
    """Every deal and lead with its stage history and tasks; the org's id of each sandbox record ("opportunity:7")."""
    org = emulator.org
    users = {str(u["username"]): org.add_user(str(u["username"])) for u in sandbox.query('SELECT * FROM "user"')}
    ids: dict[str, str] = {}
    for obj, sobject in SOBJECTS.items():
        scope, names = model_scope(model, obj), naming(model, obj)
        for row in sandbox.query(f"SELECT * FROM {obj} ORDER BY _id"):
            values = stored(dict(row), scope, names.fields, names.stage_values, names.status_values,
                            names.text_values.get("forecast_category", {}), users)
            stages = sandbox.query("SELECT old, new, who, at FROM field_history WHERE object = ? AND record = ? AND "
                                   "field = 'stage' ORDER BY at, _id", obj, row["_id"])
            created, by = str(row["created_date"]), users.get(str(row["owner"]), USER_ID)
            updates: list[Update] = []
            if stages:    # created in its first stage, then moved at each recorded moment
                values["StageName"] = names.stage_values[str(stages[0]["new"])]
                created, by = salesforce_moment(moment(stages[0]["at"])), users[str(stages[0]["who"])]
                updates = [(salesforce_moment(moment(s["at"])), users[str(s["who"])],
                            {"StageName": names.stage_values[str(s["new"])]}) for s in stages[1:]]
                final = {k: v for k, v in values.items() if k in ("ForecastCategoryName", "Probability")}
                if updates:
                    updates[-1][2].update(final)    # the category and probability the deal has now
            else:
                created = salesforce_moment(moment(created))
            ids[f"{obj}:{row['_id']}"] = load_record(org, sobject, values, created=created, by=by, updates=updates)
    for task in sandbox.query("SELECT * FROM task WHERE what_object = 'opportunity'"):
        org.add_task(str(task["subject"]), what_id=ids[f"opportunity:{task['what_id']}"],
                     activity_date=task["due_date"], closed=task["status"] == "completed",
                     owner_id=users[str(task["owner"])], created=salesforce_moment(moment(task["created_date"])),
                     completed=f"{task['completed_date']}T00:00:00.000Z" if task["completed_date"] else None)
    return ids


def stored(row: Mapping[str, object], scope: Scope, api_names: Mapping[str, str], stages: Mapping[str, str],
           statuses: Mapping[str, str], categories: Mapping[str, str], users: Mapping[str, str]) -> dict[str, object]:
    """A sandbox row as Salesforce stores the record, by API name (the fields FIELDS compares, and what it needs)."""
    values: dict[str, object] = {}
    for key, value in row.items():
        if key not in scope.fields or key not in api_names or value is None or key in ("created_date", "name"):
            continue
        kind = scope.fields[key].kind
        values[api_names[key]] = (stages[str(value)] if kind is Kind.STAGE else statuses[str(value)]
                                  if kind is Kind.LEAD_STATUS else users[str(value)] if kind is Kind.USER
                                  else categories[str(value)] if key == "forecast_category" else value)
    values["Name"] = row["name"]    # a lead's Name is Salesforce's compound of its first and last names
    if row.get("owner") is None:    # no rep owns it: in Salesforce a queue does, which has no username
        values["OwnerId"] = QUEUE_ID
    return values


@pytest.fixture
def loaded(both: Project, emulator: SalesforceEmulator) -> tuple[Project, Sandbox, dict[str, str]]:  # noqa: F811
    sandbox = Sandbox(both)
    with sqlite3.connect(sandbox.path) as connection:     # leads no rep owns, as a routing gap leaves them
        connection.execute("UPDATE lead SET owner = NULL WHERE _id % 10 = 0")
    return both, sandbox, load_the_sandbox_into_the_org(sandbox, desired_model(both), emulator)


def test_rows_agree_record_by_record(loaded: tuple[Project, Sandbox, dict[str, str]]) -> None:
    project, sandbox, ids = loaded
    model = desired_model(project)
    backend = SalesforceBackend(project.target("prod"), project.root)
    for obj, fields in FIELDS.items():
        scope = model_scope(model, obj)
        expected = {ids[f"{obj}:{row['_id']}"]: {key: in_history_terms(row[key], scope.fields[key].kind)
                                                  for key in fields}
                    for row in sandbox.query(f"SELECT * FROM {obj}")}
        if obj == "lead":     # Salesforce stamps a record's creation itself: compared where the loader set it
            for record in expected.values():
                record["created_date"] = record["created_date"].replace(microsecond=0)
        found = {str(r["id"]): {key: r[key] for key in fields}
                 for r in backend.rows(obj, fields, desired=model)}
        assert len(found) == len(expected) > 20
        assert found == expected


def test_stage_changes_and_tasks_agree_since_a_date(loaded: tuple[Project, Sandbox, dict[str, str]]) -> None:
    project, sandbox, ids = loaded
    backend = SalesforceBackend(project.target("prod"), project.root)
    expected = {FieldChange(ids[f"opportunity:{h['record']}"], "stage", h["old"], h["new"], moment(h["at"]), h["who"])
                for h in sandbox.query("SELECT * FROM field_history WHERE object = 'opportunity' AND field = 'stage'")
                if moment(h["at"]) >= SINCE}
    timeline = backend.changes("opportunity", ["stage"], SINCE, desired=desired_model(project))
    assert len(expected) > 10
    assert set(timeline.changes) == expected and len(timeline.changes) == len(expected)
    assert timeline.unavailable == {}

    tasks = [Activity("", ids[f"opportunity:{t['what_id']}"], t["subject"], t["owner"], moment(t["created_date"]),
                      datetime.date.fromisoformat(t["due_date"]) if t["due_date"] else None,
                      moment(f"{t['completed_date']}T00:00:00Z") if t["completed_date"] else None)
             for t in sandbox.query("SELECT * FROM task WHERE what_object = 'opportunity'")
             if moment(t["created_date"]) >= SINCE]
    found = [Activity("", a.record, a.subject, a.owner, a.created, a.due, a.completed)
             for a in backend.activities("opportunity", SINCE)]
    assert len(tasks) > 5
    assert sorted(found, key=repr) == sorted(tasks, key=repr)
