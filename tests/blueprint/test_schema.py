"""Schema errors as users see them: `file:line:col: error: message [code]`, at the offending node."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos.blueprint.schema import merged_problems, validate_node
from sos.blueprint.yaml import load_text
from tests.blueprint.conftest import Files

ROOT = Path(__file__).resolve().parents[2]
HEAD = "sos: 1\nname: t\n"


@pytest.mark.parametrize(("source", "expected"), [
    # --- unknown keys ---
    pytest.param(HEAD + "descripton: x\n",
                 ["b.yaml:3:1: error: unknown key 'descripton' in the top level [unknown-key]"],
                 id="unknown-top-level-key"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    budget: {type: currency, lable: Budget}\n",
                 ["b.yaml:5:30: error: unknown key 'lable' in fields.opportunity.budget [unknown-key]"],
                 id="unknown-field-option"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: A, probabilty: 10}\n",
                 ["b.yaml:6:9: error: pipelines.p.stages[0] is missing required key 'probability' [missing-key]",
                  "b.yaml:6:28: error: unknown key 'probabilty' in pipelines.p.stages[0] [unknown-key]"],
                 id="unknown-stage-key"),
    pytest.param(HEAD + "fields:\n  oportunity:\n    a: {type: text}\n",
                 ["b.yaml:4:3: error: unknown key 'oportunity' in fields [unknown-key]"],
                 id="unknown-object"),
    # --- missing required keys ---
    pytest.param("name: t\n", ["b.yaml:1:1: error: the top level is missing required key 'sos' [missing-key]"],
                 id="missing-sos"),
    pytest.param("sos: 1\n", ["b.yaml:1:1: error: the top level is missing required key 'name' [missing-key]"],
                 id="missing-name"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    flag: {label: Flag}\n",
                 ["b.yaml:5:5: error: fields.opportunity.flag is missing required key 'type' [missing-key]"],
                 id="missing-field-type"),
    pytest.param(HEAD + "rules:\n  r:\n    object: lead\n    require: 'true'\n",
                 ["b.yaml:4:3: error: rules.r is missing required key 'message' [missing-key]"],
                 id="missing-rule-message"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: A}\n",
                 ["b.yaml:6:9: error: pipelines.p.stages[0] is missing required key 'probability' [missing-key]"],
                 id="missing-stage-probability"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    kind: {type: picklist}\n",
                 ["b.yaml:5:5: error: fields.opportunity.kind is missing required key 'values' [missing-key]"],
                 id="picklist-without-values"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    buyer: {type: lookup}\n",
                 ["b.yaml:5:5: error: fields.opportunity.buyer is missing required key 'to' [missing-key]"],
                 id="lookup-without-to"),
    # --- values outside an enum ---
    pytest.param(HEAD + "fields:\n  opportunity:\n    kind: {type: picklst, values: [a]}\n",
                 ["b.yaml:5:18: error: fields.opportunity.kind.type: 'picklst' is not allowed here [bad-value]"],
                 id="bad-field-type"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: w, label: W, probability: 100, outcome: win}\n",
                 ["b.yaml:6:55: error: pipelines.p.stages[0].outcome: 'win' is not allowed here [bad-value]"],
                 id="bad-outcome"),
    pytest.param(HEAD + "rules:\n  r: {object: opportunities, require: 'true', message: m}\n",
                 ["b.yaml:4:15: error: rules.r.object: 'opportunities' is not allowed here [bad-value]"],
                 id="bad-rule-object"),
    pytest.param("sos: 2\nname: t\n", ["b.yaml:1:6: error: sos: '2' is not allowed here [bad-value]"],
                 id="bad-language-version"),
    # --- numbers out of range ---
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: A, probability: 150}\n",
                 ["b.yaml:6:41: error: pipelines.p.stages[0].probability: 150 is above the maximum 100 "
                  "[schema-maximum]"], id="probability-above-100"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: A, probability: -1}\n",
                 ["b.yaml:6:41: error: pipelines.p.stages[0].probability: -1 is below the minimum 0 "
                  "[schema-minimum]"], id="probability-negative"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    note: {type: text, length: 300}\n",
                 ["b.yaml:5:32: error: fields.opportunity.note.length: 300 is above the maximum 255 [schema-maximum]"],
                 id="text-length-above-255"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    pct: {type: percent, precision: 0}\n",
                 ["b.yaml:5:37: error: fields.opportunity.pct.precision: 0 is below the minimum 1 [schema-minimum]"],
                 id="precision-zero"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: A, probability: 5, max_days: 0}\n",
                 ["b.yaml:6:54: error: pipelines.p.stages[0].max_days: 0 is below the minimum 1 [schema-minimum]"],
                 id="max-days-zero"),
    pytest.param(HEAD + "cadences:\n  c:\n    trigger: {record_created: lead}\n"
                        "    action: {create_task: {subject: s, due_in_days: -1}}\n",
                 ["b.yaml:6:53: error: cadences.c.action.create_task.due_in_days: -1 is below the minimum 0 "
                  "[schema-minimum]"], id="due-in-days-negative"),
    # --- YAML 1.1 surprises where text is expected ---
    pytest.param(HEAD + "fields:\n  opportunity:\n    pick: {type: picklist, values: [Yes, No, 1.10]}\n",
                 ["b.yaml:5:37: error: 'Yes' is read as a boolean; quote it [yaml-unquoted]",
                  "b.yaml:5:42: error: 'No' is read as a boolean; quote it [yaml-unquoted]",
                  "b.yaml:5:46: error: '1.10' is read as a number; quote it [yaml-unquoted]"],
                 id="unquoted-yes-no-1.10"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages:\n      - {key: a, label: On, probability: 10}\n",
                 ["b.yaml:6:25: error: 'On' is read as a boolean; quote it [yaml-unquoted]"], id="unquoted-on"),
    pytest.param(HEAD + "lead_statuses:\n  - key: paused\n    label: Off\n",
                 ["b.yaml:5:12: error: 'Off' is read as a boolean; quote it [yaml-unquoted]"], id="unquoted-off"),
    pytest.param(HEAD + "cadences:\n  c:\n    schedule: {every: monday, at: 9:00, timezone: UTC}\n"
                        "    action: {report: forecast}\n",
                 ["b.yaml:5:35: error: '9:00' is read as a number; quote it [yaml-unquoted]"], id="unquoted-time"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    b: {type: picklist, values: [x], default: ~}\n",
                 ["b.yaml:5:47: error: '~' is read as nothing (null); quote it [yaml-unquoted]"], id="unquoted-tilde"),
    # --- wrong types ---
    pytest.param(HEAD + "fields:\n  opportunity:\n    c: {type: text, label: [x]}\n",
                 ["b.yaml:5:28: error: fields.opportunity.c.label must be text [wrong-type]"], id="label-is-a-list"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    f: {type: text, length: '50'}\n",
                 ["b.yaml:5:29: error: fields.opportunity.f.length must be a whole number [wrong-type]"],
                 id="quoted-number"),
    pytest.param(HEAD + "pipelines:\n  p:\n    stages: {}\n",
                 ["b.yaml:5:13: error: pipelines.p.stages must be a list [wrong-type]"], id="stages-not-a-list"),
    pytest.param("- a\n- b\n", ["b.yaml:1:1: error: the top level must be a map of keys [wrong-type]"],
                 id="top-level-list"),
    # --- keys that are not snake_case ---
    pytest.param(HEAD + "fields:\n  opportunity:\n    budget-confirmed: {type: checkbox}\n",
                 ["b.yaml:5:5: error: 'budget-confirmed' is not a valid key [bad-key]"], id="kebab-case-key"),
    pytest.param(HEAD + "rules:\n  Rule-2: {object: lead, require: 'true', message: m}\n",
                 ["b.yaml:4:3: error: 'Rule-2' is not a valid key [bad-key]"], id="capitalised-rule-key"),
    pytest.param(HEAD + "fields:\n  lead:\n    1st_touch: {type: date}\n",
                 ["b.yaml:5:5: error: '1st_touch' is not a valid key [bad-key]"], id="key-starts-with-digit"),
    # --- several problems are all reported, in file order ---
    pytest.param(HEAD + "descripton: x\nfields:\n  lead:\n    a: {type: txt}\n    b: {type: text, length: 0}\n",
                 ["b.yaml:3:1: error: unknown key 'descripton' in the top level [unknown-key]",
                  "b.yaml:6:15: error: fields.lead.a.type: 'txt' is not allowed here [bad-value]",
                  "b.yaml:7:29: error: fields.lead.b.length: 0 is below the minimum 1 [schema-minimum]"],
                 id="all-reported"),
])
def test_schema_errors(files: Files, source: str, expected: list[str]) -> None:
    files.write("b.yaml", source)
    blueprint, _ = files.load()
    assert files.headlines() == expected
    assert blueprint is None


@pytest.mark.parametrize(("source", "headline", "fix"), [
    pytest.param(HEAD + "descripton: x\n", "b.yaml:3:1: error: unknown key 'descripton' in the top level [unknown-key]",
                 "did you mean 'description'?", id="unknown-key-did-you-mean"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    budget: {type: currency, lable: Budget}\n",
                 "b.yaml:5:30: error: unknown key 'lable' in fields.opportunity.budget [unknown-key]",
                 "did you mean 'label'?", id="field-option-did-you-mean"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    a: {type: text, colour: red}\n",
                 "b.yaml:5:21: error: unknown key 'colour' in fields.opportunity.a [unknown-key]",
                 "allowed keys: type, label, help, description, renamed_from, length, precision, scale, values, "
                 "default, to, api_name", id="unknown-key-lists-allowed"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    kind: {type: picklst, values: [a]}\n",
                 "b.yaml:5:18: error: fields.opportunity.kind.type: 'picklst' is not allowed here [bad-value]",
                 "did you mean 'picklist'?", id="enum-did-you-mean"),
    pytest.param(HEAD + "cadences:\n  c:\n    schedule: {every: mon, at: '09:00', timezone: UTC}\n"
                        "    action: {report: forecast}\n",
                 "b.yaml:5:23: error: cadences.c.schedule.every: 'mon' is not allowed here [bad-value]",
                 "did you mean 'monday'?", id="weekday-did-you-mean"),
    pytest.param("sos: 2\nname: t\n", "b.yaml:1:6: error: sos: '2' is not allowed here [bad-value]",
                 "use one of: 1", id="enum-lists-choices"),
    pytest.param(HEAD + "fields:\n  lead:\n    v: {type: picklist, values: [Yes]}\n",
                 "b.yaml:5:34: error: 'Yes' is read as a boolean; quote it [yaml-unquoted]",
                 'write "Yes"', id="quote-it"),
    pytest.param(HEAD + "fields:\n  opportunity:\n    budget-confirmed: {type: checkbox}\n",
                 "b.yaml:5:5: error: 'budget-confirmed' is not a valid key [bad-key]",
                 "rename it to 'budget_confirmed'", id="rename-kebab"),
    pytest.param(HEAD + "fields:\n  lead:\n    1st_touch: {type: date}\n",
                 "b.yaml:5:5: error: '1st_touch' is not a valid key [bad-key]",
                 "rename it to 'x_1st_touch'", id="rename-leading-digit"),
    # camelCase is the most common slip; its snake_case form keeps the word break.
    pytest.param(HEAD + "fields:\n  opportunity:\n    dealSize: {type: number}\n",
                 "b.yaml:5:5: error: 'dealSize' is not a valid key [bad-key]",
                 "rename it to 'deal_size'", id="rename-camel-case"),
])
def test_schema_error_fixes(files: Files, source: str, headline: str, fix: str) -> None:
    files.write("b.yaml", source)
    _, diagnostics = files.load()
    assert [(d.headline(), d.fix) for d in diagnostics] == [(headline, fix)]


def test_unquoted_value_explains_why(files: Files) -> None:
    files.write("b.yaml", HEAD + "lead_statuses:\n  - {key: paused, label: Off, default: true, converted: true}\n")
    [diagnostic] = files.load()[1]
    assert diagnostic.why == "YAML 1.1 turns unquoted Yes/No/On/Off, numbers and ~ into other types"


def test_quoted_yes_no_and_version_numbers_are_text(files: Files) -> None:
    files.write("b.yaml", HEAD + "fields:\n  lead:\n    v: {type: picklist, values: ['Yes', \"No\", '1.10', 'On']}\n")
    blueprint = files.valid()
    assert blueprint.fields["lead"]["v"].values == ("Yes", "No", "1.10", "On")


def test_booleans_are_fine_where_a_boolean_is_expected(files: Files) -> None:
    files.write("b.yaml", HEAD + "lead_statuses:\n  - {key: new, label: New, default: yes}\n"
                                 "  - {key: won, label: Won, converted: on}\n")
    blueprint = files.valid()
    assert [(s.default, s.converted) for s in blueprint.lead_statuses] == [(True, False), (False, True)]


# --- a child blueprint may override part of an inherited item; the merged result is checked whole ---

def test_partial_overrides_are_allowed_in_a_child(files: Files) -> None:
    files.write("b.yaml", """\
        sos: 1
        name: t
        extends: starter:smb-bant
        fields:
          opportunity:
            need: {label: The need}
        pipelines:
          new_business:
            stages:
              - {key: demo, probability: 30}
        rules:
          close_date_not_past: {message: Pick a future close date.}
        lead_statuses:
          - {key: nurture, label: Long-term nurture}
        cadences:
          first_touch:
            action: {create_task: {subject: Call now}}
        """)
    blueprint = files.valid()
    need = blueprint.fields["opportunity"]["need"]
    assert (need.type, need.label) == ("long_text", "The need")
    demo = next(s for s in blueprint.pipelines["new_business"].stages if s.key == "demo")
    assert (demo.label, demo.probability, demo.max_days) == ("Demo", 30, 7)
    rule = blueprint.rules["close_date_not_past"]
    assert (rule.message, rule.require_text) == ("Pick a future close date.", "close_date >= today()")
    assert blueprint.cadences["first_touch"].trigger == {"record_created": "lead"}


def test_a_new_stage_without_label_is_rejected_after_merging(files: Files) -> None:
    files.write("b.yaml", """\
        sos: 1
        name: t
        extends: starter:smb-bant
        pipelines:
          new_business:
            stages:
              - {key: demo, probability: 30}
              - key: pilot
                probability: 40
        """)
    # smb-bant has 7 stages; the new open stage lands before the closed ones, at index 5 of the merged list.
    assert files.headlines() == [
        "b.yaml:8:9: error: pipelines.new_business.stages[5] is missing required key 'label' [missing-key]",
    ]


def test_a_new_field_without_type_is_rejected_after_merging(files: Files) -> None:
    files.write("b.yaml", """\
        sos: 1
        name: t
        extends: starter:smb-bant
        fields:
          opportunity:
            need: {label: The need}
            extra: {label: Extra}
        """)
    assert files.headlines() == [
        "b.yaml:7:5: error: fields.opportunity.extra is missing required key 'type' [missing-key]",
    ]


def test_a_child_that_switches_a_field_type_must_complete_it(files: Files) -> None:
    # `timing` is a picklist in smb-bant; as a lookup it needs `to`, and its inherited values do not count.
    files.write("b.yaml", "sos: 1\nname: t\nextends: starter:smb-bant\n"
                          "fields:\n  opportunity:\n    timing: {type: lookup}\n")
    assert files.headlines() == [
        "b.yaml:6:5: error: fields.opportunity.timing is missing required key 'to' [missing-key]",
    ]


@pytest.mark.parametrize(("item", "expected"), [
    pytest.param("fields:\n  lead:\n    flag: {label: Flag}\n",
                 "fields.lead.flag is missing required key 'type' [missing-key]", id="field"),
    pytest.param("rules:\n  r:\n    object: lead\n    require: 'true'\n",
                 "rules.r is missing required key 'message' [missing-key]", id="rule"),
])
def test_missing_key_is_reported_at_the_same_place_with_or_without_extends(files: Files, item: str,
                                                                          expected: str) -> None:
    """An item's problem points at its key line, as its origin does, whether or not the file extends another."""
    files.write("empty.yaml", "sos: 1\nname: empty\n")
    files.write("alone.yaml", "sos: 1\nname: t\n# no extends\n" + item)
    files.write("layered.yaml", "sos: 1\nname: t\nextends: empty.yaml\n" + item)
    alone, layered = files.headlines("alone.yaml"), files.headlines("layered.yaml")
    assert [h.split(":", 1)[1] for h in alone] == [h.split(":", 1)[1] for h in layered]
    assert layered == [f"layered.yaml:5:3: error: {expected}" if "rules" in item
                       else f"layered.yaml:6:5: error: {expected}"]


@pytest.mark.parametrize(("text", "broken"), [
    pytest.param((ROOT / "examples" / "acme" / "blueprint.yaml").read_text(encoding="utf-8"), False, id="valid"),
    pytest.param(HEAD + "fields:\n  lead:\n    x: {label: X}\n", True, id="item-missing-key"),
    pytest.param(HEAD + "pipelines:\n  p: {stages: []}\n", True, id="item-empty-list"),
    pytest.param(HEAD + "colour: red\nrules: {}\n", True, id="frame-unknown-key"),
    pytest.param(HEAD + "lead_statuses: {new: {label: New}}\n", True, id="frame-wrong-type"),
    pytest.param(HEAD + "routing:\n  - {key: a, assign_to: {queue: q}}\n  - {key: b}\n", True, id="second-item"),
])
def test_merged_problems_are_those_validate_node_finds(text: str, broken: bool) -> None:
    """A merged blueprint is checked item by item (each item once per process) and around its items; whatever it
    holds, the problems are those the whole schema finds, at the same places."""
    root = load_text(text, "b.yaml")
    expected = validate_node(root, "blueprint")
    assert bool(expected) == broken
    assert merged_problems(root) == expected
    assert merged_problems(root) == expected      # again, from what the first one kept
