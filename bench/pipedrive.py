"""Plan and apply against the Pipedrive emulator, at 100 and 1,000 fields, beside a one-call-per-item script.

For generated blueprints (bench.generate: fields over leads, contacts, accounts and opportunities, one pipeline
of 6 stages, no rules) on a fresh company each time:

- sos: `plan` on the empty company, `apply` (its own read, then one call per change and the registry writes), and
  `plan` again (no changes), each with the calls and tokens the client counted and the wall time;
- baseline: what a script does that reads nothing and writes each item with its own call: one POST per pipeline,
  stage, field and lead label, one PATCH per required field.

Calls are HTTP requests; tokens are Pipedrive's daily-budget cost per call (sos.backends.pipedrive.client.COSTS,
which the emulator charges too). The emulator runs in this process with no burst window, so time is the client's
and the emulator's work, without Pipedrive's latency.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.generate import blueprint

SIZES = (100, 1000)


def _sos_rows(size: int) -> list[tuple[str, str]]:
    from sos.backends.pipedrive.backend import PipedriveBackend
    from sos.engine import apply_plan, make_plan
    from sos.project import load_project
    from tests.emulators.pipedrive import PipedriveEmulator

    rows = []
    with PipedriveEmulator(burst_limit=None, daily_budget=10**9) as emulator, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "blueprint.yaml").write_text(yaml.safe_dump(blueprint(fields=size, stages=6, rules=0),
                                                              sort_keys=False), encoding="utf-8")
        (folder / "sos.yaml").write_text(f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  pd: {{type: pipedrive, '
                                         f'company_domain: acme, api_url: "{emulator.api_url}"}}\n', encoding="utf-8")
        project = load_project(folder / "sos.yaml")
        target = project.target("pd")

        def backend() -> PipedriveBackend:
            return PipedriveBackend(target, project.root, progress=lambda line: None,
                                    environ={"PIPEDRIVE_API_TOKEN": emulator.api_token})

        for step in ("plan", "apply", "plan again"):
            used = backend()
            started = time.perf_counter()
            run = make_plan(project, target, backend=used)
            if step == "apply":
                assert apply_plan(project, used, run.plan, run.desired).ok
            elif step == "plan again":
                assert not run.plan.has_changes
            seconds = time.perf_counter() - started
            changes = f", {len(run.plan.changes)} changes" if step != "plan again" else ""
            rows.append((f"{size:,} fields: sos {step}", f"{used.client.usage} in {seconds:.2f} s{changes}"))
    return rows


def _script_row(size: int) -> tuple[str, str]:
    """The one-call-per-item script: what it would send for the same blueprint (counted, with the same costs)."""
    from sos.backends.pipedrive.client import token_cost

    data: dict[str, Any] = blueprint(fields=size, stages=6, rules=0)
    fields = sum(len(by_key) for by_key in data["fields"].values())
    stages = [s for s in data["pipelines"]["new_business"]["stages"] if "outcome" not in s]
    calls = [("POST", "/api/v2/pipelines")] + [("POST", "/api/v2/stages")] * len(stages)
    calls += [("POST", "/api/v2/dealFields")] * fields + [("POST", "/api/v1/leadLabels")] * 2
    calls += [("PATCH", "/api/v2/dealFields/{code}")] * len(stages)
    tokens = sum(token_cost(method, endpoint) for method, endpoint in calls)
    return f"{size:,} fields: one call per item", f"{len(calls)} calls, {tokens} tokens (writes only, no read)"


def run() -> list[tuple[str, str]]:
    rows = []
    for size in SIZES:
        rows += _sos_rows(size)
        rows.append(_script_row(size))
    return rows
