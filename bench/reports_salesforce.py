"""Salesforce calls of a full History read, the weekly reports' input: rows, changes since a week ago and activities
since then, for deals and for leads, at 10,000 and 100,000 emulated opportunities (as many leads).

The smb-bant starter is applied to the emulator, field history is turned on for Opportunity (NextStep, OwnerId) and
Lead (Status, OwnerId), and the org is loaded with SIZE deals and SIZE leads, each with the history Salesforce would
hold: two OpportunityHistory snapshots a deal (created, moved a stage), its field history (created, next step
changed), a lead's (created, status changed), and a task on each record; a tenth of it falls in the last week.
Every read is past records.BULK_THRESHOLD, so each is one Bulk API 2.0 query job (a COUNT() query, create, poll,
results) and the calls do not grow with the records; the rows give the calls the emulator counted and the wall time
(client and emulator share this process; no latency is added).
"""

from __future__ import annotations

import datetime
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.audit_salesforce import counted, described, starter_org

SIZES = (10_000, 100_000)
TODAY = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
SINCE = TODAY - datetime.timedelta(days=7)
USERS = tuple(f"rep{n}@acme.example" for n in range(12))
DEAL_FIELDS = ["name", "stage", "amount", "close_date", "owner", "forecast_category", "next_step", "probability"]
DEAL_CHANGES = ["stage", "amount", "close_date", "forecast_category", "next_step", "owner"]
LEAD_FIELDS = ["name", "company", "status", "owner", "lead_source", "created_date"]
LEAD_CHANGES = ["status", "owner"]


def load(org: Any, count: int, stages: list[str], statuses: list[str], seed: int = 5) -> None:
    """`count` deals and `count` leads with their history and tasks, written straight into the org's state."""
    from tests.emulators.salesforce.org import iso

    rng = random.Random(seed)
    users = [org.add_user(name) for name in USERS]
    for table in ("Opportunity", "Lead", "Task", "OpportunityHistory", "OpportunityFieldHistory", "LeadHistory"):
        org.records[table].clear()

    def moment() -> datetime.datetime:   # a tenth in the last week
        days = rng.uniform(0, 7) if rng.random() < 0.1 else rng.uniform(7, 180)
        return TODAY - datetime.timedelta(days=days)

    def add(table: str, row_id: str, values: dict[str, object]) -> None:
        org.records[table][row_id] = {"Id": row_id, "IsDeleted": False, **values}

    for index in range(count):
        deal, lead, owner = f"006Bm{index:010d}AAA", f"00QBm{index:010d}AAA", rng.choice(users)
        created = moment()
        moved = created + (TODAY - created) * rng.random()
        first, now = rng.sample(stages, 2)
        add("Opportunity", deal, {
            "Name": f"Deal {index}", "OwnerId": owner, "StageName": now, "Amount": rng.choice([None, 5000, 25000]),
            "CloseDate": (TODAY.date() + datetime.timedelta(days=rng.randint(-30, 90))).isoformat(),
            "CreatedDate": iso(created), "LastStageChangeDate": iso(moved), "ForecastCategoryName": "Pipeline",
            "NextStep": "Demo", "Probability": 20})
        for stage, when in ((first, created), (now, moved)):
            add("OpportunityHistory", f"008Bm{2 * index + (when is moved):010d}AAA", {
                "OpportunityId": deal, "StageName": stage, "Amount": 5000, "CloseDate": "2027-01-31",
                "Probability": 20, "ForecastCategory": "Pipeline", "CreatedDate": iso(when), "CreatedById": owner})
        add("OpportunityFieldHistory", f"017Bm{4 * index:010d}AAA", {
            "OpportunityId": deal, "Field": "created", "CreatedDate": iso(created), "CreatedById": owner})
        add("OpportunityFieldHistory", f"017Bm{4 * index + 1:010d}AAA", {
            "OpportunityId": deal, "Field": "NextStep", "DataType": "Text", "OldValue": "Call", "NewValue": "Demo",
            "CreatedDate": iso(moved), "CreatedById": owner})
        add("Lead", lead, {"LastName": f"Lead {index}", "Name": f"Lead {index}", "Company": "Acme", "OwnerId": owner,
                           "Status": statuses[1], "LeadSource": "Web", "CreatedDate": iso(created)})
        add("LeadHistory", f"017Bm{4 * index + 2:010d}AAA", {
            "LeadId": lead, "Field": "created", "CreatedDate": iso(created), "CreatedById": owner})
        add("LeadHistory", f"017Bm{4 * index + 3:010d}AAA", {
            "LeadId": lead, "Field": "Status", "DataType": "Picklist", "OldValue": statuses[0],
            "NewValue": statuses[1], "CreatedDate": iso(moved), "CreatedById": owner})
        for parent, record in (("WhatId", deal), ("WhoId", lead)):
            org.add_task("Call", owner_id=owner, created=iso(moment()), activity_date=TODAY.date().isoformat(),
                         closed=False, **{"what_id" if parent == "WhatId" else "who_id": record})


def tracked(org: Any) -> None:
    """Field history turned on for the fields the reports read that OpportunityHistory does not hold."""
    org.history_enabled.update({"Opportunity", "Lead"})
    org.tracked_standard.update({"Opportunity": {"NextStep", "OwnerId"}, "Lead": {"Status", "OwnerId"}})


def reads(backend: Any, model: Any) -> list[tuple[str, Callable[[], int]]]:
    """What a full History read asks, part by part: each part's name and the read (how many things it read)."""
    return [
        ("deals: rows", lambda: sum(1 for _ in backend.rows("opportunity", DEAL_FIELDS, desired=model))),
        ("deals: changes", lambda: len(backend.changes("opportunity", DEAL_CHANGES, SINCE, desired=model).changes)),
        ("deals: activities", lambda: sum(1 for _ in backend.activities("opportunity", SINCE))),
        ("leads: rows", lambda: sum(1 for _ in backend.rows("lead", LEAD_FIELDS, desired=model))),
        ("leads: changes", lambda: len(backend.changes("lead", LEAD_CHANGES, SINCE, desired=model).changes)),
        ("leads: activities", lambda: sum(1 for _ in backend.activities("lead", SINCE))),
    ]


def run() -> list[tuple[str, str]]:
    from sos.backends.salesforce.backend import SalesforceBackend

    rows: list[tuple[str, str]] = []
    with starter_org() as (emulator, project, model):
        org = emulator.org
        tracked(org)
        stages = [v.full_name for v in org.value_set("OpportunityStage") if not v.closed]
        statuses = [v.full_name for v in org.value_set("LeadStatus") if not v.converted]
        for size in SIZES:
            load(org, size, stages, statuses)
            backend = SalesforceBackend(project.target(None), project.root, sleep=lambda _: None,
                                        progress=lambda _: None)
            total: Counter[str] = Counter()
            started_all = time.perf_counter()
            for label, read in reads(backend, model):
                found, calls, seconds = counted(emulator, read)
                total += calls
                rows.append((f"{size:,} deals, {label}", f"{described(calls)}, {seconds:.1f} s, {found:,} read"))
            rows.append((f"{size:,} deals, the full History read",
                         f"{described(total)}, {time.perf_counter() - started_all:.1f} s"))
    return rows
