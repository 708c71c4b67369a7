"""Salesforce audit calls: 50 checks over 10,000 and 100,000 emulated opportunities, and where reading records with
a Bulk API 2.0 query job starts to pay.

The smb-bant starter is applied to the emulator, then its checks and written ones (thresholds on amount, days in
stage, close date, forecast category, and a few SOQL cannot say: two fields compared, days_since()) make 50
checks. For each size the org is loaded with that many opportunities (generated, deterministic) and
SalesforceBackend.tally runs twice: counts only (top=0, a plan's impact counts) and with the 10 worst offenders
(an audit). The rows give the API calls the emulator counted and the wall time (client and emulator share this
process; no latency is added). Both sizes are past records.BULK_THRESHOLD, so the records the checks SOQL cannot
say read come from one Bulk API query job (create, poll, results) and the calls do not depend on the records.

The threshold rows read the opportunities those checks read, at each of READ_SIZES, both ways: REST pages of 2,000
(query and queryMore) and one Bulk API query job, the emulator adding LATENCY_MS to every call and taking
BULK_POLLS status checks to finish a job, the client really waiting between them (1 s before the second check,
client.poll_waits), as it would for a real org's job, which is rarely done at once. Each read runs READS times and
the fastest is shown.
"""

from __future__ import annotations

import datetime
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

CHECKS = 50
SIZES = (10_000, 100_000)
TODAY = datetime.date(2026, 12, 4)
USERS = tuple(f"rep{n}@acme.example" for n in range(12))
# Written checks beside the starter's: ones SOQL says (cycled, with thresholds k = 1, 2, ...), and two it cannot.
WRITTEN = (
    "amount > {k}000", "days_in_stage > {k}", "close_date < today() and amount >= {k}00",
    "forecast_category == 'commit' and days_in_stage >= {k}", "is_blank(next_step) and amount > {k}0",
)
EVALUATED = ("close_date < created_date", "days_since(close_date) > 30")
READ_SIZES = (2_000, 4_000, 6_000, 8_000, 10_000, 14_000, 20_000)
READ = "SELECT Id, Name, Owner.Username, StageName, Amount, CloseDate, CreatedDate FROM Opportunity"
LATENCY_MS = 100
BULK_POLLS = 2
T = TypeVar("T")
READS = 3           # each read is timed this many times; the fastest is shown (the machine is shared)


def described(calls: Counter[str]) -> str:
    return f"{sum(calls.values()):,} calls ({', '.join(f'{n} {op}' for op, n in sorted(calls.items()))})"


def counted(emulator: Any, read: Callable[[], T]) -> tuple[T, Counter[str], float]:
    """What `read` returns, the calls the emulator counted for it and the seconds it took."""
    emulator.calls.clear()
    started = time.perf_counter()
    found = read()
    return found, Counter(emulator.calls), time.perf_counter() - started


def load(org: object, count: int, stages: list[str], seed: int = 5) -> None:
    """`count` opportunities over the stages, owners, amounts and dates an audit looks at."""
    from tests.emulators.salesforce.org import iso

    rng = random.Random(seed)
    users = [org.add_user(name) for name in USERS]   # type: ignore[attr-defined]
    midnight = datetime.datetime.combine(TODAY, datetime.time(), datetime.UTC)
    records = org.records["Opportunity"]   # type: ignore[attr-defined]
    for index in range(count):
        created = midnight - datetime.timedelta(hours=rng.randint(24, 9000))
        record_id = f"006Bm{index:010d}AAA"
        records[record_id] = {
            "Id": record_id, "Name": f"Deal {index}", "OwnerId": rng.choice(users), "StageName": rng.choice(stages),
            "Amount": rng.choice([None, 500, 5000, 25000, 120000]), "CreatedDate": iso(created),
            "CloseDate": (TODAY + datetime.timedelta(days=rng.randint(-90, 120))).isoformat(),
            "LastStageChangeDate": iso(created + datetime.timedelta(hours=rng.randint(0, 2000))),
            "NextStep": rng.choice([None, "Demo", "Send quote"]), "IsClosed": False, "IsWon": False,
            "ForecastCategoryName": rng.choice(["Pipeline", "Best Case", "Commit"]),
        }


def checks(model: object) -> list[object]:
    from sos.expr.annotate import annotate
    from sos.expr.parse import parse_expression
    from sos.errors import Span
    from sos.model.checks import Check, checks_of
    from sos.model.exprs import model_scope
    from sos.model.resources import Address, Kind

    found: list[object] = list(checks_of(model))   # type: ignore[arg-type]
    scope = model_scope(model, "opportunity")   # type: ignore[arg-type]
    where = Span("bench", 1, 1)
    texts = list(EVALUATED)
    while len(found) + len(texts) < CHECKS:
        texts.append(WRITTEN[len(texts) % len(WRITTEN)].format(k=len(texts)))
    for text in texts:
        typed = annotate(parse_expression(text, lambda start, end: where), scope)[0]
        found.append(Check(Address(Kind.RULE, "opportunity", f"bench_{len(found)}"), "opportunity", text, typed,
                           "audit"))
    return found


def read_times(emulator: Any, client: Any, stages: list[str]) -> list[tuple[str, str]]:
    """The opportunities of each of READ_SIZES read by REST pages and by a Bulk API query job: calls and seconds."""
    rows = []
    emulator.latency_ms, emulator.bulk_polls = LATENCY_MS, BULK_POLLS
    try:
        for size in READ_SIZES:
            emulator.org.records["Opportunity"].clear()
            load(emulator.org, size, stages)
            figures = []
            for way, read in (("REST pages", lambda: client.query_pages(READ)),
                              ("Bulk API job", lambda: client.bulk_query(READ, what="opportunities"))):
                seconds = []
                for _ in range(READS):
                    emulator.calls.clear()
                    started = time.perf_counter()
                    if sum(len(page) for page in read()) != size:
                        raise RuntimeError(f"{way} did not read {size} records")
                    seconds.append(time.perf_counter() - started)
                figures.append(f"{way} {sum(emulator.calls.values())} calls {min(seconds):.1f} s")
            rows.append((f"read {size:,} records at {LATENCY_MS} ms a call", ", ".join(figures)))
    finally:
        emulator.latency_ms, emulator.bulk_polls = 0, 1
    return rows


@contextmanager
def starter_org() -> Iterator[tuple[Any, Any, Any]]:
    """A running emulator with the smb-bant starter applied: (the emulator, the project, the applied Model), the
    emulator's token in SF_ACCESS_TOKEN meanwhile."""
    from sos.engine import apply_plan, make_plan
    from sos.project import load_project
    from tests.backends.salesforce.staff import staff, staffed_text
    from tests.emulators.salesforce import SalesforceEmulator

    old_token = os.environ.get("SF_ACCESS_TOKEN")
    with SalesforceEmulator(daily_api_max=10**9) as emulator, emulator.ca_env(), \
            tempfile.TemporaryDirectory() as folder:
        os.environ["SF_ACCESS_TOKEN"] = emulator.access_token
        try:
            (Path(folder) / "blueprint.yaml").write_text(staffed_text("smb-bant"), encoding="utf-8")
            (Path(folder) / "sos.yaml").write_text(
                f'sos: 1\ntargets:\n  org: {{type: salesforce, instance_url: "{emulator.instance_url}", '
                'api_version: "63.0"}\n', encoding="utf-8")
            project = load_project(Path(folder) / "sos.yaml")
            staff(emulator, project)     # the people the starter's routes name
            run = make_plan(project, project.target(None))
            if not apply_plan(project, run.backend, run.plan, run.desired).ok:
                raise RuntimeError("the emulator refused the starter")
            yield emulator, project, run.desired
        finally:
            if old_token is None:
                os.environ.pop("SF_ACCESS_TOKEN", None)
            else:
                os.environ["SF_ACCESS_TOKEN"] = old_token


def run() -> list[tuple[str, str]]:
    from sos.backends.salesforce.backend import SalesforceBackend

    rows: list[tuple[str, str]] = []
    with starter_org() as (emulator, project, model):
        audited = checks(model)
        stages = [v.full_name for v in emulator.org.value_set("OpportunityStage") if not v.closed]
        rows += read_times(emulator, SalesforceBackend(project.target(None), project.root,
                                                       progress=lambda _: None).client, stages)
        for size in SIZES:
            emulator.org.records["Opportunity"].clear()
            load(emulator.org, size, stages)
            for top in (0, 10):
                backend = SalesforceBackend(project.target(None), project.root, sleep=lambda _: None,
                                            progress=lambda _: None)
                tallies, calls, seconds = counted(emulator, partial(
                    backend.tally, audited, top=top, today=TODAY, desired=model))   # type: ignore[arg-type]
                found = sum(t.total for t in tallies)
                what = "counts only (top=0)" if top == 0 else f"with the {top} worst offenders"
                rows.append((f"{size:,} records, {len(audited)} checks, {what}",
                             f"{described(calls)}, {seconds:.1f} s, {found:,} breaches"))
    return rows


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
