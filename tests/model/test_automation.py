"""Cadences and routes reach the model typed: what fires them, what they do, who gets the work."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sos.blueprint.load import load_blueprint
from sos.model.automation import (
    CreateTask,
    Notify,
    Owner,
    Queue,
    RecordCreated,
    Report,
    RoundRobin,
    Schedule,
    StageAgeOver,
    StageEntered,
    User,
    assignment_of,
    automation_of,
)
from sos.model.compile import compile_model
from sos.model.resources import Address, Kind, Model

BLUEPRINT = """\
sos: 1
name: t
pipelines:
  deals:
    object: opportunity
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 50}
      - {key: won, label: Won, outcome: won, probability: 100}
      - {key: lost, label: Lost, outcome: lost, probability: 0}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: done, label: Done, converted: true}
cadences:
  first_touch:
    trigger: {record_created: lead}
    action: {create_task: {subject: First touch, due_in_hours: 4, priority: high, assign_to: {queue: sdr}}}
  spelled_out:
    trigger: {stage_entered: proposal}
    when: amount >= 50000
    action: {create_task: {subject: Pricing review, assign_to: owner, priority: normal}}
  left_default:
    trigger: {stage_entered: proposal}
    when: amount >= 50000
    action: {create_task: {subject: Pricing review}}
  stale:
    trigger: {stage_age_over: max_days}
    action: {notify: {message: Update the next step}}
  monday:
    schedule: {every: monday, at: "09:00", timezone: Europe/Berlin}
    action: {report: pipeline_review}
routing:
  - {key: big, when: employees >= 500, assign_to: {round_robin: [a@acme.test, b@acme.test]}}
  - {key: rest, assign_to: {user: c@acme.test}}
"""


def compiled(tmp_path: Path) -> Model:
    (tmp_path / "b.yaml").write_text(textwrap.dedent(BLUEPRINT), encoding="utf-8")
    blueprint, diagnostics = load_blueprint(tmp_path / "b.yaml")
    assert blueprint is not None, diagnostics
    return compile_model(blueprint)


def test_cadences_are_typed(tmp_path: Path) -> None:
    model = compiled(tmp_path)
    by_key = {r.address.key: automation_of(r) for r in model.of_kind(Kind.AUTOMATION)}
    assert by_key["first_touch"].trigger == RecordCreated("lead")
    assert by_key["first_touch"].action == CreateTask("First touch", Queue("sdr"), None, 4, "high")
    assert by_key["stale"].trigger == StageAgeOver(None)
    assert by_key["stale"].action == Notify("Update the next step", Owner())
    assert by_key["monday"].trigger == Schedule("monday", "09:00", "Europe/Berlin")
    assert by_key["monday"].action == Report("pipeline_review")
    assert by_key["spelled_out"].trigger == StageEntered("proposal")
    assert by_key["spelled_out"].when == "amount >= 50000"


def test_the_same_cadence_written_two_ways_is_the_same_resource(tmp_path: Path) -> None:
    model = compiled(tmp_path)
    spelled = model.resources[Address(Kind.AUTOMATION, "opportunity", "spelled_out")]
    default = model.resources[Address(Kind.AUTOMATION, "opportunity", "left_default")]
    assert spelled.attrs == default.attrs


def test_a_cadence_condition_travels_typed(tmp_path: Path) -> None:
    model = compiled(tmp_path)
    when = model.resources[Address(Kind.AUTOMATION, "opportunity", "spelled_out")].exprs["when"]
    assert when.type_of(when.expr).kind.value == "boolean"
    lines = BLUEPRINT.splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip() == "when: amount >= 50000")
    assert (when.expr.span.line, when.expr.span.col) == (line, lines[line - 1].index("amount") + 1)


def test_routes_are_typed_and_ordered(tmp_path: Path) -> None:
    model = compiled(tmp_path)
    routes = sorted((assignment_of(r) for r in model.of_kind(Kind.ASSIGNMENT)), key=lambda a: a.position)
    assert [r.assignee for r in routes] == [RoundRobin(("a@acme.test", "b@acme.test")), User("c@acme.test")]
    assert [r.when for r in routes] == ["employees >= 500", None]
