"""One Pipedrive emulator per test module (real HTTP on 127.0.0.1), a fresh company per test, client
repositories whose `pd` target is the emulator, driven through the `sos` command line as a user would."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.project import Project, load_project
from tests.emulators.pipedrive import PipedriveEmulator

if TYPE_CHECKING:
    from sos.backends.pipedrive.backend import PipedriveBackend

REPO = Path(__file__).resolve().parents[3]
STARTERS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
ACME = REPO / "examples" / "acme" / "blueprint.yaml"

SMALL = """\
sos: 1
name: client
fields:
  opportunity:
    competitor: {type: text, label: Competitor}
    budget_confirmed: {type: checkbox, label: Budget confirmed}
    loss_reason: {type: picklist, label: Loss reason, values: [Price, Timing]}
pipelines:
  new_business:
    label: New business
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: qualified, label: Qualified, converted: true}
"""


@pytest.fixture(scope="module")
def running() -> Iterator[PipedriveEmulator]:
    # No burst window: its clock moves only when a test moves it, and these runs wait with the real clock.
    with PipedriveEmulator(burst_limit=None) as emulator:
        yield emulator


@pytest.fixture
def pipedrive(running: PipedriveEmulator) -> Iterator[PipedriveEmulator]:
    running.reset()
    yield running
    assert running.internal_errors == []


class Repo:
    """A client repository (blueprint.yaml, sos.yaml) and the `sos` commands run in it, every output kept."""

    def __init__(self, root: Path, emulator: PipedriveEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.emulator = emulator
        self.monkeypatch = monkeypatch
        self.outputs: list[str] = []
        root.mkdir(parents=True, exist_ok=True)
        (root / "sos.yaml").write_text(
            "sos: 1\nblueprint: blueprint.yaml\ntargets:\n"
            f'  pd: {{type: pipedrive, company_domain: acme, api_url: "{emulator.api_url}"}}\n', encoding="utf-8")

    def write(self, blueprint: str) -> Repo:
        (self.root / "blueprint.yaml").write_text(textwrap.dedent(blueprint), encoding="utf-8")
        return self

    def sos(self, *args: str, code: int = 0) -> Result:
        self.monkeypatch.chdir(self.root)
        result = CliRunner().invoke(cli, list(args), env={"PIPEDRIVE_API_TOKEN": self.emulator.api_token,
                                                         "NO_COLOR": "1"})
        self.outputs.append(result.output)
        assert result.exit_code == code, result.output
        return result

    def backend(self, **options: Any) -> tuple[Project, PipedriveBackend]:
        """The project and its `pd` backend, built as the engine would, with `options` (a fake sleep, progress)."""
        from sos.backends.pipedrive.backend import PipedriveBackend

        project = load_project(self.root / "sos.yaml")
        return project, PipedriveBackend(project.target("pd"), project.root, **{
            "progress": lambda line: None, "environ": {"PIPEDRIVE_API_TOKEN": self.emulator.api_token}, **options})

    def files_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.root.rglob("*") if p.is_file())


@pytest.fixture
def repo(tmp_path: Path, pipedrive: PipedriveEmulator, monkeypatch: pytest.MonkeyPatch) -> Repo:
    return Repo(tmp_path / "client", pipedrive, monkeypatch)


def blueprint_text(case: str) -> str:
    if case == "acme":
        return ACME.read_text(encoding="utf-8")
    return f"sos: 1\nname: client\nextends: [starter:{case}]\n"
