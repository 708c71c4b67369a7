"""`sos status` over a portfolio of 15 client repositories beside one client's `sos plan`, each a fresh `sos`
process (as a consultant runs them), on the local sandbox: four starters in turn, every client applied once.

Figures: wall time (time.perf_counter around subprocess.run) and CPU time (the child's user and system time, from
resource.getrusage), each the best of 3; on a machine shared with other work the CPU figures are the steadier. The
goal the portfolio issue sets is status over 15 clients in under twice one client's plan; the ratios are printed,
not asserted.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sos.resources import starter_names

CLIENTS = 15
SOS = str(Path(sys.executable).parent / "sos")


def _timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `sos ARGS` in `cwd`, each the best of 3."""
    wall = cpu = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([SOS, *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
        wall = min(wall, time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def run() -> list[tuple[str, str]]:
    starters = starter_names()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for number in range(CLIENTS):
            name = f"client{number:02d}"
            subprocess.run([SOS, "init", name, "--starter", starters[number % len(starters)]], cwd=root, check=True,
                           capture_output=True)
            subprocess.run([SOS, "apply", "--auto-approve"], cwd=root / name, check=True, capture_output=True)
        (one, one_cpu), (every, every_cpu) = _timed(["plan"], root / "client00"), _timed(["status"], root)
        return [
            ("one client's `sos plan` (local sandbox)", f"{one:.2f} s ({one_cpu:.2f} s CPU)"),
            (f"`sos status` over {CLIENTS} clients", f"{every:.2f} s ({every_cpu:.2f} s CPU)"),
            ("ratio (goal: under 2)", f"{every / one:.1f} ({every_cpu / one_cpu:.1f} in CPU time)"),
        ]
