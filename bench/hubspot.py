"""Plan and apply against the HubSpot emulator at 100 ms per call, beside a one-call-per-property script.

For generated blueprints of 100 and 1,000 fields (bench.generate: the fields spread over the four objects, one
pipeline of 8 stages, two lead statuses), on a new portal each time:

- sos: `plan` (who the token is, property groups and properties of three objects, the deal pipelines) and
  `apply` (the same read again, to refuse a stale plan, then the writes: groups, properties 100 to a batch call,
  the pipeline with its stages, hs_lead_status, the registry), with the calls the emulator counted;
- baseline: a script creating each property with its own call (POST /crm/v3/properties/{objectType}) and the
  pipeline with one, through hubspot-api-client, paced under the same burst limit (sos's RollingWindow).

The emulator runs on the wall clock at the Starter tier (100 requests per 10 s); the calls it refused with a 429
are those it answered beyond the ones its limits counted. An apply that paces itself right meets none. Wall time
is time.perf_counter around each step; "latency" is calls × latency_ms.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench.generate import blueprint

LATENCY_MS = 100
SIZES = (100, 1000)
STAGES = 8


def timed(counted: Counter[str], seconds: float) -> str:
    latency = sum(counted.values()) * LATENCY_MS / 1000
    return f"{sum(counted.values()):,} calls, {seconds:.1f} s ({latency:.1f} s of it latency)"


def pace(window: Any) -> None:
    """Wait for the burst window to let one more call through, as sos's client does."""
    time.sleep(window.wait(time.monotonic()))
    window.record(time.monotonic())


def run() -> list[tuple[str, str]]:
    from sos.backends.hubspot.backend import HubSpotBackend
    from sos.backends.hubspot.client import BATCH_SIZE
    from sos.backends.hubspot.limits import BURST_LIMIT, BURST_WINDOW, RollingWindow
    from sos.backends.hubspot.names import OBJECT_TYPES
    from sos.backends.hubspot.names import property_definition
    from sos.engine import desired_model
    from sos.model.resources import Kind
    from sos.plan.diff import diff
    from sos.project import load_project
    from tests.emulators.hubspot import HubSpotEmulator
    from tests.emulators.hubspot.limits import wall_clock

    rows: list[tuple[str, str]] = []
    with HubSpotEmulator(latency_ms=LATENCY_MS, clock=wall_clock) as hub:
        for size in SIZES:
            hub.reset()
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                (root / "blueprint.yaml").write_text(yaml.safe_dump(blueprint(fields=size, stages=STAGES, rules=0),
                                                                    sort_keys=False), encoding="utf-8")
                (root / "sos.yaml").write_text(f'sos: 1\ntargets:\n  hs: {{type: hubspot, api_url: "{hub.api_url}"}}\n',
                                               encoding="utf-8")
                project = load_project(root / "sos.yaml")
                target = project.target(None)
                environ = {**os.environ, "HUBSPOT_ACCESS_TOKEN": hub.access_token}
                backend = HubSpotBackend(target, root, environ=environ, progress=lambda _: None)
                started = time.perf_counter()
                desired = desired_model(project)
                live = backend.read(desired)
                plan = diff(desired, live.model, target=target.name, target_type=target.type,
                            supported=backend.capabilities.held, drift=live.drift, live_fingerprint=live.fingerprint)
                rows.append((f"{size:,} fields: sos plan ({len(plan.changes):,} changes)",
                             timed(Counter(hub.calls), time.perf_counter() - started)))
                hub.calls.clear()
                counted_before = hub.limits_of().daily_used
                started = time.perf_counter()
                result = backend.apply(plan, desired)
                seconds = time.perf_counter() - started
                if not result.ok:
                    raise RuntimeError(f"the emulator refused the apply: {list(result.failed.values())[:3]}")
                # + pipelines + 15: the read (8), groups (3), a batch more per object (2), hs_lead_status, registry
                bound = math.ceil(size / BATCH_SIZE) + 1 + 15
                calls = sum(hub.calls.values())
                rows.append((f"{size:,} fields: sos apply", f"{timed(Counter(hub.calls), seconds)}; "
                             f"bound ceil(fields/{BATCH_SIZE}) + pipelines + 15 = {bound}; refused with 429: "
                             f"{calls - (hub.limits_of().daily_used - counted_before)}"))

                hub.reset()
                hs, window = hub.client(), RollingWindow(BURST_LIMIT, BURST_WINDOW)
                paced = partial(pace, window)
                started = time.perf_counter()
                for object_type in sorted(set(OBJECT_TYPES.values())):
                    paced()
                    hs.crm.properties.groups_api.create(object_type, {"name": "sos", "label": "sos"})
                for field in desired.of_kind(Kind.FIELD):
                    paced()
                    hs.crm.properties.core_api.create(OBJECT_TYPES[field.address.scope], property_definition(field))
                paced()
                hs.crm.pipelines.pipelines_api.create("deals", {"label": "New business", "displayOrder": 1, "stages": [
                    {"label": "Won", "displayOrder": 0, "metadata": {"probability": "1.0", "isClosed": "true"}}]})
                rows.append((f"{size:,} fields: one call per property",
                             f"{timed(Counter(hub.calls), time.perf_counter() - started)}; "
                             f"refused with 429: {sum(hub.calls.values()) - hub.limits_of().daily_used}"))
    rows.append(("emulator latency per call", f"{LATENCY_MS} ms; burst limit 100 requests per 10 s (Starter)"))
    return rows


if __name__ == "__main__":
    for what, figure in run():
        print(f"{what:<45}  {figure}")
