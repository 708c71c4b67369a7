"""A ClickUp handoff end to end: the sandbox's won deal becomes one task in the list, over requests against the
ClickUp emulator, through a 429 (its wait read from X-RateLimit-Reset on the emulator's clock) and a 502."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sos.backends.local import LocalBackend
from sos.cli import cli
from sos.engine import desired_model
from sos.handoff.clickup import ClickUpTool
from sos.handoff.run import Run, run_handoffs
from sos.project import load_project
from tests.emulators.clickup import ClickUpEmulator
from tests.handoff.conftest import add_deals, sandbox

HANDOFF = """\
  tasks:
    stage: won
    tool: clickup
    list: "{list}"
    name: "{{account}}: kick-off"
    fields: [amount, handoff_notes, champion]
    assign_to: {{user: priya@acme.io}}
"""


@pytest.fixture
def clickup() -> Iterator[ClickUpEmulator]:
    with ClickUpEmulator() as emulator:
        yield emulator
        assert emulator.internal_errors == []


def test_a_won_deal_gets_one_clickup_task_through_a_429_and_a_502(client: Path, clickup: ClickUpEmulator) -> None:
    with (client / "blueprint.yaml").open("a", encoding="utf-8") as blueprint:
        blueprint.write(HANDOFF.format(list=clickup.list))
    assert CliRunner().invoke(cli, ["apply", "--auto-approve"], catch_exceptions=False).exit_code == 0
    ids = add_deals(client)
    project = load_project(client / "sos.yaml")
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clickup.now += seconds

    tool = ClickUpTool(clickup.access_token, clickup.api_url, clock=clickup.clock)
    run = Run(target="sandbox", tools={"clickup": tool}, today=datetime.date(2026, 12, 5),
              now=datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.UTC), run_id="r1",
              since=datetime.date(2026, 11, 5), sleep=sleep)
    clickup.faults.rate_limit(retry_after=12)
    clickup.faults.server_error(status=502, writes_only=True)
    store = LocalBackend(project.target(None), client)
    summary = run_handoffs(desired_model(project, record=False), store, run, ["tasks"])
    # The rollout, and the pilot: it had an Asana project and a Jira issue, not a ClickUp task.
    assert summary.line() == "2 handed off, 0 already had one, 0 failed"
    # 12 s: X-RateLimit-Reset minus the emulator's clock; 4 s: the backoff after the 502 (the second retry).
    assert waits == [12.0, 4.0]
    deals = [ids["Globex rollout"], ids["Globex pilot"]]
    assert [(t.name, t.tags, t.assignees, t.markdown_description) for t in clickup.tasks] == [(
        "Globex: kick-off", [f"sos-deal-sandbox-tasks-{deal}"], [81942673],
        "**Amount:** 12,000\n**Handoff notes:** Kick-off on the 8th; SSO first.\n**Champion:** Hank Scorpio")
        for deal in deals]
    links = [(sandbox(client).stored_row("opportunity", deal) or {}).get("tasks_link") for deal in deals]
    assert links == [task.url for task in clickup.tasks]
    again = run_handoffs(desired_model(project, record=False), store, run, ["tasks"])
    assert (again.line(), len(clickup.tasks)) == ("0 handed off, 0 already had one, 0 failed", 2)


def test_clickup_takes_its_token_from_the_environment(client: Path, clickup: ClickUpEmulator) -> None:
    with (client / "blueprint.yaml").open("a", encoding="utf-8") as blueprint:
        blueprint.write(HANDOFF.format(list=clickup.list))
    result = CliRunner().invoke(cli, ["handoff", "run", "--only", "tasks"], env={"CLICKUP_API_URL": clickup.api_url},
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == ("error: `sos handoff run` needs CLICKUP_TOKEN (a personal API token, "
                                             "pk_…) in the environment [handoff-credentials]")
