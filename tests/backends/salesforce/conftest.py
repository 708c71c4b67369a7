"""One Salesforce emulator per test module (over real HTTPS), a fresh org per test, projects that target it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator

import pytest

from sos.project import Project, load_project
from tests.backends.salesforce.staff import staff, staffed_text
from tests.emulators.salesforce import SalesforceEmulator

if TYPE_CHECKING:
    from sos.backends.salesforce.backend import SalesforceBackend
    from sos.plan.change import Plan

REPO = Path(__file__).resolve().parents[3]
STARTERS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
ACME = REPO / "examples" / "acme" / "blueprint.yaml"


@pytest.fixture(scope="module")
def running() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as emulator, emulator.ca_env():
        yield emulator


@pytest.fixture
def emulator(running: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceEmulator]:
    """A fresh org, no faults, no counted calls; the environment holds no Salesforce settings but the CA."""
    running.reset()
    running.deploy_polls = running.retrieve_polls = running.bulk_polls = 1
    running.latency_ms = 0
    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_file)
    yield running
    assert running.internal_errors == []


def blueprint_text(case: str) -> str:
    """A blueprint for a starter name (extending it, with the client's people) or 'acme' (the example, copied)."""
    if case == "acme":
        return ACME.read_text(encoding="utf-8")
    return staffed_text(case)


@pytest.fixture
def make_project(tmp_path: Path, emulator: SalesforceEmulator,
                 monkeypatch: pytest.MonkeyPatch) -> Callable[..., Project]:
    """A client repository whose only target is the emulated org, reached with SF_ACCESS_TOKEN; the org has the users
    and queues its routes name (staff.py)."""
    def make(blueprint: str, *, token: bool = True, options: str = "") -> Project:
        (tmp_path / "blueprint.yaml").write_text(textwrap.dedent(blueprint), encoding="utf-8")
        (tmp_path / "sos.yaml").write_text(
            "sos: 1\nblueprint: blueprint.yaml\ntargets:\n"
            f'  prod: {{type: salesforce, instance_url: "{emulator.instance_url}", api_version: "63.0"{options}}}\n',
            encoding="utf-8")
        if token:
            monkeypatch.setenv("SF_ACCESS_TOKEN", emulator.access_token)
            monkeypatch.setenv("SF_INSTANCE_URL", emulator.instance_url)
        project = load_project(tmp_path / "sos.yaml")
        staff(emulator, project)
        return project

    return make


SMALL = """\
sos: 1
name: client
fields:
  opportunity:
    competitor: {type: text, length: 120, label: Competitor}
    budget: {type: currency, label: Budget}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
rules:
  close_date_not_past:
    object: opportunity
    when: stage.is_open
    require: close_date >= today()
    message: Open deals need a close date in the future.
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: working, label: Working}
  - {key: qualified, label: Qualified, converted: true}
"""


@pytest.fixture
def applied(make_project: Callable[..., Project]) -> Project:
    """A project whose org has SMALL applied."""
    from sos.engine import apply_plan, make_plan

    project = make_project(SMALL)
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    return project


def plan_for(project: Project, backend: SalesforceBackend, *, impact: bool = False) -> Plan:
    """What make_plan does, with a backend the test built (to give it a fake sleep or a login session); without the
    impact counts unless asked (their calls are counted in tests/backends/salesforce/test_records.py)."""
    from sos.engine import make_plan

    return make_plan(project, backend.target, backend=backend, impact=impact).plan


class Recorder:
    """A fake `sleep` and `progress` sink: what would have been waited and shown."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.lines: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def progress(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def backend_for(recorder: Recorder) -> Callable[..., SalesforceBackend]:
    """A SalesforceBackend for a project's only target that never sleeps and records its progress."""
    from sos.backends.salesforce.backend import SalesforceBackend

    def make(project: Project, **kwargs: object) -> SalesforceBackend:
        return SalesforceBackend(project.target(None), project.root, sleep=recorder.sleep,
                                 progress=recorder.progress, **kwargs)  # type: ignore[arg-type]

    return make
