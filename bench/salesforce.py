"""Plan and apply against the Salesforce emulator at 100 ms per call, beside a hand-written CRUD script.

For generated blueprints of about 100, 1,000 and 5,000 Metadata API components (bench.generate),
on an empty org each time:

- sos: `plan` (one retrieve and its status polls, then the diff) and `apply` (a fresh retrieve to
  refuse a stale plan, then one deploy and its polls), with the API calls the emulator counted;
- baseline: what a hand-written script does with the same components through simple-salesforce's
  zeep CRUD calls (`sf.mdapi.<Type>.read` / `.upsert`, 10 components per call, the API's maximum):
  read each one, then upsert each one, type by type in dependency order.

Wall time is time.perf_counter around each step, the emulator adding `latency_ms` to every call;
"latency" is calls × latency_ms, the rest is the client's work and the emulator's. The waits
between status polls are not slept (the emulator finishes a job after one poll; a real org also
spends its own processing time, which neither side controls).

Scaled honestly: the emulator validates deploys and CRUD saves in time quadratic in the org's
size (it rebuilds an object's field table for every rule and permission it checks; 1,000
components take about a minute of emulator CPU either way), so above APPLY_LIMIT components
the apply and the baseline are not run: their call counts are exact (they do not depend on
timing) and their wall time is given as the lower bound the latency alone sets.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.generate import blueprint

LATENCY_MS = 100
SIZES = (100, 1000, 5000)
APPLY_LIMIT = 1000  # components; above it the apply and the baseline are not run (see the docstring)
APPLY_CALLS = 4     # a fresh retrieve and its poll, the deploy and its poll
CRUD_BATCH = 10
# Upsert order a script must follow: a rule reads fields, a sales process lists stage values, a record
# type names its process, the permission set names fields.
CRUD_ORDER = ("CustomField", "StandardValueSet", "BusinessProcess", "RecordType", "ValidationRule", "PermissionSet")
OBJECT_CHILDREN = {"fields": "CustomField", "validationRules": "ValidationRule",
                   "businessProcesses": "BusinessProcess", "recordTypes": "RecordType"}


def sized_blueprint(components: int) -> dict[str, object]:
    """A generated blueprint whose package has about `components` components (fields dominate, as in real orgs)."""
    stages = max(6, min(50, components // 100))
    rules = components * 13 // 100
    fields = components - rules - (stages - 2) - 7   # 7: process, record type, 2 value sets, permission set, aging
    return blueprint(fields=fields, stages=stages, rules=rules)


def write_salesforce_project(folder: Path, data: dict[str, object], instance_url: str) -> Path:
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    project = folder / "sos.yaml"
    project.write_text(f'sos: 1\ntargets:\n  org: {{type: salesforce, instance_url: "{instance_url}", '
                       'api_version: "63.0"}\n', encoding="utf-8")
    return project


def crud_components(package: Any) -> dict[str, list[Any]]:
    """The package's components as zeep objects for the CRUD calls, by type (what a script would build)."""
    from lxml import etree
    from simple_salesforce import Salesforce

    md = Salesforce(instance_url="https://127.0.0.1", session_id="offline", version="63.0").mdapi  # types only
    schema = md._client.wsdl.types
    found: dict[str, list[Any]] = {name: [] for name in CRUD_ORDER}
    for path, body in sorted(package.files.items()):
        if path in ("package.xml", "destructiveChanges.xml"):
            continue
        root = etree.fromstring(body)
        folder, _, file_name = path.partition("/")
        name = file_name.rsplit(".", 1)[0]
        if folder == "objects":
            for element in root:
                type_name = OBJECT_CHILDREN[etree.QName(element).localname]
                item = md._client.get_type(f"ns0:{type_name}").parse_xmlelement(element, schema)
                item.fullName = f"{name}.{item.fullName}"
                found[type_name].append(item)
        else:
            type_name = etree.QName(root).localname
            item = md._client.get_type(f"ns0:{type_name}").parse_xmlelement(root, schema)
            item.fullName = name
            found[type_name].append(item)
    return found


def crud_calls(components: dict[str, list[Any]]) -> list[tuple[str, str, list[Any]]]:
    """The script's calls: read every component, then upsert every one, 10 per call, in CRUD_ORDER."""
    calls: list[tuple[str, str, list[Any]]] = []
    for operation in ("read", "upsert"):
        for type_name in CRUD_ORDER:
            items = components[type_name]
            for start in range(0, len(items), CRUD_BATCH):
                calls.append((operation, type_name, items[start:start + CRUD_BATCH]))
    return calls


def run_baseline(emulator: Any, calls: list[tuple[str, str, list[Any]]]) -> float:
    """Seconds the script takes, connecting included."""
    from simple_salesforce import Salesforce

    started = time.perf_counter()
    md = Salesforce(instance_url=emulator.instance_url, session_id=emulator.access_token, version="63.0").mdapi
    for operation, type_name, batch in calls:
        crud = getattr(md, type_name)
        if operation == "read":
            crud.read([item.fullName for item in batch])
        else:
            crud.upsert(batch)
    return time.perf_counter() - started


def timed(calls: int, seconds: float) -> str:
    return f"{calls:,} calls, {seconds:.1f} s ({calls * LATENCY_MS / 1000:.1f} s of it latency)"


def not_run(calls: int) -> str:
    return f"{calls:,} calls; not run (at least {calls * LATENCY_MS / 1000:.1f} s of latency alone; see docstring)"


def run() -> list[tuple[str, str]]:
    from sos.backends.salesforce.backend import SalesforceBackend
    from sos.backends.salesforce.metadata import build_package
    from sos.plan.diff import diff
    from sos.plan.run import desired_model
    from sos.project import load_project
    from tests.emulators.salesforce import SalesforceEmulator

    rows: list[tuple[str, str]] = []
    old_token = os.environ.get("SF_ACCESS_TOKEN")
    with SalesforceEmulator(latency_ms=LATENCY_MS, daily_api_max=10**9) as emulator, emulator.ca_env():
        os.environ["SF_ACCESS_TOKEN"] = emulator.access_token
        try:
            for size in SIZES:
                emulator.reset()
                with tempfile.TemporaryDirectory() as folder:
                    project = load_project(write_salesforce_project(Path(folder), sized_blueprint(size),
                                                                    emulator.instance_url))
                    target = project.target(None)
                    backend = SalesforceBackend(target, project.root, sleep=lambda _: None, progress=lambda _: None)
                    started = time.perf_counter()
                    desired = desired_model(project)
                    live = backend.read(desired)
                    plan = diff(desired, live, target=target.name, target_type=target.type,
                                supported=backend.capabilities.kinds)
                    plan_seconds = time.perf_counter() - started
                    plan_calls = sum(emulator.calls.values())
                    package = build_package(desired, plan.changes, backend.live, allow_delete=False)
                    label = f"{len(package.components):,} components ({len(plan.changes):,} changes)"
                    script = crud_calls(crud_components(package))
                    rows.append((f"sos plan, {label}", timed(plan_calls, plan_seconds)))
                    if size > APPLY_LIMIT:
                        rows.append((f"sos apply, {label}", not_run(APPLY_CALLS)))
                        rows.append((f"CRUD script, {label}", not_run(len(script))))
                        continue
                    emulator.calls.clear()
                    started = time.perf_counter()
                    result = backend.apply(plan)
                    apply_seconds = time.perf_counter() - started
                    if not result.ok:
                        raise RuntimeError(f"the emulator refused the apply: {list(result.failed.values())[:3]}")
                    rows.append((f"sos apply, {label}", timed(sum(emulator.calls.values()), apply_seconds)))
                    emulator.reset()           # the script writes the same components into an empty org
                    seconds = run_baseline(emulator, script)
                    assert sum(emulator.calls.values()) == len(script)
                    rows.append((f"CRUD script, {label}", timed(len(script), seconds)))
        finally:
            if old_token is None:
                os.environ.pop("SF_ACCESS_TOKEN", None)
            else:
                os.environ["SF_ACCESS_TOKEN"] = old_token
    rows.append(("emulator latency per call", f"{LATENCY_MS} ms (status-poll waits not slept)"))
    return rows


if __name__ == "__main__":
    for what, figure in run():
        print(f"{what:<55}  {figure}")
