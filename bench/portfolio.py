"""`sos status` over a portfolio of 15 client repositories beside one client's `sos plan`, each a fresh `sos`
process (as a consultant runs them), on the local sandbox: four starters in turn, every client applied once.

Figures: wall time (time.perf_counter around subprocess.run), best of 3. The goal the portfolio issue sets is
status over 15 clients in under twice one client's plan; the ratio is printed, not asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sos.resources import starter_names

CLIENTS = 15
SOS = str(Path(sys.executable).parent / "sos")


def _timed(args: list[str], cwd: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([SOS, *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
        best = min(best, time.perf_counter() - started)
    return best


def run() -> list[tuple[str, str]]:
    starters = starter_names()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for number in range(CLIENTS):
            name = f"client{number:02d}"
            subprocess.run([SOS, "init", name, "--starter", starters[number % len(starters)]], cwd=root, check=True,
                           capture_output=True)
            subprocess.run([SOS, "apply", "--auto-approve"], cwd=root / name, check=True, capture_output=True)
        one = _timed(["plan"], root / "client00")
        every = _timed(["status"], root)
        return [
            ("one client's `sos plan` (local sandbox)", f"{one:.2f} s"),
            (f"`sos status` over {CLIENTS} clients", f"{every:.2f} s"),
            ("ratio (goal: under 2)", f"{every / one:.1f}"),
        ]
