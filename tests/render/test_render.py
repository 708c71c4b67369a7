"""The three plan renderings, each made from plan_to_json, against golden files and the plan schema.

Refresh the golden files with `pytest tests/render --update-golden` and review them as a diff.
"""

from __future__ import annotations

import copy
from dataclasses import replace
import json
import re
from pathlib import Path
from typing import Any
from collections.abc import Callable

import click
import pytest
from jsonschema import Draft202012Validator

from sos.errors import Diagnostic, Severity, Span
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.diff import diff
from sos.plan.change import Action, Change, Impact, Plan, Unmanaged
from sos.plan.planfile import plan_to_json
from sos.render import render_plan
from sos.render.json import render_json
from sos.render.markdown import render_markdown
from sos.render.text import NO_CHANGES, format_value, render_text

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "plans"
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))

BLUEPRINT_DIGEST = "3f0c1d9a8b7e6f5a4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c"
LIVE_FINGERPRINT = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"


def at(line: int, file: str = "blueprint.yaml") -> Span:
    return Span(file, line, 7)


def plan(*changes: Change, target: str = "sandbox", target_type: str = "local", unchanged: int = 0,
         unmanaged: tuple[Unmanaged, ...] = (), cannot_enforce: tuple[str, ...] = ()) -> Plan:
    return Plan(target=target, target_type=target_type, changes=changes, blueprint_digest=BLUEPRINT_DIGEST,
                live_fingerprint=LIVE_FINGERPRINT, unchanged=unchanged, unmanaged=unmanaged,
                cannot_enforce=cannot_enforce, sos_version="0.1.0")


def create(address: str, origin: Span | None, **after: Any) -> Change:
    return Change(Address.parse(address), Action.CREATE, None, after, origin)


def update(address: str, origin: Span | None, before: dict[str, Any], after: dict[str, Any],
           danger: str = "") -> Change:
    return Change(Address.parse(address), Action.UPDATE, before, after, origin, danger)


def delete(address: str, origin: Span | None, before: dict[str, Any], danger: str = "") -> Change:
    return Change(Address.parse(address), Action.DELETE, before, None, origin, danger)


BUDGET_CONFIRMED = create("field.opportunity.budget_confirmed", at(8), type="checkbox", label="Budget confirmed")
PROPOSAL_STAGE = {"label": "Proposal", "probability": 50, "forecast": "pipeline", "outcome": "open",
                  "max_days": None, "require": ["budget_confirmed"], "order": 3}
WMS_INTEGRATION = create(
    "field.opportunity.wms_integration", at(44), type="picklist", label="WMS integration",
    values=["Manhattan", "Blue Yonder", "SAP EWM", "Other WMS", "No WMS"],
    help="The warehouse management system the robots must integrate with.",
    description="", default=None, api_names={"salesforce": "WMS_Integration__c"})


def case_style_example() -> Plan:
    """The example in STYLE.md §4."""
    return plan(BUDGET_CONFIRMED,
                update("stage.new_business.proposal", at(21), PROPOSAL_STAGE, {**PROPOSAL_STAGE, "probability": 60}),
                unchanged=12)


def case_creates() -> Plan:
    return plan(
        BUDGET_CONFIRMED,
        WMS_INTEGRATION,
        create("pipeline.opportunity.new_business", at(80), label="New business",
               stages=["discovery", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]),
        create("stage.new_business.pilot", at(96), label="Pilot", probability=40, forecast="pipeline",
               outcome="open", max_days=45, require=["pilot_site", "pilot_success_criteria"]),
        replace(create("rule.opportunity.pilot_has_end_date", at(140),
                       when="stage >= 'pilot'", require="not is_blank(pilot_end_date)",
                       message="Set the pilot's end date: open-ended pilots tie up demo robots."),
                impact=Impact(37, 12, "opportunity", "always")),
        create("route.lead.west_mid_market", at(171, "starter:b2b-saas-meddicc"),
               when="state in ['CA', 'OR', 'WA'] and employees >= 200",
               assign_to={"queue": "West | Mid-market", "strategy": "round_robin"}),
        create("lead_status.lead.nurture", None, label="Nurture", default=False, converted=False),
    )


def case_updates() -> Plan:
    field_before = {"type": "picklist", "label": "Forecast category", "values": ["Pipeline", "Best case", "Commit"],
                    "help": "", "default": None}
    field_after = {"type": "picklist", "label": "Forecast category",
                   "values": ["Pipeline", "Best case", "Commit", "Omitted"],
                   "help": "Where this deal counts in the forecast.", "default": "Pipeline"}
    rule_before = {"when": "stage >= 'proposal'", "require": "amount > 0",
                   "message": "A proposal needs an amount."}
    rule_after = {"when": "stage >= 'proposal'", "require": "amount > 0 and close_date >= today()",
                  "message": "A proposal needs an amount and a close date that has not passed."}
    return plan(
        update("field.opportunity.forecast_category", at(30), field_before, field_after),
        update("stage.new_business.proposal", at(21), PROPOSAL_STAGE,
               {**PROPOSAL_STAGE, "probability": 60, "max_days": 30,
                "require": ["budget_confirmed", "economic_buyer"]}),
        replace(update("rule.opportunity.proposal_has_amount", at(120), rule_before, rule_after),
                impact=Impact(1, 1, "opportunity", "on_stage_change", more=True)),
        update("cadence.lead.new_inbound", at(150), {"action": {"task": "Call", "due_in_days": 1}, "when": ""},
               {"action": {"task": "Call within the hour", "due_in_days": 0}, "when": "source = 'demo request'"}),
        unchanged=31,
    )


def case_deletes_and_dangers() -> Plan:
    return plan(
        update("stage.new_business.proposal", at(21), PROPOSAL_STAGE,
               {**PROPOSAL_STAGE, "label": "Proposal/Price Quote"},
               danger="renames a stage reps and reports know by name"),
        update("field.opportunity.site_count", at(28), {"type": "text", "label": "Sites in scope", "length": 20},
               {"type": "number", "label": "Sites in scope", "precision": 4, "scale": 0},
               danger="changes a field's type: the CRM may refuse it or lose data"),
        delete("cadence.lead.nurture_recycle", None,
               {"trigger": {"status": "nurture"}, "action": {"task": "Re-engage"}}),
        delete("stage.new_business.technical_validation", at(60, "starter:b2b-saas-meddicc"),
               {"label": "Technical validation", "probability": 40},
               danger="removes a stage: deals in it must move first, and reports that use it lose it"),
        delete("field.opportunity.legacy_region", None, {"type": "picklist", "label": "Region (old)"},
               danger="deletes a field and the data in it"),
        target="prod", target_type="salesforce", unchanged=40,
    )


def case_unmanaged_and_cannot_enforce() -> Plan:
    return plan(
        BUDGET_CONFIRMED,
        create("lead_status.lead.working", at(101), label="Working", default=False, converted=False),
        unmanaged=(
            Unmanaged(Address(Kind.FIELD, "account", "industry"), at(14),
                      "exists in the CRM but was not created by sos; left alone (`--adopt` takes it under management)"),
            Unmanaged(Address(Kind.LEAD_STATUS, "lead", "qualified"), None,
                      "exists in the CRM but was not created by sos; left alone (`--adopt` takes it under management)"),
        ),
        cannot_enforce=("hubspot targets do not hold cadences; 3 in the blueprint are not applied",
                        "HubSpot cannot require fields per stage; `sos audit` will check it"),
        target="crm", target_type="hubspot", unchanged=7,
    )


def case_drift() -> Plan:
    """Changed outside sos: an update whose attributes agree, and one with a changed attribute too."""
    rule = {"when": "stage.is_open", "require": "close_date >= today()", "message": "Close dates ahead."}
    return plan(
        Change(Address.parse("rule.opportunity.close_date_not_past"), Action.UPDATE, rule, rule, at(17),
               reason="rule switched off in Salesforce"),
        Change(Address.parse("pipeline.opportunity.new_business"), Action.UPDATE, {"label": "New"},
               {"label": "New business"}, at(9),
               reason="deal-aging fields edited in Salesforce; record type not visible in permission set | <b>"),
        target="prod", target_type="salesforce", unchanged=9,
    )


def case_empty() -> Plan:
    return plan(unchanged=58)


def case_empty_with_notes() -> Plan:
    return plan(
        unmanaged=(Unmanaged(Address(Kind.FIELD, "opportunity", "next_step"), at(33),
                             "exists in the CRM but was not created by sos; left alone "
                             "(`--adopt` takes it under management)"),),
        cannot_enforce=("pipedrive targets do not hold routes; 2 in the blueprint are not applied",),
        target="deals", target_type="pipedrive", unchanged=20,
    )


def case_renames() -> Plan:
    """`renamed_from:` as diff plans it: a stage renamed in place (its requirement follows), a field the target
    cannot rename in place (created, saying why, and the old one deleted)."""
    stage = {"label": "Demo", "probability": 25, "forecast": "pipeline", "outcome": "open"}
    live, desired = Model(), Model()
    live.add(Resource(Address.parse("stage.new_business.demo"), stage))
    live.add(Resource(Address.parse("field.opportunity.budget_ok"), {"type": "checkbox", "label": "Budget OK"}))
    desired.add(Resource(Address.parse("stage.new_business.product_demo"), {**stage, "label": "Product demo"},
                         at(31), renamed_from="demo"))
    desired.add(Resource(Address.parse("field.opportunity.budget_confirmed"),
                         {"type": "checkbox", "label": "Budget confirmed"}, at(12), renamed_from="budget_ok"))
    made = diff(desired, live, target="crm", target_type="hubspot",
                cannot_rename={Kind.FIELD: "HubSpot cannot change a property's internal name"})
    return replace(made, blueprint_digest=BLUEPRINT_DIGEST, live_fingerprint=LIVE_FINGERPRINT, sos_version="0.1.0")


CASES: dict[str, Callable[[], Plan]] = {
    "style-example": case_style_example,
    "creates": case_creates,
    "updates": case_updates,
    "deletes-and-dangers": case_deletes_and_dangers,
    "unmanaged-and-cannot-enforce": case_unmanaged_and_cannot_enforce,
    "drift": case_drift,
    "empty": case_empty,
    "empty-with-notes": case_empty_with_notes,
    "renames": case_renames,
}


def renderings(data: dict[str, Any]) -> dict[str, str]:
    return {"plan.txt": render_plan(data, "text"), "plan.md": render_plan(data, "markdown"),
            "plan.json": render_plan(data, "json")}


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, request: pytest.FixtureRequest) -> None:
    directory = GOLDEN / case
    outputs = renderings(plan_to_json(CASES[case]()))
    if request.config.getoption("--update-golden"):
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (directory / name).write_text(text, encoding="utf-8", newline="")
        return
    for name, text in outputs.items():
        path = directory / name
        assert path.exists(), f"{path.relative_to(ROOT)} is missing; run `pytest tests/render --update-golden`"
        assert text == path.read_text(encoding="utf-8"), f"{path.relative_to(ROOT)} differs"


@pytest.mark.parametrize("case", CASES)
def test_json_validates_against_the_plan_schema(case: str) -> None:
    rendered = json.loads(render_json(plan_to_json(CASES[case]())))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(SCHEMA).iter_errors(rendered)]
    assert errors == []


@pytest.mark.parametrize("case", CASES)
def test_renderings_need_nothing_but_the_saved_json(case: str) -> None:
    data = plan_to_json(CASES[case]())
    assert renderings(json.loads(render_json(data))) == renderings(data)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] == "https://sos.dev/schemas/plan.schema.json"


def _object_schemas(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{path}/{index}")
    return found


def test_the_schema_describes_every_property_and_allows_no_others() -> None:
    objects = [(path, node) for path, node in _object_schemas(SCHEMA) if "/then" not in path and "/if" not in path]
    assert objects
    undocumented = [f"{path}/properties/{name}" for path, node in objects
                    for name, prop in node["properties"].items() if not prop.get("description")]
    assert undocumented == []
    assert [path for path, node in objects if node.get("additionalProperties") is not False] == []


@pytest.mark.parametrize("case", CASES)
def test_the_schema_requires_exactly_what_plan_to_json_writes(case: str) -> None:
    data = plan_to_json(CASES[case]())
    # `sos plan` adds checks; a saved plan adds desired
    assert set(SCHEMA["required"]) == set(SCHEMA["properties"]) - {"checks", "desired"} == set(data)
    for change in data["changes"]:
        assert set(SCHEMA["$defs"]["Change"]["required"]) == set(change)
    for item in data["unmanaged"]:
        assert set(SCHEMA["$defs"]["Unmanaged"]["required"]) == set(item)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split("/")

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return mutate


@pytest.mark.parametrize("mutate", [
    pytest.param(_set("format_version", 1), id="format-version-1"),
    pytest.param(_set("surprise", True), id="extra-top-level-property"),
    pytest.param(_set("target/org", "acme-prod"), id="extra-target-property"),
    pytest.param(_set("summary/replace", 0), id="extra-summary-property"),
    pytest.param(_set("summary/create", -1), id="negative-count"),
    pytest.param(_set("changes/0/address", "object.opportunity.budget"), id="unknown-kind"),
    pytest.param(_set("changes/0/address", "field.budget_confirmed"), id="address-without-scope"),
    pytest.param(_set("changes/0/action", "replace"), id="unknown-action"),
    pytest.param(_set("changes/0/origin", "blueprint.yaml"), id="origin-without-line"),
    pytest.param(_set("changes/0/before", {"type": "text"}), id="create-with-before"),
    pytest.param(_set("changes/0/attributes", [{"name": "type", "before": None, "after": "checkbox"}]),
                 id="create-with-attributes"),
    pytest.param(_set("changes/1/attributes", []), id="update-without-attributes"),
    pytest.param(_set("changes/1/after", None), id="update-without-after"),
    pytest.param(_set("changes/2/after", {"label": "Old"}), id="delete-with-after"),
    pytest.param(_set("changes/2/danger", ""), id="empty-danger"),
    pytest.param(_set("changes/1/attributes/0/was", 50), id="extra-attribute-property"),
    pytest.param(_set("unmanaged/0/note", None), id="unmanaged-without-note"),
    pytest.param(_set("cannot_enforce/0", 3), id="cannot-enforce-not-text"),
])
def test_the_schema_rejects_what_plan_to_json_never_writes(mutate: Callable[[dict[str, Any]], None]) -> None:
    data = plan_to_json(plan(
        BUDGET_CONFIRMED,
        update("stage.new_business.proposal", at(21), PROPOSAL_STAGE, {**PROPOSAL_STAGE, "probability": 60}),
        delete("field.opportunity.legacy_region", None, {"label": "Region (old)"}, danger="deletes a field"),
        unmanaged=(Unmanaged(Address(Kind.FIELD, "account", "industry"), at(14), "left alone"),),
        cannot_enforce=("cannot",),
    ))
    assert list(Draft202012Validator(SCHEMA).iter_errors(data)) == []
    broken = copy.deepcopy(data)
    mutate(broken)
    assert list(Draft202012Validator(SCHEMA).iter_errors(broken)) != []


@pytest.mark.parametrize("case", CASES)
def test_colour_codes_appear_only_when_asked_for(case: str) -> None:
    data = plan_to_json(CASES[case]())
    plain, coloured = render_text(data, colour=False), render_text(data, colour=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    assert click.unstyle(coloured) == plain
    assert "\x1b[" not in render_markdown(data)
    assert "\x1b[" not in render_json(data)


def test_colours_follow_the_action() -> None:
    text = render_text(plan_to_json(case_deletes_and_dangers()), colour=True)
    text += render_text(plan_to_json(case_creates()), colour=True)
    assert click.style("+", fg="green", bold=True) in text
    assert click.style("~", fg="yellow", bold=True) in text
    assert click.style("-", fg="red", bold=True) in text
    assert click.style("      ! deletes a field and the data in it", fg="red", bold=True) in text


@pytest.mark.parametrize(("changes", "closing"), [
    pytest.param([BUDGET_CONFIRMED], "Plan: 1 to add, 0 to change, 0 to delete.", id="one-create"),
    pytest.param([BUDGET_CONFIRMED, WMS_INTEGRATION,
                  create("field.lead.warehouse_count", at(70), type="number", label="Warehouses"),
                  update("stage.new_business.proposal", at(21), PROPOSAL_STAGE,
                         {**PROPOSAL_STAGE, "probability": 60}),
                  update("stage.new_business.discovery", at(15), {"probability": 10}, {"probability": 5}),
                  delete("field.opportunity.legacy_region", None, {"label": "Region (old)"})],
                 "Plan: 3 to add, 2 to change, 1 to delete.", id="mixed"),
    pytest.param([delete("cadence.lead.a", None, {}), delete("cadence.lead.b", None, {})],
                 "Plan: 0 to add, 0 to change, 2 to delete.", id="deletes-only"),
    pytest.param([], NO_CHANGES, id="empty"),
])
def test_the_closing_line_counts_the_changes(changes: list[Change], closing: str) -> None:
    data = plan_to_json(plan(*changes))
    assert render_text(data, colour=False).splitlines()[-1] == closing
    assert click.unstyle(render_text(data, colour=True)).splitlines()[-1] == closing
    assert f"**{closing.split('.')[0]}.**" in render_markdown(data)


def test_text_aligns_origins_and_attribute_values() -> None:
    lines = render_text(plan_to_json(case_style_example()), colour=False).splitlines()
    assert lines[2:] == [
        "  + field.opportunity.budget_confirmed                blueprint.yaml:8",
        "      type:  checkbox",
        "      label: Budget confirmed",
        "  ~ stage.new_business.proposal                       blueprint.yaml:21",
        "      probability: 50 → 60",
        "",
        "Plan: 1 to add, 1 to change, 0 to delete.",
    ]


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param("checkbox", "checkbox", id="word"),
    pytest.param("Budget confirmed", "Budget confirmed", id="words"),
    pytest.param("", '""', id="empty-string"),
    pytest.param("60", '"60"', id="string-that-reads-as-number"),
    pytest.param("true", '"true"', id="string-that-reads-as-boolean"),
    pytest.param(" padded", '" padded"', id="edge-space"),
    pytest.param("two\nlines", '"two\\nlines"', id="newline"),
    pytest.param(None, "(none)", id="null"),
    pytest.param(60, "60", id="number"),
    pytest.param(False, "false", id="boolean"),
    pytest.param(["Blue Yonder", "SAP EWM", "a, b"], '[Blue Yonder, SAP EWM, "a, b"]', id="list"),
    pytest.param({"queue": "West", "weights": [1, None]}, "{queue: West, weights: [1, null]}", id="map"),
])
def test_text_shows_values_on_one_line(value: Any, shown: str) -> None:
    assert format_value(value) == shown


def test_markdown_table_rows_keep_their_cells() -> None:
    markdown = render_markdown(plan_to_json(case_creates()))
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(case_creates().changes)
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows)
    assert "West \\| Mid-market" in markdown


def test_markdown_shows_the_targets_checks_above_the_changes() -> None:
    data = plan_to_json(plan(create("field.opportunity.budget", at(8), type="currency"), target="prod",
                             target_type="salesforce"))
    data["checks"] = [
        Diagnostic(at(8), "3 deals are in stage Proposal, which this plan removes", "stage-in-use",
                   fix="move those deals | then plan again").to_json(),
        Diagnostic(None, "lead status 'New' becomes the default <instead>", "default-status",
                   Severity.WARNING).to_json()]
    lines = render_markdown(data).splitlines()
    caution = lines.index("> [!CAUTION]")
    assert lines[caution:caution + 7] == [
        "> [!CAUTION]", "> `sos apply` refuses this plan:",
        "> - `blueprint.yaml`:8: 3 deals are in stage Proposal, which this plan removes (`stage-in-use`). "
        "Fix: move those deals | then plan again",
        "", "> [!NOTE]", "> Applying this plan also:",
        "> - lead status 'New' becomes the default &lt;instead> (`default-status`)."]
    assert caution < lines.index("| | Resource | Change | Origin |")
