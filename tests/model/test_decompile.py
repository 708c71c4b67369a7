"""model_to_blueprint (what `sos import` writes) is the inverse of compile_model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sos.backends.local import LocalBackend
from sos.blueprint.dump import dump_yaml
from sos.blueprint.load import load_blueprint
from sos.model.compile import compile_model
from sos.model.decompile import model_to_blueprint
from sos.model.resources import Model
from sos.plan.diff import diff
from sos.target import Target
from sos.resources import starter_names, starters_dir

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "blueprint.yaml"

# Every kind of resource and option the language has, including values YAML would misread unquoted.
KITCHEN_SINK = """\
sos: 1
name: kitchen-sink
description: every feature once
fields:
  opportunity:
    notes: {type: text}
    short: {type: text, length: 40, help: Short., description: Why short.}
    price: {type: currency}
    whole_price: {type: currency, scale: 0}
    count: {type: number, precision: 4}
    share: {type: percent}
    ok: {type: checkbox, default: true, api_name: Is_OK__c}
    answer: {type: picklist, values: ["Yes", "No", "1.10", "On"], default: "No",
             api_name: {salesforce: Answer_X__c, hubspot: answer_x}}
    tags: {type: multi_picklist, values: [a, b]}
    buyer: {type: lookup, to: contact}
    loss: {type: picklist, values: [Price, Timing]}
    closed_on: {type: datetime}
  lead:
    site: {type: url}
    phone_2: {type: phone}
    mail_2: {type: email}
  account:
    tier: {type: picklist, values: [A, B]}
  contact:
    role: {type: long_text}
pipelines:
  deals:
    label: Deals
    description: the one pipeline
    stages:
      - {key: one, label: One, probability: 10, require: [notes, ok, amount]}
      - {key: two, label: Two, probability: 50, forecast: best_case, max_days: 9, require: [buyer],
         description: Second.}
      - {key: won, label: Won, probability: 100, outcome: won, require: [price]}
      - {key: lost, label: Lost, probability: 0, outcome: lost, require: [loss]}
  renewals:
    stages:
      - {key: renewal_due, label: Renewal due, probability: 80, forecast: commit}
      - {key: renewed, label: Renewed, probability: 100, outcome: won}
      - {key: churned, label: Churned, probability: 0, outcome: lost}
rules:
  plain:
    object: opportunity
    require: "amount>0"
    message: Positive.
  weird:
    object: opportunity
    when: "(stage.is_open)  and  ((amount > 1000) or count = 3)"
    require: "not (is_blank( notes )) and answer in [\\"Yes\\", 'No']"
    message: Weird.
    description: Odd spacing on purpose.
lead_statuses:
  - {key: new, label: New, default: true, description: Fresh.}
  - {key: working, label: Working}
  - {key: done, label: Done, converted: true}
cadences:
  nudge:
    trigger: {stage_entered: two}
    when: amount > 5
    action: {create_task: {assign_to: owner, subject: "Nudge: now", due_in_days: 1}}
  hello:
    trigger: {record_created: lead}
    action: {create_task: {assign_to: owner, subject: Hello, due_in_hours: 2}}
  aging:
    trigger: {stage_age_over: max_days}
    action: {notify: {to: {user: boss@example.com}, message: Aging deal.}}
  weekly:
    schedule: {every: monday, at: "09:00", timezone: Europe/Paris}
    action: {report: pipeline_review}
routing:
  - {key: big, when: employees > 100, assign_to: {queue: big}}
  - {key: friend, when: "lead_source == 'Partner'", assign_to: {user: p@example.com}}
  - {key: rest, assign_to: {round_robin: [a@example.com, b@example.com]}}
"""


def load_and_compile(path: Path) -> Model:
    blueprint, diagnostics = load_blueprint(path)
    assert [d.headline() for d in diagnostics if d.is_error] == []
    assert blueprint is not None
    return compile_model(blueprint)


def by_address(model: Model) -> dict[str, dict[str, Any]]:
    return {str(r.address): dict(r.attrs) for r in model}


def source_path(case: str, folder: Path) -> Path:
    if case == "acme":
        return ACME
    if case == "kitchen-sink":
        path = folder / "kitchen.yaml"
        path.write_text(KITCHEN_SINK, encoding="utf-8")
        return path
    return starters_dir() / f"{case}.yaml"


CASES = [*starter_names(), "acme", "kitchen-sink"]


@pytest.mark.parametrize("case", CASES)
def test_compile_decompile_compile_gives_the_same_model(tmp_path: Path, case: str) -> None:
    first = load_and_compile(source_path(case, tmp_path))
    data = model_to_blueprint(first, "imported", "Imported for a test")
    assert "extends" not in data and data["name"] == "imported" and data["description"] == "Imported for a test"
    written = tmp_path / "imported.yaml"
    written.write_text(dump_yaml(data), encoding="utf-8")
    second = load_and_compile(written)
    assert list(by_address(second)) == list(by_address(first))
    assert by_address(second) == by_address(first)
    # and decompiling again is stable
    assert model_to_blueprint(second, "imported", "Imported for a test") == data


def test_kitchen_sink_keeps_every_kind(tmp_path: Path) -> None:
    model = load_and_compile(source_path("kitchen-sink", tmp_path))
    kinds = {r.address.kind.value for r in model}
    assert kinds == {"field", "stage", "pipeline", "lead_status", "rule", "cadence", "route", "stage_requirement"}


@pytest.mark.parametrize("case", ["acme", "kitchen-sink"])
def test_import_from_a_sandbox_round_trips(tmp_path: Path, case: str) -> None:
    """The `sos import` path: apply to a local sandbox, read it back, decompile, compile: nothing to change."""
    desired = load_and_compile(source_path(case, tmp_path))
    backend = LocalBackend(Target("sandbox", "local", {}), tmp_path)
    backend.apply(diff(desired, backend.read(desired).model, target="sandbox", target_type="local"), desired)
    live = backend.read(Model()).model
    assert by_address(live) == by_address(desired)

    written = tmp_path / "imported.yaml"
    written.write_text(dump_yaml(model_to_blueprint(live, "sandbox")), encoding="utf-8")
    imported = load_and_compile(written)
    plan = diff(imported, backend.read(imported).model, target="sandbox", target_type="local")
    assert plan.changes == ()
    assert plan.unchanged == len(desired)


def test_empty_model_gives_a_minimal_blueprint(tmp_path: Path) -> None:
    data = model_to_blueprint(Model(), "empty")
    assert data == {"sos": 1, "name": "empty"}
    path = tmp_path / "empty.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    assert len(load_and_compile(path)) == 0


def test_yaml_misreadings_are_quoted_on_the_way_out(tmp_path: Path) -> None:
    model = load_and_compile(source_path("kitchen-sink", tmp_path))
    text = dump_yaml(model_to_blueprint(model, "k"))
    assert ("      values:\n      - 'Yes'\n      - 'No'\n      - '1.10'\n      - 'On'\n      default: 'No'\n"
            in text)
