"""Merge semantics of extends / remove: what a child blueprint adds up to, and where each item came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos.blueprint.load import load_blueprint
from sos.blueprint.types import Blueprint
from sos.resources import starters_dir
from tests.blueprint.conftest import Files, line_of

BASE = """\
sos: 1
name: base
description: Base process
fields:
  opportunity:
    budget: {type: currency, label: Budget}
    tier: {type: picklist, values: [Gold, Silver], label: Tier, help: Account tier}
  lead:
    source_detail: {type: text, label: Source detail}
pipelines:
  sales:
    label: Sales
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14, require: [budget]}
      - {key: proposal, label: Proposal, probability: 50, max_days: 21}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
rules:
  budget_positive:
    object: opportunity
    when: not is_blank(budget)
    require: budget > 0
    message: Budget must be positive.
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: working, label: Working}
  - {key: qualified, label: Qualified, converted: true}
cadences:
  first_touch:
    trigger: {record_created: lead}
    action: {create_task: {subject: Call, due_in_hours: 4}}
  weekly_review:
    schedule: {every: monday, at: "09:00", timezone: UTC}
    action: {report: pipeline_review}
routing:
  - {key: big, when: employees > 500, assign_to: {user: ae@acme.com}}
  - {key: everyone, assign_to: {queue: sdr}}
"""


def child(body: str = "", extends: str = "[base.yaml]") -> str:
    return f"sos: 1\nname: client\nextends: {extends}\n{body}"


def stage_keys(blueprint: Blueprint, pipeline: str = "sales") -> list[str]:
    return [s.key for s in blueprint.pipelines[pipeline].stages]


def stage(blueprint: Blueprint, key: str, pipeline: str = "sales"):
    return next(s for s in blueprint.pipelines[pipeline].stages if s.key == key)


@pytest.fixture
def base(files: Files) -> Files:
    files.write("base.yaml", BASE)
    return files


def test_child_inherits_everything(base: Files) -> None:
    base.write("b.yaml", child())
    blueprint = base.valid()
    assert (blueprint.name, blueprint.description) == ("client", "Base process")
    assert list(blueprint.fields) == ["lead", "opportunity"]  # in OBJECTS order
    assert stage_keys(blueprint) == ["discovery", "proposal", "won", "lost"]
    assert list(blueprint.rules) == ["budget_positive"]
    assert [s.key for s in blueprint.lead_statuses] == ["new", "working", "qualified"]
    assert list(blueprint.cadences) == ["first_touch", "weekly_review"]
    assert [r.key for r in blueprint.routing] == ["big", "everyone"]
    assert blueprint.files == ("b.yaml", "base.yaml")


def test_child_overrides_one_stage_attribute(base: Files) -> None:
    base.write("b.yaml", child("pipelines:\n  sales:\n    stages:\n      - {key: proposal, probability: 60}\n"))
    blueprint = base.valid()
    proposal = stage(blueprint, "proposal")
    assert (proposal.label, proposal.probability, proposal.max_days, proposal.forecast) == (
        "Proposal", 60, 21, "pipeline")
    assert stage_keys(blueprint) == ["discovery", "proposal", "won", "lost"]  # it keeps its place
    assert blueprint.pipelines["sales"].label == "Sales"
    assert stage(blueprint, "discovery").probability == 10


def test_child_overrides_one_field_attribute(base: Files) -> None:
    base.write("b.yaml", child("fields:\n  opportunity:\n    tier: {label: Level}\n"))
    tier = base.valid().fields["opportunity"]["tier"]
    assert (tier.type, tier.label, tier.values, tier.help) == ("picklist", "Level", ("Gold", "Silver"), "Account tier")


def test_changing_a_field_type_replaces_the_whole_field(base: Files) -> None:
    base.write("b.yaml", child("fields:\n  opportunity:\n    tier: {type: text}\n"))
    tier = base.valid().fields["opportunity"]["tier"]
    assert (tier.type, tier.label, tier.values, tier.help) == ("text", "Tier", (), "")


def test_child_overrides_rule_and_cadence_attributes(base: Files) -> None:
    base.write("b.yaml", child("""\
rules:
  budget_positive: {message: Enter a positive budget.}
cadences:
  first_touch:
    action: {create_task: {subject: Call now, due_in_hours: 1}}
"""))
    blueprint = base.valid()
    rule = blueprint.rules["budget_positive"]
    assert (rule.when_text, rule.require_text, rule.message) == (
        "not is_blank(budget)", "budget > 0", "Enter a positive budget.")
    cadence = blueprint.cadences["first_touch"]
    assert cadence.trigger == {"record_created": "lead"}
    assert cadence.action == {"create_task": {"subject": "Call now", "due_in_hours": 1}}


def test_a_cadence_can_change_from_trigger_to_schedule(base: Files) -> None:
    base.write("b.yaml", child("""\
cadences:
  first_touch:
    schedule: {every: day, at: "08:00", timezone: UTC}
    action: {notify: {to: {queue: sdr}, message: New leads are waiting}}
"""))
    cadence = base.valid().cadences["first_touch"]
    assert (cadence.trigger, cadence.schedule) == (None, {"every": "day", "at": "08:00", "timezone": "UTC"})


def test_a_schedule_override_keeps_what_it_does_not_say(base: Files) -> None:
    base.write("b.yaml", child("cadences:\n  weekly_review:\n    schedule: {timezone: Europe/Berlin}\n"))
    cadence = base.valid().cadences["weekly_review"]
    assert cadence.schedule == {"every": "monday", "at": "09:00", "timezone": "Europe/Berlin"}


def test_a_schedule_replaces_a_trigger_and_a_trigger_a_schedule(base: Files) -> None:
    base.write("b.yaml", child("""\
cadences:
  weekly_review:
    trigger: {record_created: lead}
    action: {create_task: {subject: Call, due_in_hours: 4}}
"""))
    cadence = base.valid().cadences["weekly_review"]
    assert (cadence.trigger, cadence.schedule) == ({"record_created": "lead"}, None)


@pytest.mark.parametrize(("new_stage", "order"), [
    pytest.param("{key: negotiation, label: Negotiation, probability: 70}",
                 ["discovery", "proposal", "negotiation", "won", "lost"], id="open-before-closed-by-default"),
    pytest.param("{key: disqualified, label: Disqualified, probability: 0, outcome: lost}",
                 ["discovery", "proposal", "won", "lost", "disqualified"], id="closed-at-the-end"),
    pytest.param("{key: demo, label: Demo, probability: 30, after: discovery}",
                 ["discovery", "demo", "proposal", "won", "lost"], id="after"),
    pytest.param("{key: lead_in, label: Lead in, probability: 5, before: discovery}",
                 ["lead_in", "discovery", "proposal", "won", "lost"], id="before-first"),
    pytest.param("{key: on_hold, label: On hold, probability: 0, outcome: lost, before: won}",
                 ["discovery", "proposal", "on_hold", "won", "lost"], id="closed-placed-with-before"),
    pytest.param("{key: signed, label: Signed, probability: 100, outcome: won, after: lost}",
                 ["discovery", "proposal", "won", "lost", "signed"], id="after-last"),
])
def test_new_stage_placement(base: Files, new_stage: str, order: list[str]) -> None:
    base.write("b.yaml", child(f"pipelines:\n  sales:\n    stages:\n      - {new_stage}\n"))
    blueprint, diagnostics = base.load()
    assert [d.headline() for d in diagnostics if d.is_error] == []
    assert stage_keys(blueprint) == order


def test_several_new_stages_keep_their_order(base: Files) -> None:
    base.write("b.yaml", child("""\
pipelines:
  sales:
    stages:
      - {key: demo, label: Demo, probability: 30, after: discovery}
      - {key: pilot, label: Pilot, probability: 40, after: demo}
      - {key: negotiation, label: Negotiation, probability: 70}
      - {key: contracting, label: Contracting, probability: 90}
"""))
    assert stage_keys(base.valid()) == [
        "discovery", "demo", "pilot", "proposal", "negotiation", "contracting", "won", "lost"]


def test_a_new_pipeline_keeps_its_own_order(base: Files) -> None:
    base.write("b.yaml", child("""\
pipelines:
  renewals:
    stages:
      - {key: renewal_won, label: Renewed, probability: 100, outcome: won}
      - {key: renewal_lost, label: Churned, probability: 0, outcome: lost}
      - {key: renewal_due, label: Renewal due, probability: 80}
"""))
    blueprint, _ = base.load()
    assert stage_keys(blueprint, "renewals") == ["renewal_won", "renewal_lost", "renewal_due"]
    assert list(blueprint.pipelines) == ["sales", "renewals"]


@pytest.mark.parametrize(("statuses", "order"), [
    pytest.param("  - {key: nurture, label: Nurture}", ["new", "working", "qualified", "nurture"],
                 id="appended-by-default"),
    pytest.param("  - {key: contacted, label: Contacted, after: new}", ["new", "contacted", "working", "qualified"],
                 id="after"),
    pytest.param("  - {key: working, label: In progress}", ["new", "working", "qualified"], id="override-in-place"),
])
def test_lead_status_placement(base: Files, statuses: str, order: list[str]) -> None:
    base.write("b.yaml", child(f"lead_statuses:\n{statuses}\n"))
    blueprint = base.valid()
    assert [s.key for s in blueprint.lead_statuses] == order


def test_overridden_status_keeps_inherited_flags(base: Files) -> None:
    base.write("b.yaml", child("lead_statuses:\n  - {key: qualified, label: SQL}\n"))
    qualified = base.valid().lead_statuses[2]
    assert (qualified.key, qualified.label, qualified.converted) == ("qualified", "SQL", True)


@pytest.mark.parametrize(("routes", "order"), [
    pytest.param("  - {key: partners, when: \"lead_source == 'Partner'\", assign_to: {queue: partners}}",
                 ["big", "partners", "everyone"], id="conditional-before-catch-all"),
    pytest.param("  - {key: vip, when: employees > 5000, assign_to: {queue: vip}, before: big}",
                 ["vip", "big", "everyone"], id="before"),
    pytest.param("  - {key: fallback, assign_to: {queue: other}, after: everyone}",
                 ["big", "everyone", "fallback"], id="after"),
    pytest.param("  - {key: everyone, assign_to: {queue: inbound}}", ["big", "everyone"], id="override-in-place"),
])
def test_route_placement(base: Files, routes: str, order: list[str]) -> None:
    base.write("b.yaml", child(f"routing:\n{routes}\n"))
    blueprint, diagnostics = base.load()
    assert [d.headline() for d in diagnostics if d.is_error] == []
    assert [r.key for r in blueprint.routing] == order


def test_overridden_route_keeps_its_place_and_condition(base: Files) -> None:
    base.write("b.yaml", child("routing:\n  - {key: big, assign_to: {queue: enterprise}}\n"))
    big = base.valid().routing[0]
    assert (big.key, big.when_text, big.assign_to) == ("big", "employees > 500", {"queue": "enterprise"})


def test_remove_drops_inherited_items(base: Files) -> None:
    base.write("b.yaml", child("""\
remove:
  fields: {opportunity: [tier], lead: [source_detail]}
  stages: {sales: [proposal]}
  rules: [budget_positive]
  lead_statuses: [working]
  cadences: [weekly_review]
  routing: [big]
"""))
    blueprint = base.valid()
    assert list(blueprint.fields.get("opportunity", {})) == ["budget"]
    assert blueprint.fields.get("lead", {}) == {}
    assert stage_keys(blueprint) == ["discovery", "won", "lost"]
    assert blueprint.rules == {}
    assert [s.key for s in blueprint.lead_statuses] == ["new", "qualified"]
    assert list(blueprint.cadences) == ["first_touch"]
    assert [r.key for r in blueprint.routing] == ["everyone"]


def test_remove_a_pipeline(base: Files) -> None:
    base.write("b.yaml", child("""\
remove:
  pipelines: [sales]
pipelines:
  deals:
    stages:
      - {key: open, label: Open, probability: 10}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
"""))
    assert list(base.valid().pipelines) == ["deals"]


def test_remove_applies_before_the_childs_own_items(base: Files) -> None:
    """Removing then redefining an item starts it afresh: nothing of the parent's version survives."""
    base.write("b.yaml", child("""\
remove:
  rules: [budget_positive]
  stages: {sales: [proposal]}
rules:
  budget_positive:
    object: opportunity
    require: budget >= 0
    message: No negative budgets.
pipelines:
  sales:
    stages:
      - {key: proposal, label: Quote, probability: 40}
"""))
    blueprint = base.valid()
    rule = blueprint.rules["budget_positive"]
    assert (rule.when, rule.when_text, rule.require_text) == (None, "", "budget >= 0")
    proposal = stage(blueprint, "proposal")
    assert (proposal.label, proposal.max_days) == ("Quote", None)


def test_removing_a_required_field_is_reported_where_it_is_required(base: Files) -> None:
    base.write("b.yaml", child("remove:\n  fields: {opportunity: [budget]}\n"))
    # The stage and the rule that use `budget` come from base.yaml: that is where the problems are.
    assert base.headlines() == [
        "base.yaml:14:85: error: stage 'discovery' requires unknown field 'budget' [unknown-field]",
        "base.yaml:21:24: error: unknown field 'budget' on opportunity [unknown-name]",
        "base.yaml:22:14: error: unknown field 'budget' on opportunity [unknown-name]",
    ]


@pytest.mark.parametrize(("extends", "probability", "description", "order"), [
    pytest.param("[base.yaml, extra.yaml]", 40, "Extra process", ["discovery", "proposal", "won", "lost"],
                 id="base-then-extra"),
    # extra.yaml comes first, so its `proposal` is there before base.yaml brings `discovery` in as a new open
    # stage, which lands after it (no closed stage yet): order follows the merge, not the base file.
    pytest.param("[extra.yaml, base.yaml]", 50, "Base process", ["proposal", "discovery", "won", "lost"],
                 id="extra-then-base"),
])
def test_several_parents_apply_in_order(base: Files, extends: str, probability: int, description: str,
                                        order: list[str]) -> None:
    base.write("extra.yaml", """\
sos: 1
name: extra
description: Extra process
fields:
  opportunity:
    partner: {type: text}
pipelines:
  sales:
    stages:
      - {key: proposal, probability: 40}
""")
    base.write("b.yaml", child(extends=extends))
    blueprint, diagnostics = base.load()
    assert [d.headline() for d in diagnostics if d.is_error] == []
    assert stage_keys(blueprint) == order
    assert stage(blueprint, "proposal").probability == probability
    assert stage(blueprint, "proposal").label == "Proposal"
    assert blueprint.description == description
    assert blueprint.name == "client"
    assert set(blueprint.fields["opportunity"]) == {"budget", "tier", "partner"}


def test_the_child_wins_over_all_parents(base: Files) -> None:
    base.write("extra.yaml", "sos: 1\nname: extra\npipelines:\n  sales:\n    stages:\n"
                             "      - {key: proposal, probability: 40}\n")
    base.write("b.yaml", child("pipelines:\n  sales:\n    stages:\n      - {key: proposal, probability: 45}\n",
                               extends="[base.yaml, extra.yaml]"))
    assert stage(base.valid(), "proposal").probability == 45


def test_a_diamond_is_not_a_cycle(base: Files) -> None:
    base.write("left.yaml", "sos: 1\nname: left\nextends: base.yaml\n")
    base.write("right.yaml", "sos: 1\nname: right\nextends: base.yaml\n"
                             "fields:\n  lead:\n    partner: {type: text}\n")
    base.write("b.yaml", child(extends="[left.yaml, right.yaml]"))
    blueprint = base.valid()
    assert stage_keys(blueprint) == ["discovery", "proposal", "won", "lost"]
    assert set(blueprint.fields["lead"]) == {"source_detail", "partner"}


def test_a_grandparent_chain_through_folders(files: Files) -> None:
    files.write("shared/base.yaml", BASE)
    files.write("shared/mid.yaml", "sos: 1\nname: mid\nextends: base.yaml\nrules:\n"
                                   "  budget_positive: {message: From mid.}\n")
    files.write("clients/acme/b.yaml", child(extends="[../../shared/mid.yaml]"))
    blueprint, diagnostics = load_blueprint(Path("clients/acme/b.yaml"), [files.root])  # the project folder
    assert diagnostics == [] and blueprint is not None
    assert blueprint.rules["budget_positive"].message == "From mid."
    assert blueprint.files == ("clients/acme/b.yaml", "shared/mid.yaml", "shared/base.yaml")


# --- provenance: each item's origin is the file:line that last set it ---

def where(item) -> str:
    return f"{item.origin.file}:{item.origin.line}"


def test_origins_name_the_file_and_line_that_last_set_each_item(base: Files) -> None:
    base.write("b.yaml", child("""\
fields:
  opportunity:
    tier: {label: Level}
    partner: {type: text}
pipelines:
  sales:
    stages:
      - {key: proposal, probability: 60}
      - {key: demo, label: Demo, probability: 30, after: discovery}
rules:
  budget_positive: {message: Positive please.}
lead_statuses:
  - {key: working, label: In progress}
cadences:
  weekly_review:
    schedule: {every: friday, at: "16:00", timezone: UTC}
routing:
  - {key: partners, when: "lead_source == 'Partner'", assign_to: {queue: partners}}
"""))
    bp = base.valid()
    assert where(bp) == "b.yaml:1"
    fields = bp.fields["opportunity"]
    assert [where(fields[k]) for k in ("budget", "tier", "partner")] == ["base.yaml:6", "b.yaml:6", "b.yaml:7"]
    assert where(bp.fields["lead"]["source_detail"]) == "base.yaml:9"
    assert where(bp.pipelines["sales"]) == "b.yaml:9"
    assert {s.key: where(s) for s in bp.pipelines["sales"].stages} == {
        "discovery": "base.yaml:14", "demo": "b.yaml:12", "proposal": "b.yaml:11",
        "won": "base.yaml:16", "lost": "base.yaml:17"}
    assert where(bp.rules["budget_positive"]) == "b.yaml:14"
    assert [where(s) for s in bp.lead_statuses] == ["base.yaml:25", "b.yaml:16", "base.yaml:27"]
    assert {k: where(c) for k, c in bp.cadences.items()} == {"first_touch": "base.yaml:29",
                                                            "weekly_review": "b.yaml:18"}
    assert [where(r) for r in bp.routing] == ["base.yaml:36", "b.yaml:21", "base.yaml:37"]


def test_overridden_attributes_keep_their_own_file(base: Files) -> None:
    base.write("b.yaml", child("pipelines:\n  sales:\n    stages:\n      - {key: proposal, probability: 60}\n"))
    node = stage(base.valid(), "proposal").node
    assert str(node.get("probability").span) == "b.yaml:7:38"
    assert str(node.get("label").span) == "base.yaml:15:32"


def test_starter_items_name_the_starter(files: Files) -> None:
    files.write("b.yaml", child(extends="starter:smb-bant",
                                body="fields:\n  opportunity:\n    need: {label: The need}\n"))
    bp = files.valid()
    starter = starters_dir() / "smb-bant.yaml"
    assert where(bp.fields["opportunity"]["budget_confirmed"]) == \
        f"starter:smb-bant:{line_of(starter, '    budget_confirmed:')}"
    assert where(bp.fields["opportunity"]["need"]) == "b.yaml:6"
    assert where(stage(bp, "demo", "new_business")) == f"starter:smb-bant:{line_of(starter, '- key: demo')}"
    assert where(bp.rules["close_date_not_past"]) == f"starter:smb-bant:{line_of(starter, '  close_date_not_past:')}"
    assert bp.files == ("b.yaml", "starter:smb-bant")


# --- a file that extends another is checked only partially, so it may leave items incomplete ---

@pytest.fixture
def mixin(files: Files) -> Files:
    files.write("grand.yaml", "sos: 1\nname: grand\n")
    return files


def test_a_child_completes_a_field_its_mixin_left_without_type(mixin: Files) -> None:
    mixin.write("extra.yaml", "sos: 1\nname: extra\nextends: grand.yaml\nfields:\n  lead:\n    x: {label: X}\n")
    mixin.write("b.yaml", child("fields:\n  lead:\n    x: {type: text}\n", extends="extra.yaml"))
    x = mixin.valid().fields["lead"]["x"]
    assert (x.type, x.label) == ("text", "X")


def test_a_field_a_mixin_left_without_type_is_reported(mixin: Files) -> None:
    mixin.write("extra.yaml", "sos: 1\nname: extra\nextends: grand.yaml\nfields:\n  lead:\n    x: {label: X}\n")
    mixin.write("b.yaml", child("fields:\n  lead:\n    x: {help: Some help}\n", extends="extra.yaml"))
    assert mixin.headlines() == ["b.yaml:6:5: error: fields.lead.x is missing required key 'type' [missing-key]"]


def test_removing_a_stage_of_a_pipeline_its_mixin_left_without_stages(mixin: Files) -> None:
    mixin.write("extra.yaml", "sos: 1\nname: extra\nextends: grand.yaml\npipelines:\n  sales:\n    label: Sales\n")
    mixin.write("b.yaml", child("remove:\n  stages: {sales: [a]}\n", extends="extra.yaml"))
    assert mixin.headlines() == [
        "b.yaml:5:20: error: cannot remove stage sales.a: no parent blueprint defines it [remove-unknown]",
    ]


@pytest.mark.parametrize(("stages", "order"), [
    pytest.param("      - {key: discovery, after: proposal}", ["proposal", "discovery", "won", "lost"], id="after"),
    pytest.param("      - {key: proposal, probability: 55, before: discovery}",
                 ["proposal", "discovery", "won", "lost"], id="before-with-override"),
])
def test_before_after_moves_an_inherited_stage(base: Files, stages: str, order: list[str]) -> None:
    base.write("b.yaml", child(f"pipelines:\n  sales:\n    stages:\n{stages}\n"))
    blueprint, diagnostics = base.load()
    assert [d.code for d in diagnostics] == ["probability-order"]  # discovery's 10 now follows proposal
    assert stage_keys(blueprint) == order
    assert stage(blueprint, "discovery").require == ("budget",)  # moved, not replaced


def test_an_open_stage_after_a_closed_one_is_a_warning(base: Files) -> None:
    base.write("b.yaml", child("pipelines:\n  sales:\n    stages:\n      - {key: proposal, after: lost}\n"))
    blueprint, diagnostics = base.load()
    assert blueprint is not None
    assert [d.headline() for d in diagnostics] == [
        "b.yaml:7:9: warning: open stage sales.proposal comes after won stage 'won' [stage-order]"]


def test_also_require_adds_to_an_inherited_stages_criteria(base: Files) -> None:
    base.write("b.yaml", child("pipelines:\n  sales:\n    stages:\n"
                               "      - {key: discovery, also_require: [next_step, budget]}\n"
                               "      - {key: proposal, also_require: [amount], also_require_to_leave: [next_step]}\n"))
    blueprint = base.valid()
    assert stage(blueprint, "discovery").require == ("budget", "next_step")   # the inherited first, once each
    assert stage(blueprint, "proposal").require == ("amount",)                # nothing inherited: its own list
    assert stage(blueprint, "proposal").require_to_leave == ("next_step",)


def test_restating_an_inherited_require_that_drops_fields_is_a_warning(base: Files) -> None:
    text = child("pipelines:\n  sales:\n    stages:\n      - {key: discovery, require: [next_step]}\n")
    base.write("b.yaml", text)
    blueprint, diagnostics = base.load()
    assert blueprint is not None and stage(blueprint, "discovery").require == ("next_step",)   # still replaced
    line = text.splitlines()[6]
    assert [d.headline() for d in diagnostics] == [
        f"b.yaml:7:{line.index('[next_step]') + 1}: warning: stage 'discovery' replaces the inherited `require` "
        "and drops budget [require-dropped]"]
    assert diagnostics[0].fix == ("add them to this list, or write `also_require: [...]` to add fields to the "
                                  "inherited list instead of replacing it")
    # keeping the inherited fields, or clearing the list on purpose, says nothing
    for kept in ("[budget, next_step]", "[]"):
        base.write("b.yaml", text.replace("[next_step]", kept))
        base.valid()


def test_clients_of_one_starter_each_get_its_whole_tree_and_an_edit_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A starter is parsed once per run for all its clients (sos status); removing a stage in one client must not
    take it from the next, and an edited starter is read again."""
    library = tmp_path / "library"
    library.mkdir()
    (library / "house.yaml").write_text(BASE, encoding="utf-8")
    monkeypatch.setenv("SOS_STARTERS_PATH", str(library))
    trimmed, whole = tmp_path / "trimmed.yaml", tmp_path / "whole.yaml"
    trimmed.write_text(child("remove:\n  stages:\n    sales: [proposal]\n", "[starter:house]"), encoding="utf-8")
    whole.write_text(child(extends="[starter:house]"), encoding="utf-8")
    first, problems = load_blueprint(trimmed, [tmp_path])
    assert first is not None, problems
    assert stage_keys(first) == ["discovery", "won", "lost"]
    second, _ = load_blueprint(whole, [tmp_path])
    assert second is not None and stage_keys(second) == ["discovery", "proposal", "won", "lost"]
    (library / "house.yaml").write_text(BASE.replace("label: Proposal,", "label: Proposal sent,"), encoding="utf-8")
    edited, _ = load_blueprint(whole, [tmp_path])
    assert edited is not None and stage(edited, "proposal").label == "Proposal sent"
