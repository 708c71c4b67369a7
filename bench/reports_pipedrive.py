"""Pipedrive calls of the weekly reports: `sos review`, `sos forecast` and `sos trace` (10 leads) as the engine runs
them against the Pipedrive emulator with BLUEPRINT applied (the one tests/backends/pipedrive/test_reports_agree.py
checks the reports on: one pipeline, two lead statuses) and DEALS deals and as many leads
loaded with their past: each deal made in its first stage, a third of them moved a stage later (the changelog a
save writes), a next step and a done activity on each, and a first-touch activity on each lead; a tenth of it in
the last week. Each row gives the calls the emulator counted per endpoint, the tokens the client counted against
the daily budget, and the wall time (client and emulator share this process; no latency is added).
"""

from __future__ import annotations

import datetime
import functools
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.backends.pipedrive.conftest import SMALL

DEALS = 2_000
TODAY = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
# SMALL with the forecast category each stage puts a deal in (DOMAIN.md), so the forecast has numbers to agree on,
# and a speed-to-lead cadence, whose tasks the trace times (Pipedrive does not run it: its tasks are loaded)
BLUEPRINT = (SMALL.replace("probability: 10, max_days: 14}", "probability: 10, max_days: 14, forecast: pipeline}")
             .replace("probability: 60, require: [competitor]}", "probability: 60, require: [competitor], "
                                                                 "forecast: best_case}")
             + "cadences:\n  first_touch:\n    trigger: {record_created: lead}\n    action:\n      create_task:\n"
               "        assign_to: owner\n        subject: First touch\n        due_in_hours: 24\n")
USERS = tuple(f"rep{n}@acme.example" for n in range(12))


def load(account: Any, registry: Any, count: int, seed: int = 5) -> None:
    """`count` deals and `count` leads with their past, written straight into the account's state."""
    from tests.emulators.pipedrive.loader import add_activity, add_lead, load_deal

    rng = random.Random(seed)
    users = [int(account.add_user(name)["id"]) for name in USERS]
    stages = [v for v in registry.stages_of("new_business").values() if isinstance(v, int)]
    labels = list(registry.lead_labels.values())

    def moment() -> datetime.datetime:   # a tenth in the last week
        days = rng.uniform(0, 7) if rng.random() < 0.1 else rng.uniform(7, 180)
        return TODAY - datetime.timedelta(days=days)

    def text(when: datetime.datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    for index in range(count):
        owner, created = rng.choice(users), moment()
        moved = created + (TODAY - created) * rng.random()
        close = (TODAY.date() + datetime.timedelta(days=rng.randint(-30, 90))).isoformat()
        deal = load_deal(account, {"title": f"Deal {index}", "stage_id": stages[0], "owner_id": owner,
                                   "value": rng.choice([5000, 25000]), "expected_close_date": close},
                         created=text(created),
                         updates=[(text(moved), owner, {"stage_id": rng.choice(stages[1:])})] if index % 3 else [])
        add_activity(account, "Demo", owner=owner, created=text(created), due=None, deal_id=deal)
        add_activity(account, "Call", owner=owner, created=text(moved), due=moved.date().isoformat(),
                     done=text(moved), deal_id=deal)
        lead = add_lead(account, f"Lead {index}", owner=owner, created=text(created),
                        label_ids=[rng.choice(labels)], source_name="Web")
        add_activity(account, "First touch", owner=owner, created=text(created), due=None, lead_id=lead,
                     done=text(created + datetime.timedelta(hours=rng.uniform(1, 48))))


def calls(reports: dict[str, Callable[..., dict[str, Any]]]) -> list[tuple[str, str]]:
    """For each of `reports` (name → build, as bench.reports gives them), the calls it needs on Pipedrive."""
    from bench.audit_salesforce import described
    from sos.backends.pipedrive.auth import connection
    from sos.backends.pipedrive.client import PipedriveClient
    from sos.backends.pipedrive.read import read_account
    from sos.engine import apply_plan, make_plan, weekly_report
    from sos.project import load_project
    from tests.emulators.pipedrive import PipedriveEmulator

    rows: list[tuple[str, str]] = []
    old_token = os.environ.get("PIPEDRIVE_API_TOKEN")
    with PipedriveEmulator(burst_limit=None, daily_budget=10**9) as emulator, tempfile.TemporaryDirectory() as tmp:
        os.environ["PIPEDRIVE_API_TOKEN"] = emulator.api_token
        try:
            folder = Path(tmp)
            (folder / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
            (folder / "sos.yaml").write_text(
                f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  pd: {{type: pipedrive, company_domain: acme, '
                f'api_url: "{emulator.api_url}"}}\n', encoding="utf-8")
            project = load_project(folder / "sos.yaml")
            target = project.target("pd")
            run = make_plan(project, target)
            if not apply_plan(project, run.backend, run.plan, run.desired).ok:
                raise RuntimeError("the emulator refused the blueprint")
            client = PipedriveClient(connection(target), progress=lambda line: None)
            load(emulator.account, read_account(client, labels=True).registry, DEALS)
            for name, build in reports.items():
                emulator.calls.clear()
                emulator.costs.clear()
                started = time.perf_counter()
                weekly_report(project, target, functools.partial(_build, build))
                seconds = time.perf_counter() - started
                rows.append((f"pipedrive {name} ({DEALS:,} deals): calls, tokens, time",
                             f"{described(Counter(emulator.calls))}, {emulator.tokens_spent:,} tokens, "
                             f"{seconds:.1f} s"))
        finally:
            if old_token is None:
                os.environ.pop("PIPEDRIVE_API_TOKEN", None)
            else:
                os.environ["PIPEDRIVE_API_TOKEN"] = old_token
    return rows


def _build(build: Callable[..., dict[str, Any]], history: Any, model: Any, where: Any) -> dict[str, Any]:
    return build(history, model, target=where)
