"""Run every benchmark and print its figures; nothing is asserted about wall time.

A benchmark is a module in this package with a `run()` returning rows of (what was measured, figure).
Add one by writing the module and listing it in MODULES. `python -m bench NAME ...` runs only those.
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = (
    "bench.validate",  # load_blueprint on a generated blueprint; `sos validate` on a starter
    "bench.plan_apply",  # plan and apply on the local sandbox
    "bench.salesforce",  # plan and apply against the Salesforce emulator (100 ms a call) beside a CRUD script
    "bench.hubspot",  # plan and apply against the HubSpot emulator (100 ms a call) beside one call per property
    "bench.portfolio",  # `sos status` over 15 clients beside one client's `sos plan`
    "bench.pipedrive",  # plan and apply against the Pipedrive emulator, calls and token cost, beside a per-item script
    "bench.fuzz",  # 10,000 hostile blueprints through `sos validate`: exits, hangs, unlocated errors
    "bench.audit",  # an audit's cost: 100,000 seeded deals in the sandbox (time, peak memory); Salesforce API
    #                 calls for 50 checks over 10,000 and 100,000 records
    "bench.reports",  # sos review, forecast and trace on 100,000 seeded deals in the sandbox (time, peak memory);
    #                   the Salesforce and HubSpot calls they need
    "bench.reports_salesforce",  # the Salesforce calls of a full History read at 10,000 and 100,000 deals
    "bench.stale",  # stage_age_over on Salesforce: its flows per starter; scheduled paths beside a daily flow over
    #                 120 simulated deals and 45 days, and the same tasks as the sandbox's tick
)


def main(argv: list[str]) -> int:
    chosen = [m for m in MODULES if not argv or m.rsplit(".", 1)[-1] in argv]
    unknown = sorted(set(argv) - {m.rsplit(".", 1)[-1] for m in MODULES})
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from: "
              f"{', '.join(m.rsplit('.', 1)[-1] for m in MODULES)}", file=sys.stderr)
        return 1
    for name in chosen:
        started = time.perf_counter()
        rows = importlib.import_module(name).run()
        print(f"{name.rsplit('.', 1)[-1]} ({time.perf_counter() - started:.1f} s in all)")
        width = max(len(label) for label, _ in rows)
        for label, figure in rows:
            print(f"  {label:<{width}}  {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
