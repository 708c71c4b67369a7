"""diff(desired, live): actions, attribute changes, order, ownership, dangers, unsupported kinds."""

from __future__ import annotations

from typing import Any

import pytest

from sos import __version__
from sos.errors import Span
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, AttrChange, Change, Unmanaged
from sos.plan.diff import diff


def res(address: str, managed: bool = True, line: int | None = None, **attrs: Any) -> Resource:
    origin = Span("blueprint.yaml", line, 3) if line else None
    return Resource(Address.parse(address), attrs, origin, managed)


def model(*resources: Resource) -> Model:
    m = Model()
    for r in resources:
        m.add(r)
    return m


def plan_of(desired: Model, live: Model, **kwargs: Any):  # noqa: ANN201 — a Plan
    return diff(desired, live, target="sandbox", target_type="local", **kwargs)


def summary(plan) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(c.action.value, str(c.address)) for c in plan.changes]


FIELD = "field.opportunity.budget_confirmed"
STAGE = "stage.new_business.proposal"


def test_counts_of_create_update_delete_and_unchanged() -> None:
    desired = model(res(FIELD, type="checkbox", label="Budget"),
                    res("field.opportunity.pain", type="long_text", label="Pain"),
                    res(STAGE, label="Proposal", probability=60),
                    res("stage.new_business.discovery", label="Discovery", probability=10))
    live = model(res(FIELD, type="checkbox", label="Budget"),
                 res(STAGE, label="Proposal", probability=50),
                 res("stage.new_business.demo", label="Demo", probability=20),
                 res("field.opportunity.old", type="text", label="Old"))
    plan = plan_of(desired, live)
    assert (plan.count(Action.CREATE), plan.count(Action.UPDATE), plan.count(Action.DELETE), plan.unchanged) == (
        2, 1, 2, 1)
    assert summary(plan) == [
        ("create", "field.opportunity.pain"),
        ("create", "stage.new_business.discovery"),
        ("update", STAGE),
        ("delete", "stage.new_business.demo"),
        ("delete", "field.opportunity.old"),
    ]
    assert plan.has_changes
    assert plan.target == "sandbox" and plan.target_type == "local" and plan.sos_version == __version__
    assert plan.blueprint_digest == desired.fingerprint() and plan.live_fingerprint == live.fingerprint()


def test_identical_models_plan_nothing() -> None:
    both = [res(FIELD, type="checkbox"), res(STAGE, label="Proposal", probability=60)]
    plan = plan_of(model(*both), model(*both))
    assert plan.changes == () and not plan.has_changes and plan.unchanged == 2


def test_update_carries_attribute_level_before_and_after() -> None:
    desired = model(res(STAGE, line=21, label="Proposal", probability=60, max_days=14))
    live = model(res(STAGE, label="Proposal", probability=50, description="Old text"))
    (change,) = plan_of(desired, live).changes
    assert change == Change(Address.parse(STAGE), Action.UPDATE,
                            {"label": "Proposal", "probability": 50, "description": "Old text"},
                            {"label": "Proposal", "probability": 60, "max_days": 14},
                            Span("blueprint.yaml", 21, 3), "")
    assert change.attr_changes == [AttrChange("description", "Old text", None),
                                   AttrChange("max_days", None, 14),
                                   AttrChange("probability", 50, 60)]


def test_create_and_delete_carry_whole_attributes() -> None:
    plan = plan_of(model(res(FIELD, line=8, type="checkbox", label="Budget")),
                   model(res("field.lead.gone", type="text", label="Gone")))
    create, delete = plan.changes
    assert (create.action, create.before, create.after, create.origin) == (
        Action.CREATE, None, {"type": "checkbox", "label": "Budget"}, Span("blueprint.yaml", 8, 3))
    assert (delete.action, delete.before, delete.after) == (Action.DELETE, {"type": "text", "label": "Gone"}, None)


ONE_OF_EACH = [
    "field.opportunity.f", "stage.p.s", "pipeline.opportunity.p", "lead_status.lead.new",
    "rule.opportunity.r", "cadence.lead.c", "route.lead.catch_all",
]


def test_creates_go_in_dependency_order() -> None:
    desired = model(*(res(a, x=1) for a in reversed(ONE_OF_EACH)))
    assert summary(plan_of(desired, Model())) == [("create", a) for a in ONE_OF_EACH]


def test_deletes_go_last_in_reverse_kind_order() -> None:
    live = model(*(res(a, x=1) for a in ONE_OF_EACH))
    desired = model(res("field.lead.added", x=1), res("rule.lead.changed", x=2))
    live.add(res("rule.lead.changed", x=1))
    assert summary(plan_of(desired, live)) == [
        ("create", "field.lead.added"),
        ("update", "rule.lead.changed"),
        *[("delete", a) for a in reversed(ONE_OF_EACH)],
    ]


def test_updates_follow_the_same_kind_order_as_creates() -> None:
    desired = model(res("rule.opportunity.r", x=2), res("pipeline.opportunity.p", x=2), res("stage.p.new", x=1),
                    res("field.opportunity.f", x=2))
    live = model(res("rule.opportunity.r", x=1), res("pipeline.opportunity.p", x=1), res("field.opportunity.f", x=1))
    assert summary(plan_of(desired, live)) == [
        ("update", "field.opportunity.f"), ("create", "stage.p.new"),
        ("update", "pipeline.opportunity.p"), ("update", "rule.opportunity.r")]


def test_unmanaged_look_alike_is_reported_and_never_touched() -> None:
    desired = model(res(FIELD, line=8, type="checkbox", label="Budget"), res(STAGE, label="Proposal"))
    live = model(res(FIELD, managed=False, type="text", label="Someone's own field"),
                 res(STAGE, managed=False, label="Proposal"),
                 res("field.opportunity.admins_field", managed=False, type="text"))
    plan = plan_of(desired, live)
    assert plan.changes == ()
    assert plan.unchanged == 0
    assert plan.unmanaged == (
        Unmanaged(Address.parse(FIELD), Span("blueprint.yaml", 8, 3),
                  "exists in the CRM but was not created by sos; left alone; it differs from the blueprint in "
                  "label, type (`--adopt` takes it under management)"),
        Unmanaged(Address.parse(STAGE), None,
                  "exists in the CRM but was not created by sos; left alone (`--adopt` takes it under management)"),
    )


def test_only_managed_resources_are_deleted() -> None:
    live = model(res("field.lead.mine", type="text"), res("field.lead.theirs", managed=False, type="text"),
                 res("cadence.schedule.theirs", managed=False, x=1))
    plan = plan_of(Model(), live)
    assert summary(plan) == [("delete", "field.lead.mine")]
    assert plan.unmanaged == ()  # not at an address the blueprint wants: not even worth a mention


@pytest.mark.parametrize(("desired", "live", "expected"), [
    pytest.param([], [res(STAGE, label="Proposal")],
                 "removes a stage: deals in it must move first, and reports that use it lose it", id="stage-removed"),
    pytest.param([res(STAGE, label="Proposal sent")], [res(STAGE, label="Proposal")],
                 "renames a stage reps and reports know by name", id="stage-renamed"),
    pytest.param([], [res(FIELD, type="checkbox")], "deletes a field and the data in it", id="field-deleted"),
    pytest.param([res(FIELD, type="text")], [res(FIELD, type="checkbox")],
                 "changes a field's type: the CRM may refuse it or lose data", id="field-type-changed"),
    pytest.param([], [res("lead_status.lead.working", label="Working")],
                 "removes a lead status that leads may be in", id="lead-status-removed"),
    pytest.param([res(STAGE, label="Proposal", probability=60)], [res(STAGE, label="Proposal", probability=50)],
                 "", id="stage-probability-is-safe"),
    pytest.param([res(FIELD, type="text", label="New")], [res(FIELD, type="text", label="Old")],
                 "", id="field-relabel-is-safe"),
    pytest.param([res(STAGE, label="Proposal")], [], "", id="stage-created-is-safe"),
    pytest.param([], [res("rule.opportunity.r", when="x")], "", id="rule-deleted-is-safe"),
])
def test_dangers_are_flagged(desired: list[Resource], live: list[Resource], expected: str) -> None:
    (change,) = plan_of(model(*desired), model(*live)).changes
    assert change.danger == expected


NOTES = {Kind.AUTOMATION: "HubSpot sequences are not written yet; set them up by hand",
         Kind.ASSIGNMENT: "HubSpot workflows are not written yet; set them up by hand"}


def test_unsupported_kinds_go_to_cannot_enforce_with_the_targets_note() -> None:
    desired = model(res(FIELD, type="checkbox"), res(STAGE, label="Proposal"),
                    res("cadence.lead.first_touch", x=1), res("cadence.schedule.weekly", x=1),
                    res("route.lead.catch_all", x=1), res("route.lead.big", x=1), res("route.lead.small", x=1))
    # a managed cadence already in the CRM is not deleted either: the target does not hold cadences for sos
    live = model(res("cadence.lead.stale", x=1))
    plan = diff(desired, live, target="hs", target_type="hubspot",
                supported=frozenset({Kind.FIELD, Kind.STAGE, Kind.PIPELINE, Kind.RULE}), notes=NOTES)
    assert summary(plan) == [("create", FIELD), ("create", STAGE)]
    assert plan.unchanged == 0
    assert plan.cannot_enforce == (
        "2 cadences in the blueprint are not applied: HubSpot sequences are not written yet; set them up by hand",
        "3 routes in the blueprint are not applied: HubSpot workflows are not written yet; set them up by hand",
    )


def test_cannot_enforce_counts_one_in_the_singular_and_needs_no_note() -> None:
    desired = model(res("cadence.lead.first_touch", x=1), res("route.lead.catch_all", x=1))
    plan = diff(desired, Model(), target="pd", target_type="pipedrive", supported=frozenset({Kind.FIELD}),
                notes={Kind.ASSIGNMENT: "not written to Pipedrive"})
    assert plan.changes == ()
    assert plan.cannot_enforce == ("1 cadence in the blueprint is not applied",
                                   "1 route in the blueprint is not applied: not written to Pipedrive")


@pytest.mark.parametrize(("count", "expected"), [
    pytest.param(1, "1 lead status in the blueprint is not applied", id="one"),
    pytest.param(2, "2 lead statuses in the blueprint are not applied", id="two"),
])
def test_cannot_enforce_names_lead_statuses_in_the_plural(count: int, expected: str) -> None:
    desired = model(*(res(f"lead_status.lead.s{i}", label=f"S{i}") for i in range(count)))
    plan = diff(desired, Model(), target="hs", target_type="hubspot", supported=frozenset({Kind.FIELD}))
    assert plan.cannot_enforce == (expected,)


def test_a_kind_held_in_part_is_planned_and_its_note_shown() -> None:
    desired = model(res(STAGE, label="Proposal"))
    plan = diff(desired, Model(), target="pd", target_type="pipedrive",
                notes={Kind.STAGE: "Pipedrive checks required fields on entering a stage only"})
    assert summary(plan) == [("create", STAGE)]
    assert plan.cannot_enforce == (
        "1 stage in the blueprint is applied in part: Pipedrive checks required fields on entering a stage only",)


def test_all_kinds_supported_means_nothing_unenforced() -> None:
    plan = plan_of(model(res("cadence.lead.first_touch", x=1)), Model())
    assert plan.cannot_enforce == ()


def test_drift_makes_an_update_with_its_reason_where_the_attributes_agree() -> None:
    rule = res("rule.opportunity.r", when="x")
    other = res(FIELD, type="text")
    plan = plan_of(model(rule, other), model(rule, other),
                   drift={rule.address: "rule switched off in Salesforce"})
    (change,) = plan.changes
    assert (change.action, change.address, change.attr_changes, change.reason) == (
        Action.UPDATE, rule.address, [], "rule switched off in Salesforce")
    assert plan.unchanged == 1


def test_drift_gives_its_reason_beside_attribute_changes_and_never_touches_what_sos_did_not_create() -> None:
    mine, theirs = res(FIELD, type="text", label="New"), res("field.lead.theirs", type="text")
    live = model(res(FIELD, type="text", label="Old"), Resource(theirs.address, theirs.attrs, managed=False))
    plan = plan_of(model(mine, theirs), live, drift={mine.address: "edited", theirs.address: "edited"})
    assert [(c.address, c.attr_changes, c.reason) for c in plan.changes] == [
        (mine.address, [AttrChange("label", "Old", "New")], "edited")]
    assert [u.address for u in plan.unmanaged] == [theirs.address]
