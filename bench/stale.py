"""`stage_age_over` on Salesforce: what the lowering sos chose (a flow per watched stage, one scheduled path each)
deploys and costs, beside what a daily schedule-triggered flow would cost, and whether it makes the sandbox's tasks.

- For each starter with a stage_age_over cadence: the flows its offline package holds for it, and their bytes.
- A simulation: DEALS deals on a pipeline with smb-bant's stage limits, created over the first days, each then
  moving on, back, or to won or lost with fixed daily chances (random.Random(SEED), so every run is the same),
  for DAYS days. The same saves go to the Salesforce emulator (REST API) and to a sandbox (its API); the
  emulator's clock (SalesforceEmulator.advance) and the sandbox's tick move a day at a time. Counted: the scheduled
  paths the saves put in the org's waiting list, those that ran and those dropped because the deal left the stage;
  the flow interviews that makes (a save that starts a stage's flow, a path that runs); for the daily flow, the
  open deals each day that Sos_Stale__c ticks (whole days since LastStageChangeDate over the stage's max_days,
  as its formula counts, read from the org's records: the records a daily flow filtered on it would run one
  interview for); the tasks on each side, and whether they are the same (deal, day, due date).
"""

from __future__ import annotations

import datetime
import os
import random
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

DEALS = 120
DAYS = 45
SEED = 7
START = datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.UTC)     # 09:00 for the emulator's user (GMT-8)
STAGES = [("discovery_call", "Discovery call", 5), ("demo", "Demo", 7), ("quote_sent", "Quote sent", 7),
          ("negotiation", "Negotiation", 7), ("verbal_commit", "Verbal commit", 5)]
CLOSED = [("won", "Closed Won", "won"), ("lost", "Closed Lost", "lost")]
BLUEPRINT = "\n".join([
    "sos: 1", "name: bench", "pipelines:", "  new_business:", "    stages:",
    *(f"      - {{key: {key}, label: {label}, probability: 20, max_days: {days}}}" for key, label, days in STAGES),
    *(f"      - {{key: {key}, label: {label}, probability: 0, outcome: {outcome}}}" for key, label, outcome in CLOSED),
    "lead_statuses:", "  - {key: new, label: New, default: true}",
    "  - {key: qualified, label: Qualified, converted: true}",
    "cadences:", "  stale_deal:", "    trigger: {stage_age_over: max_days}",
    "    action: {create_task: {subject: Stale deal, due_in_days: 1}}", ""])


def run() -> list[tuple[str, str]]:
    return package_rows() + simulation_rows()


def package_rows() -> list[tuple[str, str]]:
    from sos.backends.salesforce.lower import HELD_KINDS, build_package
    from sos.blueprint.load import load_blueprint
    from sos.model.compile import compile_model
    from sos.model.resources import Model
    from sos.plan.diff import diff

    rows = []
    for path in sorted((Path(__file__).parents[1] / "blueprints").glob("*.yaml")):
        blueprint, _ = load_blueprint(path)
        if blueprint is None or "stage_age_over" not in path.read_text(encoding="utf-8"):
            continue
        desired = compile_model(blueprint)
        changes = diff(desired, Model(), target="org", target_type="salesforce", supported=HELD_KINDS).changes
        files = build_package(desired, changes, None, allow_delete=False).files
        flows = {name: body for name, body in files.items() if name.startswith("flows/Sos_Opportunity_Stale")}
        rows.append((f"{path.stem}: stale-deal flows (a scheduled path each)",
                     f"{len(flows)} flows, {sum(map(len, flows.values())):,} bytes of "
                     f"{sum(map(len, files.values())):,} in the package"))
    return rows


def simulation_rows() -> list[tuple[str, str]]:
    from sos.backends.local import LocalBackend
    from sos.engine import apply_plan, make_plan
    from sos.project import load_project
    from tests.emulators.salesforce import SalesforceEmulator
    from tests.emulators.salesforce.org import ScheduledRun, SteppingClock

    rng = random.Random(SEED)
    labels = {key: label for key, label, _ in STAGES} | {key: label for key, label, _ in CLOSED}
    order = [key for key, _, _ in STAGES]
    old_token = os.environ.get("SF_ACCESS_TOKEN")
    with tempfile.TemporaryDirectory() as folder, SalesforceEmulator(clock=SteppingClock(START)) as emulator, \
            emulator.ca_env():
        os.environ["SF_ACCESS_TOKEN"] = emulator.access_token
        try:
            org = f'{{type: salesforce, instance_url: "{emulator.instance_url}", api_version: "63.0"}}'
            org_project = load_project(_project(Path(folder) / "org", org))
            sandbox_project = load_project(_project(Path(folder) / "sandbox", "{type: local}"))
            for project in (org_project, sandbox_project):
                planned = make_plan(project, project.target(None))
                if not apply_plan(project, planned.backend, planned.plan, planned.desired).ok:
                    raise RuntimeError("the apply failed")
            sandbox = LocalBackend(sandbox_project.target(None), sandbox_project.root,
                                   clock=lambda: START.replace(tzinfo=None))
            sf = emulator.client()
            owner = emulator.org.add_user("rep@bench.example")
            in_org: dict[int, str] = {}
            in_sandbox: dict[int, int] = {}
            stage: dict[int, str] = {}
            seen: set[ScheduledRun] = set()
            daily_interviews = 0
            for day in range(DAYS):
                for deal in range(DEALS * day // 10, min(DEALS, DEALS * (day + 1) // 10)):   # a tenth a day
                    stage[deal] = rng.choice(order)
                    in_org[deal] = sf.Opportunity.create({"Name": f"Deal {deal}", "StageName": labels[stage[deal]],
                                                          "CloseDate": "2027-06-30", "OwnerId": owner})["id"]
                    in_sandbox[deal] = sandbox.create_record("opportunity", {
                        "name": f"Deal {deal}", "stage": stage[deal], "owner": "rep@bench.example",
                        "close_date": "2027-06-30"})
                for deal in sorted(in_org):
                    moved = _move(rng, stage[deal], order)
                    if moved != stage[deal]:
                        stage[deal] = moved
                        sf.Opportunity.update(in_org[deal], {"StageName": labels[moved]})
                        sandbox.update_record("opportunity", in_sandbox[deal], {"stage": moved})
                seen.update(emulator.org.scheduled)
                emulator.advance(datetime.timedelta(days=1))
                sandbox.tick(1)
                daily_interviews += _stale(emulator.org.records["Opportunity"].values(), emulator.org.clock())
            org_tasks = sorted((str(t["WhatId"]), str(t["CreatedDate"])[:10], str(t["ActivityDate"]))
                               for t in emulator.org.records["Task"].values())
            names = {record_id: in_org[deal] for deal, record_id in in_sandbox.items()}
            with closing(sqlite3.connect(sandbox.path)) as connection:
                sandbox_tasks = sorted((names[what], created[:10], due) for what, created, due in connection.execute(
                    "SELECT what_id, created_date, due_date FROM task").fetchall())
        finally:
            _restore("SF_ACCESS_TOKEN", old_token)
    waiting = len(emulator.org.scheduled)
    ran = len(org_tasks)
    return [
        (f"{DEALS} deals over {DAYS} days: saves that scheduled a path", f"{len(seen):,}"),
        ("  paths that ran (a task each)", f"{ran:,}"),
        ("  paths dropped: the deal left the stage first", f"{len(seen) - ran - waiting:,}"),
        ("  paths still waiting at the end", f"{waiting:,}"),
        ("  flow interviews (a start per save into a watched stage, one per path run)", f"{len(seen) + ran:,}"),
        ("daily schedule-triggered flow on Sos_Stale__c: interviews",
         f"{daily_interviews:,} (one per stale deal a day)"),
        ("  tasks it would make without a field to remember", f"{daily_interviews:,}"),
        ("sandbox tick, a day at a time: tasks", f"{len(sandbox_tasks):,}"),
        ("the org's tasks are the sandbox's (deal, day, due date)", "yes" if org_tasks == sandbox_tasks else
         f"NO: {len(set(org_tasks) ^ set(sandbox_tasks))} differ"),
    ]


def _stale(deals: Any, now: datetime.datetime) -> int:
    """The open deals Sos_Stale__c ticks at `now`: FLOOR(NOW() - BLANKVALUE(LastStageChangeDate, CreatedDate)) over
    the stage's max_days (sos.backends.salesforce.aging)."""
    limits = {label: days for _, label, days in STAGES}
    count = 0
    for deal in deals:
        since = datetime.datetime.fromisoformat(str(deal.get("LastStageChangeDate") or deal["CreatedDate"])
                                                .replace("Z", "+00:00"))
        limit = limits.get(str(deal["StageName"]))
        count += limit is not None and (now - since).days > limit
    return count


def _move(rng: random.Random, current: str, order: list[str]) -> str:
    """A day in a deal's life: on to the next stage (12 %), back one (3 %), won or lost (2 %), or no move."""
    if current not in order:
        return current
    roll, at = rng.random(), order.index(current)
    if roll < 0.12:
        return order[at + 1] if at + 1 < len(order) else "won"
    if roll < 0.15:
        return order[max(at - 1, 0)]
    if roll < 0.17:
        return rng.choice(["won", "lost"])
    return current


def _project(folder: Path, target: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (folder / "sos.yaml").write_text(f"sos: 1\nblueprint: blueprint.yaml\ntargets:\n  prod: {target}\n",
                                     encoding="utf-8")
    return folder / "sos.yaml"


def _restore(name: str, value: Any) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
