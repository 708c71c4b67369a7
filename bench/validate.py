"""How long validation takes: load_blueprint on a large generated blueprint, and `sos validate` end to end.

Figures: best of 5 wall times (time.perf_counter) of
- load_blueprint (read, schema, resolve, build, checks) on a blueprint of 2,000 fields across the four
  objects (text, number, currency, checkbox, date, picklist), one pipeline and 200 rules whose
  expressions read those fields and the stage;
- the installed `sos validate` on a starter, as a subprocess: what a user waits for, start-up included.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable

import yaml

from bench.generate import blueprint
from sos.blueprint.load import load_blueprint
from sos.resources import starters_dir

RUNS = 5
FIELDS, STAGES, RULES = 2000, 10, 200
STARTER = "b2b-saas-meddicc"


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def _load(path: Path) -> None:
    result, diagnostics = load_blueprint(path)
    if result is None:  # a figure for a blueprint that fails early would mean nothing
        raise RuntimeError("generated blueprint is invalid:\n" + "\n".join(d.headline() for d in diagnostics))


def _validate(script: Path, path: Path) -> None:
    done = subprocess.run([str(script), "validate", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sos validate failed:\n{done.stderr}")


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blueprint.yaml"
        data = blueprint(fields=FIELDS, stages=STAGES, rules=RULES)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        lines = path.read_text(encoding="utf-8").count("\n")
        load = best_of(RUNS, lambda: _load(path))
    script = Path(sys.executable).parent / "sos"
    starter = starters_dir() / f"{STARTER}.yaml"
    validate = best_of(RUNS, lambda: _validate(script, starter))
    return [
        (f"load_blueprint, {FIELDS} fields, {RULES} rules, {STAGES} stages ({lines} lines), best of {RUNS}",
         f"{load:.3f} s"),
        (f"sos validate {STARTER} (installed script, subprocess), best of {RUNS}", f"{validate:.3f} s"),
    ]
