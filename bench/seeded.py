"""A temporary client on smb-bant with its sandbox applied and seeded: what the benches of record reading share."""

from __future__ import annotations

import datetime
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sos.engine import apply_plan, make_plan, seed_sandbox
from sos.model.resources import Model
from sos.project import Project, load_project
from sos.target import Target

PROJECT = "sos: 1\nblueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\ndefault_target: sandbox\n"


@dataclass(frozen=True, slots=True)
class Seeded:
    project: Project
    target: Target
    desired: Model
    seconds: float      # how long the seed took


@contextmanager
def seeded_sandbox(deals: int, today: datetime.date) -> Iterator[Seeded]:
    """smb-bant applied to a sandbox in a temporary folder, seeded with `deals` deals as of `today`."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "sos.yaml").write_text(PROJECT, encoding="utf-8")
        (root / "blueprint.yaml").write_text("sos: 1\nname: client\nextends: [starter:smb-bant]\n", encoding="utf-8")
        project = load_project(root / "sos.yaml")
        target = project.target(None)
        planned = make_plan(project, target)
        apply_plan(project, planned.backend, planned.plan, planned.desired)
        started = time.perf_counter()
        seed_sandbox(project, target, deals=deals, seed=1, today=today, progress=lambda line: None)
        yield Seeded(project, target, planned.desired, time.perf_counter() - started)
