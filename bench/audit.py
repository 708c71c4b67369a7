"""An audit's reading of records, timed: its sandbox part seeds 100,000 opportunities for smb-bant, then counts the
records that break every rule, stage requirement and stage limit (`tally(checks_of(model), top=10)`), with the
audit's wall time (time.perf_counter) and peak memory (tracemalloc). Figures only; nothing is asserted.

The Salesforce part (audit calls for 50 checks over 10,000 and 100,000 emulated records) is
bench/audit_salesforce.py.
"""

from __future__ import annotations

import datetime
import time
import tracemalloc

from bench import audit_salesforce
from bench.seeded import seeded_sandbox
from sos.backends.local import LocalBackend
from sos.model.checks import checks_of

DEALS = 100_000
TODAY = datetime.date(2026, 3, 2)


def run() -> list[tuple[str, str]]:
    return run_sandbox() + audit_salesforce.run()


def run_sandbox() -> list[tuple[str, str]]:
    """Seed the sandbox with DEALS opportunities and time an audit of them."""
    with seeded_sandbox(DEALS, TODAY) as seeded:
        checks = checks_of(seeded.desired)
        backend = LocalBackend(seeded.target, seeded.project.root)
        tracemalloc.start()
        audit_started = time.perf_counter()
        tallies = backend.tally(checks, top=10, today=TODAY)
        audited = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        found = sum(t.total for t in tallies)
        return [
            (f"sandbox seed ({DEALS:,} deals and their leads, accounts, contacts, tasks)", f"{seeded.seconds:.1f} s"),
            (f"sandbox audit: tally of {len(checks)} checks, top 10 each ({found:,} breaches)",
             f"{audited - audit_started:.2f} s"),
            ("sandbox audit peak memory (tracemalloc: Python's, not SQLite's page cache)", f"{peak / 1e6:.1f} MB"),
        ]
