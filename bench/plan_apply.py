"""Plan and apply on the local sandbox for a generated blueprint of 2,000 fields, 50 stages and 200 rules.

Figures: wall time (time.perf_counter) of make_plan on an empty sandbox, of the apply,
and of the plan right after (no changes). The bar to beat: plan under one second.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.generate import write_project
from sos.engine import apply_plan, make_plan
from sos.project import load_project


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        project = load_project(write_project(Path(folder), fields=2000, stages=50, rules=200))
        target = project.target(None)
        started = time.perf_counter()
        first = make_plan(project, target)
        planned = time.perf_counter()
        apply_plan(project, first.backend, first.plan, first.desired)
        applied = time.perf_counter()
        again = make_plan(project, target)
        replanned = time.perf_counter()
        assert not again.plan.has_changes, "apply then plan must show no changes"
        size = f"{len(first.desired)} resources"
        return [
            (f"local plan, empty sandbox ({size})", f"{planned - started:.3f} s"),
            (f"local apply ({len(first.plan.changes)} changes, one transaction)", f"{applied - planned:.3f} s"),
            ("local plan after apply (no changes)", f"{replanned - applied:.3f} s"),
        ]
