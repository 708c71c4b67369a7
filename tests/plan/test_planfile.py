"""Saved plans: the JSON form round-trips, matches schemas/plan.schema.json, and refuses what it cannot apply."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sos import __version__
from sos.blueprint.load import load_blueprint
from sos.errors import SosError
from sos.model.compile import compile_model
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Plan
from sos.plan.diff import diff
from sos.plan.planfile import desired_to_json, load_plan, plan_to_json, save_plan
from sos.resources import starter_names, starters_dir

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "schemas" / "plan.schema.json"
ACME = REPO / "examples" / "acme" / "blueprint.yaml"


def desired_for(case: str) -> Model:
    path = ACME if case == "acme" else starters_dir() / f"{case}.yaml"
    blueprint, diagnostics = load_blueprint(path)
    assert blueprint is not None, [d.headline() for d in diagnostics]
    return compile_model(blueprint)


def drifted_live(desired: Model) -> Model:
    """A live state that gives every action: some resources missing, some changed, one extra, one not sos's."""
    live = Model()
    resources = list(desired)
    for index, r in enumerate(resources):
        if index % 5 == 0:
            continue  # → create
        attrs = dict(r.attrs)
        if index % 5 == 1:
            attrs["label"] = "Changed by hand"  # → update (and a rename, for a stage)
        if index % 7 == 3 and r.address.kind is Kind.FIELD:
            attrs["type"] = "text"  # → a dangerous type change
        live.add(Resource(r.address, attrs, r.origin, managed=index % 11 != 4))  # some are not sos's → unmanaged
    live.add(Resource(Address(Kind.STAGE, "new_business", "gone"), {"label": "Gone", "probability": 5}))
    live.add(Resource(Address(Kind.FIELD, "lead", "old_field"), {"type": "text", "label": "Old"}))
    return live


CASES = [*starter_names(), "acme"]


def plans_for(case: str) -> list[Plan]:
    desired = desired_for(case)
    drift = {r.address: "changed outside sos" for r in list(desired)[1::9]}
    return [
        diff(desired, Model(), target="sandbox", target_type="local"),
        diff(desired, drifted_live(desired), target="prod", target_type="salesforce", drift=drift),
        diff(desired, drifted_live(desired), target="hs", target_type="hubspot",
             supported=frozenset({Kind.FIELD, Kind.STAGE, Kind.PIPELINE})),
        diff(desired, desired, target="sandbox", target_type="local"),  # no changes
    ]


def test_the_drifted_plans_have_every_action_danger_and_note() -> None:
    _, drifted, partial, empty = plans_for("acme")
    data = plan_to_json(drifted)
    assert {c["action"] for c in data["changes"]} == {"create", "update", "delete"}
    assert any(c["reason"] and not c["attributes"] for c in data["changes"])    # drift alone
    assert any(c["danger"] for c in data["changes"]) and data["unmanaged"]
    assert plan_to_json(partial)["cannot_enforce"]
    assert plan_to_json(empty)["changes"] == []


@pytest.mark.parametrize("case", CASES)
def test_save_load_round_trip(tmp_path: Path, case: str) -> None:
    desired = desired_for(case)
    for number, plan in enumerate(plans_for(case)):
        path = tmp_path / f"plan{number}.json"
        save_plan(plan, desired, path)
        saved = load_plan(path)
        loaded = saved.plan
        assert plan_to_json(loaded) == plan_to_json(plan)
        written = json.loads(path.read_text(encoding="utf-8"))
        assert {k: v for k, v in written.items() if k != "desired"} == plan_to_json(plan)
        assert [(r.address, r.attrs, r.managed, r.origin.origin if r.origin else None) for r in saved.desired] == [
            (r.address, json.loads(json.dumps(r.attrs)), r.managed, r.origin.origin if r.origin else None)
            for r in desired]
        # A saved origin keeps file and line (what apply records), not the column
        assert loaded == replace(plan, changes=loaded.changes, unmanaged=loaded.unmanaged)
        assert [(c.address, c.action, c.before, c.after, c.danger, c.reason) for c in loaded.changes] == [
            (c.address, c.action, c.before, c.after, c.danger, c.reason) for c in plan.changes]
        assert [(c.origin.file, c.origin.line) if c.origin else None for c in loaded.changes] == [
            (c.origin.file, c.origin.line) if c.origin else None for c in plan.changes]
        assert [(u.address, u.note) for u in loaded.unmanaged] == [(u.address, u.note) for u in plan.unmanaged]


@pytest.fixture(scope="module")
def plan_validator() -> jsonschema.protocols.Validator:
    assert SCHEMA_PATH.is_file(), "schemas/plan.schema.json is missing"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.mark.parametrize("case", CASES)
def test_every_plan_json_validates_against_the_schema(plan_validator: jsonschema.protocols.Validator,
                                                      case: str) -> None:
    desired = desired_to_json(desired_for(case))
    for plan in plans_for(case):
        saved = {**plan_to_json(plan), "desired": desired}
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in plan_validator.iter_errors(saved)]
        assert errors == []


def test_the_schema_rejects_what_is_not_a_plan(plan_validator: jsonschema.protocols.Validator) -> None:
    data = plan_to_json(plans_for("smb-bant")[1])
    broken = json.loads(json.dumps(data))
    broken["changes"][0]["action"] = "replace"
    del broken["summary"]
    messages = sorted(e.message for e in plan_validator.iter_errors(broken))
    assert messages == ["'replace' is not one of ['create', 'update', 'delete', 'adopt']",
                        "'summary' is a required property"]


# --- refusing plans this sos cannot apply ---------------------------------------------------------

@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, dict]:
    plan = plans_for("smb-bant")[1]
    path = tmp_path / "plan.json"
    save_plan(plan, desired_for("smb-bant"), path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def message_of(path: Path) -> str:
    with pytest.raises(SosError) as caught:
        load_plan(path)
    (diagnostic,) = caught.value.diagnostics
    return diagnostic.message


def test_wrong_format_version_is_refused(saved: tuple[Path, dict]) -> None:
    path, data = saved
    path.write_text(json.dumps({**data, "format_version": 1}), encoding="utf-8")
    assert message_of(path) == "this plan has format version 1; this sos applies version 2. Run `sos plan` again."


def test_plan_from_another_sos_version_is_refused(saved: tuple[Path, dict]) -> None:
    path, data = saved
    path.write_text(json.dumps({**data, "sos_version": "0.0.1"}), encoding="utf-8")
    assert message_of(path) == (f"this plan was made by sos 0.0.1, and this is sos {__version__}. "
                                "Run `sos plan` again.")


def test_missing_plan_file(tmp_path: Path) -> None:
    assert message_of(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: no such plan file"


@pytest.mark.parametrize("content", [
    pytest.param(b"Plan: 3 to add, 0 to change, 0 to delete.\n", id="text-rendering"),
    pytest.param(b"{\"format_version\": 1,", id="truncated-json"),
    pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    pytest.param(b"", id="empty"),
])
def test_garbage_is_not_a_plan_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    assert message_of(path).startswith(f"{path}: not a plan file (")


def test_plan_with_missing_parts_is_not_valid(saved: tuple[Path, dict]) -> None:
    path, data = saved
    del data["target"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert message_of(path) == f"{path}: not a valid plan file (KeyError: 'target')"


def test_plan_with_a_bad_address_is_not_valid(saved: tuple[Path, dict]) -> None:
    path, data = saved
    data["changes"][0]["address"] = "widget.opportunity.x"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert message_of(path) == f"{path}: not a valid plan file (ValueError: 'widget' is not a valid Kind)"


@pytest.mark.parametrize("content", [
    pytest.param("[1, 2, 3]", id="json-list"),
    pytest.param('{"hello": "world"}', id="json-object"),
])
def test_json_that_is_not_a_plan_says_so(tmp_path: Path, content: str) -> None:
    """Any JSON that is not a plan object is garbage to `sos apply`, and the message should say which file."""
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    message = message_of(path)
    assert message.startswith(f"{path}: not a plan file"), message



@pytest.mark.parametrize("edit", [
    pytest.param(lambda data: data["desired"][0]["attrs"].update(label="Edited"), id="attribute-edited"),
    pytest.param(lambda data: data["desired"].pop(), id="resource-dropped"),
    pytest.param(lambda data: data.update(blueprint_digest="0" * 64), id="digest-edited"),
])
def test_a_plan_whose_desired_resources_are_edited_is_refused(saved: tuple[Path, dict], edit: Any) -> None:
    path, data = saved
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    assert message_of(path) == (f"{path}: its desired resources are not those of the blueprint it was made from "
                                "(blueprint_digest); run `sos plan` again and apply the plan it makes: a saved plan "
                                "must not be edited")


def test_a_plan_without_its_desired_resources_is_not_valid(saved: tuple[Path, dict]) -> None:
    path, data = saved
    del data["desired"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert message_of(path) == f"{path}: not a valid plan file (KeyError: 'desired')"
