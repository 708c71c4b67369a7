"""`sos review`, `sos forecast` and `sos trace` give the same reports on the seeded sandbox and on the HubSpot emulator
loaded with the same records and the same past (issue 14's done-when, as tests/backends/salesforce/
test_reports_agree.py proves it for Salesforce): every deal and lead (a contact) is created at its moment by its
owner with the values it had then, and saved again at each change the sandbox's field_history holds of a field the
reports read (deals: stage, amount, close date, forecast category, owner, next step; leads: status, owner), at its
moment and by its user, as versions of its properties' history (tests/emulators/hubspot/loader.py); a converted lead
is associated with its deal; the tasks on deals and leads are task records associated with them. The reports are
then compared as JSON, each HubSpot id read as the sandbox id it was loaded from.

What HubSpot says differently, by design (sos/backends/hubspot/history.py):
- a lead's source: HubSpot contacts hold no lead source (hs_analytics_source, "Original source", is HubSpot's own
  classification of the traffic a contact came from, set by HubSpot), so the trace shows none;
- a change made by sos's own automation (a routing rule, `who` "sos" in the sandbox) is, in HubSpot, a change no
  user made (a workflow's or an integration's): it has no user.
Only the first differs in the reports; the test says so below.

HubSpot's semantics read for the loader and the expectations: the CRM objects guides ("propertiesWithHistory"), the
owners guide (owner `id` in hubspot_owner_id, `userId` in a version's updatedByUserId), the tasks guide
(hs_timestamp, hs_task_subject, hs_task_status, associations)."""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sos.backends.hubspot.backend import HubSpotBackend
from sos.engine import desired_model
from sos.project import Project, load_project
from sos.reports.common import stages_of
from tests.backends.hubspot.test_backend import SMALL, deal_pipeline, sos
from tests.backends.salesforce.test_audit_agrees import TODAY
from tests.backends.salesforce.test_history_agrees import Sandbox, moment
from tests.backends.salesforce.test_reports_agree import (REPORTS, last_stage_changes, run, stage_entries,
                                                          without_links)
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.limits import wall_clock
from tests.emulators.hubspot.loader import Update, load_record

# the cadence the trace measures first touches against: HubSpot is not given it (sos writes no workflows), but the
# sandbox's seed makes its tasks, which are loaded into the portal as task records like any other
SPEED_TO_LEAD = """\
cadences:
  first_touch:
    trigger: {record_created: lead}
    action:
      create_task: {assign_to: owner, subject: "First touch: call now", due_in_hours: 4}
"""
# sos field → the HubSpot property that holds it (HubSpot's default deal and contact properties)
DEAL_PROPERTIES = {"name": "dealname", "amount": "amount", "close_date": "closedate", "stage": "dealstage",
                   "owner": "hubspot_owner_id", "next_step": "hs_next_step",
                   "forecast_category": "hs_manual_forecast_category", "last_activity_date": "notes_last_updated"}
LEAD_PROPERTIES = {"company": "company", "status": "hs_lead_status", "owner": "hubspot_owner_id",
                   "email": "email"}
# the sandbox's forecast categories as hs_manual_forecast_category's values (HubSpot's knowledge base, "Forecast
# category")
CATEGORIES = {"omitted": "OMIT", "pipeline": "PIPELINE", "best_case": "BEST_CASE", "commit": "COMMIT",
              "closed": "CLOSED"}
REPLAYED = {"opportunity": ("stage", "amount", "close_date", "forecast_category", "owner", "next_step"),
            "lead": ("status", "owner")}
Loaded = tuple[Project, HubSpotEmulator, dict[str, str]]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """SMALL applied to the portal (target hs) and to a sandbox seeded with 200 deals, whose records and past are
    then loaded into the portal; the portal's id of each sandbox record ("opportunity:7")."""
    # enterprise: 190 calls per 10 s, as the apply and three reports' reads come within seconds on the wall clock
    with HubSpotEmulator(clock=wall_clock, tier="enterprise") as hub, pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("client")
        (root / "blueprint.yaml").write_text(SMALL + SPEED_TO_LEAD, encoding="utf-8")
        (root / "sos.yaml").write_text(
            f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  hs: {{type: hubspot, api_url: "{hub.api_url}", '
            f'portal_id: {hub.portal_id}}}\n  sandbox: {{type: local}}\ndefault_target: hs\n', encoding="utf-8")
        patch.setenv("HUBSPOT_ACCESS_TOKEN", hub.access_token)
        patch.chdir(root)
        for target in ("hs", "sandbox"):
            sos("apply", "--auto-approve", "--target", target)
        sos("sandbox", "seed", "--deals", "200", "--seed", "11", "--today", TODAY.isoformat(), "--target", "sandbox")
        project = load_project(Path(root) / "sos.yaml")
        sandbox = Sandbox(project)
        with sqlite3.connect(sandbox.path) as connection:   # leads no route matched: owned by no one since created
            connection.execute("UPDATE lead SET owner = NULL WHERE _id % 10 = 0")
            connection.execute("DELETE FROM field_history WHERE object = 'lead' AND field = 'owner' AND "
                               "record % 10 = 0")
        ids = load_into_the_portal(sandbox, project, hub)
        # a rep who left: HubSpot archives the owner of a deactivated user, who still owns deals and made changes
        hub.portal.deactivate_owner(hub.portal.owners[0]["id"])
        hub.calls.clear()
        yield project, hub, ids
        assert hub.internal_errors == []


def load_into_the_portal(sandbox: Sandbox, project: Project, hub: HubSpotEmulator) -> dict[str, str]:
    """Every deal, then every lead (associated with the deal it became), then the tasks on them."""
    portal, model = hub.portal, desired_model(project)
    users = {str(u["username"]): portal.add_owner(str(u["username"])) for u in sandbox.query('SELECT * FROM "user"')}
    pipeline = deal_pipeline(hub, "New business")
    stage_ids = {s["label"]: s["id"] for s in pipeline["stages"].values()}
    stages = {key: stage_ids[stage.label] for key, stage in stages_of(model).items()}

    def deal(values: Mapping[str, object]) -> dict[str, object]:
        found: dict[str, object] = {"pipeline": pipeline["id"]}
        for key, name in DEAL_PROPERTIES.items():
            value = values.get(key)
            found[name] = (None if value is None else stages[str(value)] if key == "stage"
                           else users[str(value)][0] if key == "owner"
                           else CATEGORIES[str(value)] if key == "forecast_category" else value)
        return found

    def lead(values: Mapping[str, object]) -> dict[str, object]:
        first, _, last = str(values["name"]).partition(" ")
        found: dict[str, object] = {"firstname": first, "lastname": last}
        for key, name in LEAD_PROPERTIES.items():
            value = values.get(key)
            found[name] = users[str(value)][0] if key == "owner" and value is not None else value
        return found

    ids: dict[str, str] = {}
    converted = {str(c["lead"]): c["deal"] for c in sandbox.query("SELECT * FROM lead_conversion")}
    for obj, object_type, properties in (("opportunity", "deals", deal), ("lead", "contacts", lead)):
        fields = REPLAYED[obj]
        for row in sandbox.query(f"SELECT * FROM {obj} ORDER BY _id"):
            changes = sandbox.query(
                f"SELECT field, old, new, who, at FROM field_history WHERE object = ? AND record = ? AND field IN "
                f"({', '.join('?' * len(fields))}) ORDER BY at, _id", obj, row["_id"], *fields)
            became = converted.get(str(row["_id"])) if obj == "lead" else None
            ids[f"{obj}:{row['_id']}"] = replay(
                hub, object_type, dict(row), changes, properties, fields, users,
                {"deals": [ids[f"opportunity:{became}"]]} if became else {})
    for task in sandbox.query("SELECT * FROM task WHERE what_object IN ('opportunity', 'lead')"):
        completed = task["completed_date"]
        owner, user = users.get(str(task["owner"]), (None, None))     # a cadence's task on a lead no one owns
        load_record(portal, "tasks", {
            "hs_task_subject": task["subject"], "hs_timestamp": task["due_date"] or task["created_date"],
            "hs_task_status": "COMPLETED" if task["status"] == "completed" else "NOT_STARTED",
            "hubspot_owner_id": owner,
            # the sandbox keeps a rep's completion as a day (read as midnight UTC), a cadence's as a moment
            "hs_task_completion_date": completed if not completed or "T" in completed else f"{completed}T00:00:00Z"},
            created=str(task["created_date"]), by=user,
            associations={"deals" if task["what_object"] == "opportunity" else "contacts":
                          [ids[f"{task['what_object']}:{task['what_id']}"]]})
    return ids


def replay(hub: HubSpotEmulator, object_type: str, now: dict[str, object], changes: list[sqlite3.Row],
           properties: Callable[[Mapping[str, object]], dict[str, object]], fields: tuple[str, ...],
           users: Mapping[str, tuple[str, int]], associations: dict[str, list[str]]) -> str:
    """One record created with the values it had then and saved again at each recorded change; its id."""
    then = dict(now)     # the values it was created with: each field's value before its first change
    for change in reversed(changes):
        then[change["field"]] = change["old"]
    created = moment(str(now["created_date"]))
    by = users[str(now["owner"])][1] if now.get("owner") else None
    saves: list[tuple[str, int | None, dict[str, object]]] = []
    for change in changes:
        who = users[str(change["who"])][1] if str(change["who"]) in users else None    # "sos": no user
        if change["old"] is None and moment(change["at"]) <= created:   # its creation, recorded
            then[change["field"]], by = change["new"], who
            continue
        state = {**(saves[-1][2] if saves else then), change["field"]: change["new"]}
        saves.append((str(change["at"]), who, state))
    replayed = {{**DEAL_PROPERTIES, **LEAD_PROPERTIES}[f] for f in fields}
    updates: list[Update] = [(when, who, {k: v for k, v in properties(state).items() if k in replayed})
                             for when, who, state in saves]
    return load_record(hub.portal, object_type, {k: v for k, v in properties(then).items() if v is not None},
                       created=str(now["created_date"]), by=by, updates=updates, associations=associations)


def in_sandbox_ids(report: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The HubSpot report with each portal id (as a value or in a line such as "into deal 1000042") read as the
    sandbox's, links and the target left out."""
    back = {portal_id: key.split(":")[1] for key, portal_id in ids.items()}
    text = re.sub(r"\b1\d{6}\b", lambda m: back.get(m[0], m[0]), json.dumps(report))
    return without_links(json.loads(text))


def without_sources(trace: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's trace as HubSpot can tell it: no lead source (see the module's docstring)."""
    for lead in trace["leads"]:
        lead["source"] = None
        for event in lead["events"]:
            if event["what"] == "created":
                event["detail"] = "source: —"
    return trace


def test_the_three_reports_agree(loaded: Loaded) -> None:
    project, hub, ids = loaded
    reports = {}
    for name in REPORTS:
        expected = without_links(run(project, "sandbox", name))
        found = in_sandbox_ids(run(project, "hs", name), ids)
        if name == "trace":
            assert {lead["source"] for lead in found["leads"]} == {None}
            assert list(found.pop("not_held")) == ["lead_source"] and expected.pop("not_held") == {}
            expected = without_sources(expected)
        assert found == expected, name
        reports[name] = expected
    # the agreement covers every part the reports hold, not empty lists
    pipeline = reports["review"]["pipelines"][0]
    assert pipeline["moved"] and pipeline["slipped"] and pipeline["aging"] and pipeline["no_next_step"]
    changes = reports["forecast"]["changes"]
    assert changes["amount"] and changes["close_date"]
    leads = reports["trace"]["leads"]
    assert len(leads) == 40 and reports["trace"]["leaked"] > 0
    assert {e["what"] for lead in leads for e in lead["events"]} >= {"created", "routed", "status", "converted",
                                                                      "first touch"}
    assert reports["trace"]["by_leak"].get("first_touch")
    assert all(r["unavailable"] == {} for r in reports.values())


def test_a_deal_entered_its_stage_at_the_last_change_of_dealstage(loaded: Loaded) -> None:
    """HubSpot keeps every value of dealstage with its timestamp (the CRM objects guide, propertiesWithHistory): a
    deal entered its stage when dealstage took the value it holds, which is its last stage change as the sandbox
    recorded it (its creation, when it never moved)."""
    project, hub, ids = loaded
    hub.calls.clear()
    deals = {key: found for key, found in ids.items() if key.startswith("opportunity:")}
    assert stage_entries(project, "hs", deals) == last_stage_changes(Sandbox(project))
    assert hub.calls["GET /crm/v3/objects/{objectType}"] == -(-len(deals) // 50)    # with history: 50 a call


def test_a_portal_without_forecast_categories_is_said_not_guessed(loaded: Loaded) -> None:
    """A portal that holds no hs_manual_forecast_category (forecasting is not set up in it) has no history of it: the
    forecast says so on its first lines instead of showing deals that never changed category."""
    project, hub, _ = loaded
    held = hub.portal.properties["deals"]
    category = held.pop("hs_manual_forecast_category")
    try:
        unavailable = run(project, "hs", "forecast")["unavailable"]
    finally:
        held["hs_manual_forecast_category"] = category
    assert list(unavailable) == ["forecast_category"]
    assert "no property hs_manual_forecast_category" in unavailable["forecast_category"]


def test_the_trace_says_on_its_first_lines_that_contacts_hold_no_lead_source(loaded: Loaded,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot's contact properties (reference/hubspot.md, and the emulator's list) have no lead source a rep or a
    form sets: the trace says so before its leads, each of which shows `source: —`, rather than leave it blank."""
    project, _, _ = loaded
    monkeypatch.chdir(project.root)
    said = ("HubSpot holds no lead source for contacts: its Original Source (hs_analytics_source) is HubSpot's own "
            "reading of the traffic a contact came from, not a source a rep or a form sets, so each lead's source "
            "shows as —.")
    lines = sos("trace", "--target", "hs", "--format", "markdown", "--today", TODAY.isoformat(),
                code=2).stdout.splitlines()     # 2: some leads leaked
    assert lines[2] == f"> {said}"
    assert "source: —" in "\n".join(lines[3:])
    sandbox = sos("trace", "--target", "sandbox", "--format", "markdown", "--today", TODAY.isoformat(), code=2).stdout
    assert sandbox.splitlines()[2].startswith("**Lead ") and "lead source" not in sandbox    # the sandbox holds one


def test_a_token_that_cannot_read_owners_is_told_which_scope_to_add(loaded: Loaded,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project, hub, _ = loaded
    monkeypatch.chdir(project.root)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.add_token(
        {"oauth", "crm.objects.deals.read", "crm.objects.contacts.read", "crm.schemas.deals.read",
         "crm.schemas.contacts.read", "crm.schemas.companies.read"}))
    result = sos("review", "--target", "hs", code=1)
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "error: the HubSpot app whose token is in HUBSPOT_ACCESS_TOKEN lacks the scope crm.objects.owners.read, "
        "needed for reading deals and contacts with their history [hs-missing-scopes]")


def test_a_field_hubspot_holds_no_property_for_has_no_history(loaded: Loaded) -> None:
    """A deal's probability is its stage's in HubSpot (the pipelines API's stage metadata), not a deal property:
    its history is said to be missing, beside the stage's, which is read."""
    project, hub, ids = loaded
    backend = HubSpotBackend(project.target("hs"), project.root,
                             environ={"HUBSPOT_ACCESS_TOKEN": hub.access_token})
    since = datetime.datetime.combine(TODAY, datetime.time(), datetime.UTC) - datetime.timedelta(days=7)
    timeline = backend.changes("opportunity", ["probability", "stage"], since, desired=desired_model(project))
    assert timeline.unavailable == {"probability": "HubSpot holds no property for probability, so it has no history "
                                                   "of it"}
    deals = {portal_id for key, portal_id in ids.items() if key.startswith("opportunity:")}
    assert timeline.changes and {c.field for c in timeline.changes} == {"stage"}
    assert {c.record for c in timeline.changes} <= deals and all(c.at >= since for c in timeline.changes)
