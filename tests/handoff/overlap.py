"""Two `sos handoff run`s that overlap, through the faults a PM tool throws in the middle: what the done-when tests
of every backend share (test_run.py for the sandbox, test_salesforce.py for a Salesforce org)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator, Sequence

from sos.backends.base import Activity, Timeline
from sos.engine import run_handoffs
from sos.handoff.run import DealStore, Run, Summary
from sos.model.resources import Model
from sos.project import Project
from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator

TODAY = datetime.date(2026, 12, 5)
NOW = datetime.datetime(2026, 12, 5, 9, 30, tzinfo=datetime.UTC)


def run_config(**changes: object) -> Run:
    values: dict[str, object] = {"target": "sandbox", "tools": {}, "today": TODAY, "now": NOW, "run_id": "r1",
                                 "since": TODAY - datetime.timedelta(days=30)}
    values.update(changes)
    return Run(**values)  # type: ignore[arg-type]


class BarrierStore:
    """A backend's deals, with every run waiting for the other after it read them: both see the same deals due
    before either claims one (the overlap a CI schedule and a manual run make)."""

    def __init__(self, backend: DealStore, barrier: threading.Barrier) -> None:
        self.backend, self.barrier = backend, barrier

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        rows = list(self.backend.rows(obj, fields, desired=desired))
        if obj == "opportunity":
            self.barrier.wait(timeout=30)
        return iter(rows)

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        return self.backend.changes(obj, fields, since, desired=desired)

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        return self.backend.activities(obj, since)

    def holds(self, obj: str, field: str, *, desired: Model | None = None) -> bool:
        return self.backend.holds(obj, field, desired=desired)

    def set_if(self, obj: str, record_id: str, field: str, expected: object, value: object, *,
               desired: Model | None = None) -> bool:
        return self.backend.set_if(obj, record_id, field, expected, value, desired=desired)


def overlapping_runs(project: Project, backend: Callable[[], DealStore], environ: dict[str, str],
                     asana: AsanaEmulator, jira: JiraEmulator) -> tuple[list[Summary], list[float]]:
    """Two runs of the project's default target ("ci" and "manual"), each with its own `backend()`, overlapping,
    with faults in the middle: the first Asana call is rate limited (Retry-After: 7), then a create Asana carries
    out but a gateway answers 504; Jira answers 503 to the first write, then 429 (Retry-After: 3). Their summaries
    and the waits they made."""
    asana.faults.rate_limit(retry_after=7)
    asana.faults.server_error(status=504, after_write=True)
    jira.faults.server_error(status=503, writes_only=True)
    jira.faults.rate_limit(retry_after=3, writes_only=True)
    target = project.target(None)
    barrier = threading.Barrier(2)
    waits: list[float] = []
    summaries: list[Summary] = []

    def one_run(run_id: str) -> None:
        run = run_config(target=target.name, run_id=run_id, sleep=waits.append)
        summaries.append(run_handoffs(project, target, run, environ, store=BarrierStore(backend(), barrier)))

    threads = [threading.Thread(target=one_run, args=(name,)) for name in ("ci", "manual")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(summaries) == 2
    return summaries, waits
