"""Plan and apply against the Salesforce emulator at 100 ms per call, beside a hand-written CRUD script.

For generated blueprints of about 100, 1,000 and 5,000 Metadata API components (bench.generate),
on an empty org each time:

- sos: `plan` (one retrieve and its status polls, then the diff) and `apply` (a fresh retrieve to
  refuse a stale plan, then one deploy and its polls), with the API calls the emulator counted;
- baseline: what a hand-written script does with the same components through simple-salesforce's
  zeep CRUD calls (`sf.mdapi.<Type>.read` / `.upsert`, 10 components per call, the API's maximum):
  read each one, then upsert each one, type by type in dependency order.

Wall time is time.perf_counter around each step, the emulator adding `latency_ms` to every call;
"latency" is calls × latency_ms, the rest is the client's work and the emulator's (both in this
process, so they share one interpreter). Status polls are counted apart from the calls that start
a job; the waits between polls are not slept (the emulator finishes a job after one poll; a real
org also spends its own processing time, which neither side controls). Every size is run in full:
plan, apply (checked to succeed) and the script (every upsert checked to succeed by
simple-salesforce), and the script must leave the org holding the same components as the apply.

The one concession to time: the script's calls at 5,000 components are about 1,000, so 100 s
of latency alone. If, from the 1,000-component script's time per call, the whole benchmark would
exceed BUDGET_S, the 5,000-component script runs its read phase only and its row says so, with
the upserts' call count (exact: it does not depend on timing) and the latency they would add.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import yaml

from bench.generate import blueprint

LATENCY_MS = 100
SIZES = (100, 1000, 5000)
BUDGET_S = 240      # the whole benchmark; see the docstring
POLLS = ("checkRetrieveStatus", "checkDeployStatus")
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
            crud.upsert(batch)          # raises if any component in the batch failed
    return time.perf_counter() - started


def described(counted: Counter[str]) -> str:
    """`4 calls (retrieve 1, deploy 1, status polls 2)`: status polls counted apart."""
    parts = [f"{name} {count:,}" for name, count in sorted(counted.items()) if name not in POLLS]
    polls = sum(counted[name] for name in POLLS)
    if polls:
        parts.append(f"status polls {polls:,}")
    return f"{sum(counted.values()):,} calls ({', '.join(parts)})"


def timed(counted: Counter[str], seconds: float) -> str:
    latency = sum(counted.values()) * LATENCY_MS / 1000
    return f"{described(counted)}, {seconds:.1f} s ({latency:.1f} s of it latency)"


def stored(emulator: Any) -> list[tuple[str, str]]:
    """What the org holds: (type, lower-case fullName) of every component."""
    return sorted(emulator.org.components)


def run() -> list[tuple[str, str]]:
    from sos.backends.salesforce.backend import SalesforceBackend
    from sos.backends.salesforce.lower import build_package
    from sos.backends.salesforce.read import LiveOrg
    from sos.plan.diff import diff
    from sos.engine import desired_model
    from sos.project import load_project
    from tests.emulators.salesforce import SalesforceEmulator

    began = time.perf_counter()
    rows: list[tuple[str, str]] = []
    per_call = LATENCY_MS / 1000       # the script's seconds per call, measured at each size for the next
    old_token = os.environ.get("SF_ACCESS_TOKEN")
    with SalesforceEmulator(latency_ms=LATENCY_MS, daily_api_max=10**9) as emulator, emulator.ca_env():
        os.environ["SF_ACCESS_TOKEN"] = emulator.access_token
        try:
            for size in SIZES:
                emulator.reset()
                emulator.calls.clear()
                with tempfile.TemporaryDirectory() as folder:
                    project = load_project(write_salesforce_project(Path(folder), sized_blueprint(size),
                                                                    emulator.instance_url))
                    target = project.target(None)
                    backend = SalesforceBackend(target, project.root, sleep=lambda _: None, progress=lambda _: None)
                    started = time.perf_counter()
                    desired = desired_model(project)
                    live = backend.read(desired)
                    plan = diff(desired, live.model, target=target.name, target_type=target.type,
                                supported=backend.capabilities.held, drift=live.drift,
                                live_fingerprint=live.fingerprint)
                    plan_seconds = time.perf_counter() - started
                    plan_calls = Counter(emulator.calls)
                    package = build_package(desired, plan.changes, cast(LiveOrg, live.detail), allow_delete=False)
                    label = f"{len(package.components):,} components"
                    script = crud_calls(crud_components(package))
                    rows.append((f"{label}: sos plan ({len(plan.changes):,} changes)", timed(plan_calls, plan_seconds)))

                    emulator.calls.clear()
                    started = time.perf_counter()
                    result = backend.apply(plan, desired)
                    apply_seconds = time.perf_counter() - started
                    if not result.ok:
                        raise RuntimeError(f"the emulator refused the apply: {list(result.failed.values())[:3]}")
                    rows.append((f"{label}: sos apply", timed(Counter(emulator.calls), apply_seconds)))
                    applied = stored(emulator)

                    reads = [call for call in script if call[0] == "read"]
                    projected = len(script) * per_call
                    full = time.perf_counter() - began + projected <= BUDGET_S
                    emulator.reset()           # the script writes the same components into an empty org
                    emulator.calls.clear()
                    seconds = run_baseline(emulator, script if full else reads)
                    counted = Counter(emulator.calls)
                    assert sum(counted.values()) == len(script if full else reads)
                    if full:
                        per_call = seconds / len(script)
                        if stored(emulator) != applied:
                            raise RuntimeError(f"the script left the org holding other components than the apply "
                                               f"({len(stored(emulator)):,} against {len(applied):,})")
                        rows.append((f"{label}: CRUD script", timed(counted, seconds)))
                    else:
                        upserts = len(script) - len(reads)
                        rows.append((f"{label}: CRUD script, READ PHASE ONLY",
                                     f"{timed(counted, seconds)}; its {upserts:,} upsertMetadata calls not run "
                                     f"(at least {upserts * LATENCY_MS / 1000:.1f} s more of latency; the whole "
                                     f"script would have taken about {projected:.0f} s, over the {BUDGET_S} s "
                                     "budget)"))
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
