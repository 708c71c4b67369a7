"""The HubSpot calls of the weekly reports: the smb-bant starter applied to the HubSpot emulator, then DEALS deals
and as many contacts (sos's leads) loaded with their property history (tests/emulators/hubspot/loader.py: created in
one stage by its owner, moved once; a contact's lead status set, then changed) and a task on each record, a tenth of
it in the last week; then `sos review`, `sos forecast` and `sos trace` (10 leads) read the portal as the engine runs
them.

Every read is a list call: 100 records a page, 50 with property history, so the calls grow with the records. The
client paces itself under the Starter tier's burst limit (100 calls per 10 s) on the emulator's clock, which its
waits move on: no real waiting. "paced" is that clock's time, what the report would take against a real portal at
the burst limit, latency aside; "wall" is the time the emulator took in this process.
"""

from __future__ import annotations

import datetime
import functools
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from bench.audit_salesforce import counted, described

DEALS = 10_000
TODAY = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
USERS = tuple(f"rep{n}@acme.example" for n in range(12))


def calls(reports: dict[str, Callable[..., dict[str, Any]]]) -> list[tuple[str, str]]:
    """Each of `reports` (name → build, as bench.reports holds them) against the loaded portal: its calls and time."""
    from sos.backends.hubspot.backend import HubSpotBackend

    rows: list[tuple[str, str]] = []
    with starter_portal() as (hub, project, model):
        load(hub, DEALS)
        for name, build in reports.items():
            backend = HubSpotBackend(project.target(None), project.root, progress=lambda _: None,
                                     environ={"HUBSPOT_ACCESS_TOKEN": hub.access_token},
                                     clock=lambda: hub.clock().timestamp(), sleep=hub.clock.advance)
            paced = hub.clock()
            report = functools.partial(build, backend, model, target={"name": "hs", "type": "hubspot"})
            _, counted_calls, seconds = counted(hub, report)
            rows.append((f"hubspot {name} ({DEALS:,} deals): calls, paced, wall",
                         f"{described(counted_calls)}, {(hub.clock() - paced).total_seconds():.0f} s, "
                         f"{seconds:.1f} s"))
    return rows


@contextmanager
def starter_portal() -> Iterator[tuple[Any, Any, Any]]:
    """A running emulator (on a manual clock) with the smb-bant starter applied: (the emulator, the project, the
    applied Model)."""
    from sos.engine import apply_plan, make_plan
    from sos.project import load_project
    from tests.emulators.hubspot import HubSpotEmulator

    with HubSpotEmulator() as hub, tempfile.TemporaryDirectory() as folder, \
            mock.patch.dict(os.environ, {"HUBSPOT_ACCESS_TOKEN": hub.access_token}):
        root = Path(folder)
        (root / "blueprint.yaml").write_text("sos: 1\nname: client\nextends: [starter:smb-bant]\n", encoding="utf-8")
        (root / "sos.yaml").write_text(f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  hs: {{type: hubspot, '
                                       f'api_url: "{hub.api_url}"}}\n', encoding="utf-8")
        project = load_project(root / "sos.yaml")
        run = make_plan(project, project.target(None))
        if not apply_plan(project, run.backend, run.plan, run.desired).ok:
            raise RuntimeError("the emulator refused the starter")
        yield hub, project, run.desired


def load(hub: Any, count: int, seed: int = 5) -> None:
    """`count` deals and `count` contacts with their history, and a task on each, straight into the portal."""
    from tests.emulators.hubspot.loader import load_record

    rng = random.Random(seed)
    portal = hub.portal
    owners = [portal.add_owner(name) for name in USERS]
    pipeline = next(p for p in portal.live_pipelines("deals") if p["label"] == "New business")
    stages = [s["id"] for s in pipeline["stages"].values() if s["metadata"].get("isClosed") != "true"]
    statuses = [o["value"] for o in portal.properties["contacts"]["hs_lead_status"]["options"]]

    def moment() -> datetime.datetime:   # a tenth in the last week
        return TODAY - datetime.timedelta(days=rng.uniform(0, 7) if rng.random() < 0.1 else rng.uniform(7, 180))

    for index in range(count):
        (owner, user), created = rng.choice(owners), moment()
        moved = (created + (TODAY - created) * rng.random()).isoformat()
        first, now = rng.sample(stages, 2)
        deal = load_record(portal, "deals", {
            "dealname": f"Deal {index}", "pipeline": pipeline["id"], "dealstage": first, "hubspot_owner_id": owner,
            "amount": rng.choice(["", "5000", "25000"]), "hs_manual_forecast_category": "PIPELINE",
            "hs_next_step": "Call",
            "closedate": (TODAY.date() + datetime.timedelta(days=rng.randint(-30, 90))).isoformat()},
            created=created.isoformat(), by=user,
            updates=[(moved, user, {"dealstage": now, "hs_next_step": "Demo"})])
        lead = load_record(portal, "contacts", {
            "firstname": "Lead", "lastname": str(index), "company": "Acme", "hubspot_owner_id": owner,
            "hs_lead_status": statuses[0], "email": f"lead{index}@acme.example"},
            created=created.isoformat(), by=user, updates=[(moved, user, {"hs_lead_status": statuses[1]})])
        for kind, record in (("deals", deal), ("contacts", lead)):
            load_record(portal, "tasks", {"hs_task_subject": "Call", "hs_timestamp": TODAY.date().isoformat(),
                                          "hs_task_status": "NOT_STARTED", "hubspot_owner_id": owner},
                        created=moment().isoformat(), by=user, associations={kind: [record]})

