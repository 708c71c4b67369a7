"""The weekly reports' cost: 100,000 seeded opportunities (and their leads, history and tasks) in the sandbox for
smb-bant, then `sos review`, `sos forecast` and `sos trace` (10 leads) as the engine runs them, each with its wall
time (time.perf_counter) and, run again, its peak memory (tracemalloc: Python's allocations, not SQLite's page
cache). Figures only; nothing is asserted.

The Salesforce figures: the API calls each of the three reports makes, run by the engine against the Salesforce
emulator with the smb-bant starter applied and SALESFORCE_DEALS deals and as many leads loaded with their history
and tasks (bench/reports_salesforce.load, field history tracked for the fields the reports read). Every read is a
Bulk API 2.0 query job there, so the calls do not grow with the records.

The Pipedrive figures: the calls and tokens each report needs against the Pipedrive emulator holding
bench/reports_pipedrive.DEALS deals and as many leads with their past. A deal's changes come from its own
changelog, one call a deal, so there the calls grow with the deals the report follows.

The HubSpot figures: the same for the HubSpot emulator with the starter applied and as many deals and contacts
loaded with their property history and tasks (bench/reports_hubspot.py), where every read is a list call of 100
records (50 with property history), so the calls grow with the records.
"""

from __future__ import annotations

import datetime
import functools
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.seeded import seeded_sandbox
from sos.engine import weekly_report
from sos.reports.forecast import forecast
from sos.reports.review import review
from sos.reports.trace import trace

DEALS = 100_000
SALESFORCE_DEALS = 10_000
TODAY = datetime.date(2026, 12, 4)
SINCE = TODAY - datetime.timedelta(days=7)
GENERATED = datetime.datetime(2026, 12, 4, 9, 0, tzinfo=datetime.UTC)
REPORTS: dict[str, Callable[..., dict[str, Any]]] = {
    "review": functools.partial(review, today=TODAY, since=SINCE, generated=GENERATED),
    "forecast": functools.partial(forecast, today=TODAY, since=SINCE, period="quarter", generated=GENERATED),
    "trace (10 leads)": functools.partial(trace, today=TODAY, leads=10, generated=GENERATED),
}


def run() -> list[tuple[str, str]]:
    from bench.reports_hubspot import calls as hubspot_calls
    from bench.reports_pipedrive import calls as pipedrive_calls

    return run_sandbox() + salesforce_calls() + hubspot_calls(REPORTS) + pipedrive_calls(REPORTS)


def run_sandbox() -> list[tuple[str, str]]:
    with seeded_sandbox(DEALS, TODAY) as seeded:
        rows = [(f"sandbox seed ({DEALS:,} deals and their leads, history, tasks)", f"{seeded.seconds:.1f} s")]
        for name, build in REPORTS.items():
            report = functools.partial(weekly_report, seeded.project, seeded.target, functools.partial(_build, build))
            started = time.perf_counter()
            report()
            took = time.perf_counter() - started
            tracemalloc.start()     # a second run for the memory: tracemalloc slows Python down several times
            report()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append((f"sandbox {name}: time, peak memory", f"{took:.2f} s, {peak / 1e6:.0f} MB"))
        return rows


def _build(build: Callable[..., dict[str, Any]], history: Any, model: Any, where: Any) -> dict[str, Any]:
    return build(history, model, target=where)


def salesforce_calls() -> list[tuple[str, str]]:
    """The API calls each report needs against the Salesforce emulator holding SALESFORCE_DEALS deals."""
    from bench.audit_salesforce import counted, described, starter_org
    from bench.reports_salesforce import load, tracked

    rows: list[tuple[str, str]] = []
    with starter_org() as (emulator, project, _):
        org = emulator.org
        tracked(org)
        load(org, SALESFORCE_DEALS, [v.full_name for v in org.value_set("OpportunityStage") if not v.closed],
             [v.full_name for v in org.value_set("LeadStatus") if not v.converted])
        for name, build in REPORTS.items():
            report = functools.partial(weekly_report, project, project.target(None),
                                       functools.partial(_build, build))
            _, calls, seconds = counted(emulator, report)
            rows.append((f"salesforce {name} ({SALESFORCE_DEALS:,} deals): calls, time",
                         f"{described(calls)}, {seconds:.1f} s"))
    return rows
