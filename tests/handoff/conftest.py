"""The client repository and the tools every handoff test uses: a blueprint with an Asana and a Jira handoff,
applied to the sandbox, and the two emulators (one of each per module)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.backends.local import LocalBackend
from sos.cli import cli
from sos.project import load_project
from tests.emulators.asana import AsanaEmulator
from tests.emulators.jira import JiraEmulator

BLUEPRINT = """\
sos: 1
name: acme
fields:
  opportunity:
    handoff_notes: {{type: long_text, label: Handoff notes}}
    champion: {{type: lookup, to: contact, label: Champion}}
pipelines:
  new_business:
    stages:
      - {{key: discovery, label: Discovery, probability: 10}}
      - {{key: won, label: Closed Won, probability: 100, outcome: won}}
      - {{key: lost, label: Closed Lost, probability: 0, outcome: lost}}
handoffs:
  delivery:
    stage: won
    tool: asana
    team: "{team}"
    name: "{{account}} — {{name}}"
    fields: [amount, close_date, handoff_notes, champion]
    assign_to: {{user: priya@acme.io}}
  ticket:
    stage: won
    tool: jira
    project: DEL
    issue_type: Epic
    name: "Onboard {{account}}"
    fields: [amount, handoff_notes]
    assign_to: {{user: sam@acme.io}}
"""



@pytest.fixture(scope="module")
def tools() -> Iterator[tuple[AsanaEmulator, JiraEmulator]]:
    with AsanaEmulator() as asana, JiraEmulator() as jira:
        yield asana, jira


@pytest.fixture
def asana(tools: tuple[AsanaEmulator, JiraEmulator]) -> Iterator[AsanaEmulator]:
    tools[0].reset()
    yield tools[0]
    assert tools[0].internal_errors == []


@pytest.fixture
def jira(tools: tuple[AsanaEmulator, JiraEmulator]) -> Iterator[JiraEmulator]:
    tools[1].reset()
    yield tools[1]
    assert tools[1].internal_errors == []


@pytest.fixture
def environ(asana: AsanaEmulator, jira: JiraEmulator) -> dict[str, str]:
    return {"ASANA_TOKEN": asana.access_token, "ASANA_API_URL": asana.api_url, "JIRA_URL": jira.api_url,
            "JIRA_EMAIL": jira.email, "JIRA_API_TOKEN": jira.api_token}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asana: AsanaEmulator) -> Path:
    """A client repository with the blueprint above applied to its sandbox, and deals in it."""
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT.format(team=asana.team), encoding="utf-8")
    (tmp_path / "sos.yaml").write_text("blueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\n",
                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return tmp_path


def sandbox(root: Path) -> LocalBackend:
    project = load_project(root / "sos.yaml")
    return LocalBackend(project.target(None), root)


def add_deals(root: Path) -> dict[str, int]:
    """A won deal due for handoff, an open one, a won one already linked, and one won before the window."""
    backend = sandbox(root)
    account = backend.create_record("account", {"name": "Globex"})
    champion = backend.create_record("contact", {"first_name": "Hank", "last_name": "Scorpio", "account": account})
    at = datetime.datetime(2026, 12, 1, 15, 0)
    ids = {name: backend.create_record("opportunity", {
        "name": name, "account": account, "stage": stage, "amount": 12000.0, "close_date": datetime.date(2026, 12, 1),
        "handoff_notes": "Kick-off on the 8th; SSO first.", "champion": champion}, now=when)
        for name, stage, when in (("Globex rollout", "won", at), ("Globex expansion", "discovery", at),
                                  ("Globex pilot", "won", at), ("Globex 2024", "won", datetime.datetime(2026, 9, 1)))}
    backend.update_record("opportunity", ids["Globex pilot"], {"delivery_link": "https://app.asana.com/0/1/list",
                                                              "ticket_link": "https://acme.atlassian.net/browse/DEL-7"})
    return ids


