"""The Pipedrive backend through the `sos` command line against the strict emulator over real HTTP: plan → apply
→ plan for every starter, the lowering read back from the emulator's state (stages, rotting, required fields,
lead labels, the registry), a failure half way and the plan of the remainder, a stage holding deals, saved plans
applied from another clone, and no token anywhere."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from typing import Any

import pytest
import requests

from tests.backends.pipedrive.conftest import SMALL, STARTERS, Repo, blueprint_text
from tests.emulators.pipedrive import Account, PipedriveEmulator
from tests.emulators.pipedrive.fields import Option

NO_CHANGES = "No changes. The CRM matches the blueprint."


def pipeline(account: Account, name: str) -> int:
    return next(p.id for p in account.pipelines.values() if p.name == name and not p.is_deleted)


def stages(account: Account, name: str) -> list[tuple[str, int, bool, int | None]]:
    return [(s.name, s.deal_probability, s.is_deal_rot_enabled, s.days_to_rotten)
            for s in account.ordered_stages(pipeline(account, name))]


def field(account: Account, name: str) -> Any:
    return next(f for f in account.fields["deal"] if f.name == name)


@pytest.mark.parametrize("case", [*STARTERS, "acme"])
def test_every_starter_plans_applies_and_then_plans_no_changes(repo: Repo, case: str) -> None:
    repo.write(blueprint_text(case))
    planned = repo.sos("plan").output
    assert "Plan: " in planned and " to add, 0 to change, 0 to delete." in planned
    added = int(planned.split("Plan: ")[1].split(" ")[0])
    applied = repo.sos("apply", "--auto-approve").output
    assert f"Apply complete: {added} added, 0 changed, 0 deleted." in applied
    assert NO_CHANGES in repo.sos("plan").output
    account = repo.emulator.account
    ours = [p for p in account.pipelines.values() if p.name != "Pipeline"]
    assert ours and all(account.ordered_stages(p.id) for p in ours)
    history = [json.loads(line) for line in (repo.root / ".sos" / "history.jsonl").read_text().splitlines()]
    assert [e["outcome"] for e in history] == ["applied"]


def test_stages_fields_rotting_requirements_and_labels_land_as_pipedrive_holds_them(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    # Open stages only: won and lost are deal statuses. Rotting is max_days.
    assert stages(account, "New business") == [("Discovery", 10, True, 14), ("Proposal", 60, False, None)]
    assert account.pipelines[pipeline(account, "New business")].is_deal_probability_enabled is True
    checkbox = field(account, "Budget confirmed")
    assert (checkbox.field_type, [o.label for o in checkbox.options]) == ("enum", ["Yes", "No"])
    assert checkbox.description == "[sos: opportunity.budget_confirmed]"
    proposal = next(s.id for s in account.stages.values() if s.name == "Proposal")
    pipeline_id = pipeline(account, "New business")
    assert field(account, "Competitor").required_fields == {
        "enabled": True, "stage_ids": [proposal], "statuses": {str(pipeline_id): ["won"]}}
    assert [label["name"] for label in account.lead_labels.values()] == ["Hot", "Warm", "Cold", "New", "Qualified"]
    registry = field(account, "sos")
    assert registry.ui_visibility["details_visible_flag"] is False
    assert json.loads(registry.description.split("\n", 1)[1])["pipelines"] == {"new_business": pipeline_id}


def test_a_plan_reads_the_account_with_one_call_per_list(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    repo.emulator.calls.clear()
    said = repo.sos("plan").output
    assert repo.emulator.calls == Counter({
        "GET /v1/users/me": 1, "GET /api/v2/pipelines": 1, "GET /api/v2/stages": 1, "GET /api/v2/dealFields": 1,
        "GET /api/v2/personFields": 1, "GET /api/v2/organizationFields": 1, "GET /v1/leadLabels": 1})
    assert "Read Pipedrive: 7 Pipedrive API calls, 67 tokens of the daily budget" in said


def test_max_days_changes_the_stage_rotting(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    repo.write(SMALL.replace("max_days: 14", "max_days: 21"))
    planned = repo.sos("plan").output
    assert "~ stage.new_business.discovery" in planned and "max_days: 14 → 21" in planned
    repo.sos("apply", "--auto-approve")
    assert stages(repo.emulator.account, "New business")[0] == ("Discovery", 10, True, 21)
    assert NO_CHANGES in repo.sos("plan").output


def test_required_fields_changed_in_pipedrive_are_planned_back(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    competitor = field(repo.emulator.account, "Competitor")
    competitor.required_fields = {"enabled": False}
    planned = repo.sos("plan").output
    assert "~ stage_requirement.new_business.proposal" in planned
    assert "its fields are required otherwise in Pipedrive (changed outside sos)" in planned
    repo.sos("apply", "--auto-approve")
    assert competitor.required_fields["stage_ids"] == [
        next(s.id for s in repo.emulator.account.stages.values() if s.name == "Proposal")]


def test_a_failure_half_way_stops_and_the_next_plan_shows_exactly_the_remainder(repo: Repo) -> None:
    repo.write(SMALL)
    # The second stage's create fails: a POST, which sos never sends twice.
    repo.emulator.faults.server_error(after=1, operations={"POST /api/v2/stages"})
    failed = repo.sos("apply", "--auto-approve", code=1).output
    assert "error: Apply stopped on target 'pd' after 3 of 11 changes; `sos plan` shows the rest [apply-failed]" \
        in failed
    assert "stage.new_business.proposal: Pipedrive failed on POST /api/v2/stages (HTTP 500: Internal server " \
           "error); it may or may not have made it, so sos did not send it again" in failed
    history = json.loads((repo.root / ".sos" / "history.jsonl").read_text().splitlines()[-1])
    assert history["outcome"] == "failed" and history["error"].startswith("stage.new_business.proposal: ")
    remainder = repo.sos("plan").output
    assert "Plan: 8 to add, 0 to change, 0 to delete." in remainder
    assert "+ pipeline.opportunity.new_business" not in remainder and "+ stage.new_business.discovery" not in remainder
    assert "Apply complete: 8 added" in repo.sos("apply", "--auto-approve").output
    assert NO_CHANGES in repo.sos("plan").output
    assert [s[0] for s in stages(repo.emulator.account, "New business")] == ["Discovery", "Proposal"]


def test_a_stage_that_holds_deals_is_never_deleted(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    discovery = next(s.id for s in account.stages.values() if s.name == "Discovery")
    account.seed_deal("Big deal", discovery)
    account.seed_deal("Small deal", discovery)
    repo.write(SMALL.replace("      - {key: discovery, label: Discovery, probability: 10, max_days: 14}\n", ""))
    planned = repo.sos("plan", code=1).output
    assert "- stage.new_business.discovery" in planned
    assert "2 deals are in stage stage.new_business.discovery, which this plan deletes [pd-stage-in-use]" in planned
    refused = repo.sos("apply", "--auto-approve", "--allow-delete", code=1).output
    assert "Apply refused: target 'pd' would refuse this plan; nothing was changed" in refused
    assert account.stages[discovery].is_deleted is False
    account.records["deal"].clear()
    repo.sos("apply", "--auto-approve", "--allow-delete")
    assert account.stages[discovery].is_deleted is True
    assert NO_CHANGES in repo.sos("plan").output


def test_a_saved_plan_applies_from_another_clone(repo: Repo, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    repo.write(SMALL.replace("label: Proposal", "label: Proposal sent"))
    repo.sos("plan", "--out", "plan.json")
    clone = Repo(tmp_path / "clone", repo.emulator, monkeypatch)
    shutil.copy(repo.root / "blueprint.yaml", clone.root / "blueprint.yaml")
    shutil.copy(repo.root / "plan.json", clone.root / "plan.json")
    assert "Apply complete: 0 added, 1 changed, 0 deleted." in clone.sos("apply", "plan.json", "--auto-approve").output
    assert [s[0] for s in stages(repo.emulator.account, "New business")] == ["Discovery", "Proposal sent"]
    assert NO_CHANGES in repo.sos("plan").output and NO_CHANGES in clone.sos("plan").output
    stale = repo.sos("apply", "plan.json", "--auto-approve", code=1).output
    assert "Saved plan is stale" in stale
    for repository in (repo, clone):
        assert repo.emulator.api_token not in "".join(repository.outputs) + repository.files_text()


def test_what_sos_did_not_create_is_left_alone_and_adopted_only_when_asked(repo: Repo) -> None:
    account = repo.emulator.account
    hand_made = account.add_pipeline("New business")
    account.add_stage(hand_made.id, "Discovery", 5)
    planned = repo.write(SMALL).sos("plan", code=1).output
    assert "pipeline.opportunity.new_business" in planned
    assert "exists in the CRM but was not created by sos; left alone" in planned
    assert "stage stage.new_business.proposal goes in pipeline new_business, which sos did not create " \
           "[pd-not-managed]" in planned
    repo.sos("apply", "--auto-approve", code=1)
    assert [s.name for s in account.ordered_stages(hand_made.id)] == ["Discovery"]
    assert "Apply complete: 7 added, 0 changed, 0 deleted, 4 adopted." in \
        repo.sos("apply", "--auto-approve", "--adopt").output
    assert stages(account, "New business") == [("Discovery", 10, True, 14), ("Proposal", 60, False, None)]
    assert len([p for p in account.pipelines.values() if p.name == "New business"]) == 1
    assert NO_CHANGES in repo.sos("plan").output


def test_validate_says_what_checkboxes_and_datetimes_become_at_their_line(repo: Repo) -> None:
    repo.write(SMALL.replace("    competitor: {type: text, label: Competitor}\n",
                             "    competitor: {type: text, label: Competitor}\n"
                             "    demo_at: {type: datetime, label: Demo at}\n"))
    said = repo.sos("validate").output
    assert "blueprint.yaml:7:30: warning: field opportunity.budget_confirmed is a checkbox, which Pipedrive has no " \
           "field type for: sos makes it a Yes/No dropdown (an enum field with the options Yes and No) " \
           "[pd-checkbox]" in said
    assert "blueprint.yaml:6:21: warning: field opportunity.demo_at is a date and time, which Pipedrive has no " \
           "field type for: sos makes it a date field, and the time of day is not kept [pd-datetime]" in said


def test_a_refused_token_stops_a_plan_and_a_spent_daily_budget_stops_an_apply_half_way(
        repo: Repo, pipedrive: PipedriveEmulator) -> None:
    repo.write(SMALL)
    pipedrive.faults.unauthorized()
    refused = repo.sos("plan", code=1).output
    assert "error: Pipedrive refused the API token in PIPEDRIVE_API_TOKEN (HTTP 401: unauthorized access): it is " \
           "wrong, or was revoked or regenerated [pd-auth-failed]" in refused
    # Two reads (the plan's, the apply's), then four writes of 5 tokens each (a pipeline and a stage, each recorded
    # in the registry): the fifth, recording the lost stage, is refused.
    pipedrive.limits.daily_budget = 2 * 67 + 4 * 5
    spent = repo.sos("apply", "--auto-approve", "--no-impact", code=1).output   # its counts would read deals
    assert "stage.new_business.lost: Pipedrive's daily API limit for 'acme' is used up: Daily token budget exceeded " \
           "(HTTP 429 on PATCH /api/v2/dealFields/{code}); it resets in 9 h 0 min" in spent
    assert "Apply stopped on target 'pd' after 2 of 11 changes" in spent
    pipedrive.limits.daily_budget = 30_000
    assert "Apply complete: 9 added" in repo.sos("apply", "--auto-approve").output
    assert NO_CHANGES in repo.sos("plan").output
    assert pipedrive.api_token not in "".join(repo.outputs) + repo.files_text()


def test_429_and_5xx_are_waited_out_during_plan_and_apply(repo: Repo, pipedrive: PipedriveEmulator) -> None:
    from sos.engine import apply_plan, make_plan

    waits: list[float] = []
    lines: list[str] = []
    project, backend = repo.write(SMALL).backend(sleep=waits.append, progress=lines.append)
    pipedrive.faults.rate_limit(times=2)
    run = make_plan(project, project.target("pd"), backend=backend)
    pipedrive.faults.server_error(after=2, status=502, operations={"PATCH /api/v2/dealFields/{code}"})
    assert apply_plan(project, backend, run.plan, run.desired).ok
    assert waits == [2.0, 2.0, 1.0]
    assert lines[0] == "Pipedrive is limiting requests (HTTP 429: Rate limit exceeded); waiting 2 s as its " \
                       "Retry-After asks, then retrying (retry 1 of 5)…"
    assert "Pipedrive answered HTTP 502 (Internal server error); retrying in 1 s (retry 1 of 3)…" in lines
    assert not make_plan(project, project.target("pd"), backend=backend).plan.has_changes


def test_import_then_adopt_takes_the_account_under_management(repo: Repo) -> None:
    account = repo.emulator.account
    account.add_field("deal", "Competitor", "varchar")
    account.add_field("deal", "Budget confirmed", "enum", [("Yes", None), ("No", None)])
    account.add_field("person", "Role", "enum", [("Buyer", None), ("Champion", None)])
    account.add_field("deal", "Meeting window", "daterange")
    (repo.root / "blueprint.yaml").write_text("sos: 1\nname: empty\n", encoding="utf-8")
    said = repo.sos("import", "--target", "pd", "-o", "blueprint.yaml").output
    assert "Left out the deal field 'Meeting window': its Pipedrive type daterange has no blueprint type; sos " \
           "cannot manage it" in said
    assert "Left out the lead labels Hot, Warm, Cold: a blueprint's lead statuses start and convert leads, which " \
           "labels do not; sos cannot manage it" in said
    imported = (repo.root / "blueprint.yaml").read_text(encoding="utf-8")
    assert "budget_confirmed:\n      type: checkbox\n" in imported and "  contact:\n    role:\n" in imported
    assert "    - key: contact_made\n      label: Contact Made\n      probability: 20\n" in imported
    planned = repo.sos("plan").output
    assert NO_CHANGES in planned and "exists in the CRM but was not created by sos" in planned
    repo.sos("validate")
    adopted = repo.sos("apply", "--auto-approve", "--adopt").output
    assert "Apply complete: 0 added, 0 changed, 0 deleted, 11 adopted." in adopted
    planned = repo.sos("plan").output
    assert NO_CHANGES in planned and "not created by sos" not in planned
    assert field(account, "Competitor").description == "[sos: opportunity.competitor]"
    registry = json.loads(field(account, "sos").description.split("\n", 1)[1])
    assert registry["pipelines"] == {"pipeline": 1}
    assert [s.name for s in account.ordered_stages(1)] == ["Qualified", "Contact Made", "Demo Scheduled",
                                                           "Proposal Made", "Negotiations Started"]


def test_new_options_are_added_and_the_accounts_own_are_kept(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    loss_reason = field(repo.emulator.account, "Loss reason")
    loss_reason.options.append(Option(999, "Other", None, "2026-12-04T15:00:00Z", "2026-12-04T15:00:00Z"))
    assert NO_CHANGES in repo.sos("plan").output        # an option the account added is its own
    repo.write(SMALL.replace("values: [Price, Timing]", "values: [Price, Timing, No budget]"))
    planned = repo.sos("plan").output
    assert "~ field.opportunity.loss_reason" in planned and "values: [Price, Timing] → [Price, Timing, No budget]" \
        in planned
    repo.sos("apply", "--auto-approve")
    assert [o.label for o in loss_reason.options] == ["Price", "Timing", "Other", "No budget"]
    assert NO_CHANGES in repo.sos("plan").output


def test_a_plan_names_the_options_pipedrive_keeps_that_the_blueprint_no_longer_lists(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    loss_reason = field(repo.emulator.account, "Loss reason")
    loss_reason.options.append(Option(999, "Other", None, "2026-12-04T15:00:00Z", "2026-12-04T15:00:00Z"))
    planned = repo.write(SMALL.replace("values: [Price, Timing]", "values: [Price]")).sos("plan").output
    assert "field.opportunity.loss_reason keeps Timing, Other in Pipedrive, which the blueprint does not list: " \
           "sos never removes a dropdown's options (remove them in Pipedrive if they should go)" in planned
    assert NO_CHANGES in planned
    repo.sos("apply", "--auto-approve", "--allow-delete")
    assert [o.label for o in loss_reason.options] == ["Price", "Timing", "Other"]


def test_deletions_remove_only_what_sos_made_and_only_with_allow_delete(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    account.add_field("deal", "Region", "varchar")
    repo.write(SMALL.replace("    competitor: {type: text, label: Competitor}\n", "").replace(
        ", require: [competitor]", "").replace("  - {key: qualified, label: Qualified, converted: true}\n",
                                               "  - {key: qualified, label: Qualified, converted: true}\n"
                                               "  - {key: nurture, label: Nurture}\n").replace(
        "  - {key: new, label: New, default: true}\n", "  - {key: fresh, label: Fresh, default: true}\n"))
    planned = repo.sos("plan").output
    for deleted in ("field.opportunity.competitor", "stage_requirement.new_business.proposal", "lead_status.lead.new"):
        assert f"- {deleted}" in planned
    skipped = repo.sos("apply", "--auto-approve").output
    assert "Skipping 3 deletions: pass --allow-delete to apply them (or set" in skipped
    assert {f.name for f in account.fields["deal"] if f.custom} >= {"Competitor", "Region"}
    repo.sos("apply", "--auto-approve", "--allow-delete")
    assert {f.name for f in account.fields["deal"] if f.custom} == {"Budget confirmed", "Loss reason", "Region", "sos"}
    assert [label["name"] for label in account.lead_labels.values()] == ["Hot", "Warm", "Cold", "Qualified", "Fresh",
                                                                          "Nurture"]
    assert NO_CHANGES in repo.sos("plan").output


def test_plan_validate_says_pipedrive_has_no_check_only_mode(repo: Repo) -> None:
    refused = repo.write(SMALL).sos("plan", "--validate", code=1).output
    assert "error: Pipedrive has no check-only mode: `sos plan --validate` cannot ask it to check a plan without " \
           "applying it [pd-check-only]" in refused
    assert len(repo.emulator.account.pipelines) == 1


def test_stages_are_put_in_the_blueprints_order_around_the_accounts_own(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    account.add_stage(pipeline(account, "New business"), "Legal review", 70)
    swapped = SMALL.replace("      - {key: proposal, label: Proposal, probability: 60, require: [competitor]}\n", "")
    swapped = swapped.replace("      - {key: discovery,", "      - {key: proposal, label: Proposal, probability: 60, "
                                                         "require: [competitor]}\n      - {key: discovery,")
    planned = repo.write(swapped).sos("plan").output
    assert "~ pipeline.opportunity.new_business" in planned
    assert "stages: [discovery, proposal, won, lost] → [proposal, discovery, won, lost]" in planned
    repo.sos("apply", "--auto-approve")
    assert [s[0] for s in stages(account, "New business")] == ["Proposal", "Discovery", "Legal review"]
    assert NO_CHANGES in repo.sos("plan").output


def test_a_pipeline_the_blueprint_renames_is_made_anew_and_the_old_one_deleted_with_its_stages(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    old = pipeline(account, "New business")
    repo.write(SMALL.replace("  new_business:\n    label: New business\n", "  sales:\n    label: Sales\n"))
    planned = repo.sos("plan").output
    assert "- pipeline.opportunity.new_business" in planned and "+ pipeline.opportunity.sales" in planned
    repo.sos("apply", "--auto-approve", "--allow-delete")
    assert account.pipelines[old].is_deleted and all(s.is_deleted for s in account.stages.values()
                                                     if s.pipeline_id == old)
    assert [s[0] for s in stages(account, "Sales")] == ["Discovery", "Proposal"]
    assert NO_CHANGES in repo.sos("plan").output


def test_a_plan_that_changes_a_fields_type_is_refused_before_anything_is_written(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    repo.write(SMALL.replace("competitor: {type: text,", "competitor: {type: number,"))
    refused = repo.sos("apply", "--auto-approve", code=1).output
    assert "blueprint.yaml:5:5: error: field field.opportunity.competitor would change type in Pipedrive (varchar → " \
           "double), which Pipedrive cannot do [pd-field-type]" in refused
    assert field(repo.emulator.account, "Competitor").field_type == "varchar"


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(("      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}\n",
                  "      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}\n"
                  "      - {key: disqualified, label: Disqualified, probability: 0, outcome: lost}\n"),
                 "blueprint.yaml:16:9: warning: pipeline new_business has 2 lost stages (Closed Lost, Disqualified); "
                 "Pipedrive has one lost status, so a lost deal's lost reason says which: sos counts a deal lost with "
                 "a reason named as one of them in that stage, and any other lost deal in the first [pd-lost-stages]",
                 id="two-lost-stages"),
    pytest.param(("require: [competitor]", "require: [amount]"),
                 "blueprint.yaml:13:68: warning: stage new_business.proposal requires amount, a standard deal field, "
                 "which Pipedrive's API cannot make required per stage [pd-standard-required]", id="standard-field"),
    pytest.param(("require: [competitor]", "require: [budget_confirmed]"),
                 "blueprint.yaml:13:68: warning: stage new_business.proposal requires budget_confirmed, a checkbox: "
                 "Pipedrive only requires its Yes/No dropdown to be answered, and No is an answer "
                 "[pd-checkbox-required]", id="checkbox-required"),
    pytest.param(("competitor: {type: text, label: Competitor}",
                  "competitor: {type: text, label: Competitor}\n    partner_deal: {type: lookup, to: opportunity}"),
                 "blueprint.yaml:6:26: error: field opportunity.partner_deal looks up opportunity records, which "
                 "Pipedrive has no field type for (it links users, organizations and people) [pd-lookup]", id="lookup"),
])
def test_validate_says_what_pipedrive_cannot_hold_at_its_line(repo: Repo, change: tuple[str, str],
                                                              expected: str) -> None:
    repo.write(SMALL.replace(*change))
    said = repo.sos("validate", code=1 if "error:" in expected else 0).output
    assert expected in said


def test_importing_an_account_sos_manages_gives_a_blueprint_that_plans_no_changes(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    repo.sos("import", "--target", "pd", "-o", "blueprint.yaml")
    imported = (repo.root / "blueprint.yaml").read_text(encoding="utf-8")
    assert "- key: new\n  label: New\n  converted: false\n  default: true\n" in imported
    assert "- key: qualified\n  label: Qualified\n  converted: true\n  default: false\n" in imported
    repo.sos("validate")
    planned = repo.sos("plan").output
    assert NO_CHANGES in planned


def test_a_pipeline_deleted_in_pipedrive_is_made_again_with_its_stage_requirements(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    deleted = requests.delete(f"{repo.emulator.api_url}/api/v2/pipelines/{pipeline(account, 'New business')}",
                              headers={"x-api-token": repo.emulator.api_token}, timeout=10)   # an admin did
    assert deleted.json()["success"] is True
    planned = repo.sos("plan").output
    assert "+ pipeline.opportunity.new_business" in planned
    assert "~ stage_requirement.new_business.proposal" in planned
    assert "a stage it names was deleted in Pipedrive (changed outside sos)" in planned
    repo.sos("apply", "--auto-approve")
    proposal = next(s.id for s in account.stages.values() if s.name == "Proposal" and not s.is_deleted)
    assert field(account, "Competitor").required_fields["stage_ids"] == [proposal]
    assert NO_CHANGES in repo.sos("plan").output


def test_with_its_registry_field_deleted_an_apply_refuses_to_touch_the_required_fields_until_adopt(
        repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    registry_code = next(f.code for f in account.fields["deal"] if f.name == "sos")
    deleted = requests.delete(f"{repo.emulator.api_url}/api/v2/dealFields/{registry_code}",
                              headers={"x-api-token": repo.emulator.api_token}, timeout=10)   # a user did
    assert deleted.json()["success"] is True
    required = dict(field(account, "Competitor").required_fields)
    assert required["enabled"] is True
    refused = repo.sos("apply", "--auto-approve", code=1).output
    assert "blueprint.yaml:13:68: error: stage requirement stage_requirement.new_business.proposal goes in pipeline " \
           "new_business, which sos did not create [pd-not-managed]" in refused
    assert field(account, "Competitor").required_fields == required
    repo.sos("apply", "--auto-approve", "--adopt")
    proposal = next(s.id for s in account.stages.values() if s.name == "Proposal" and not s.is_deleted)
    assert field(account, "Competitor").required_fields["stage_ids"] == [proposal]
    assert NO_CHANGES in repo.sos("plan").output


@pytest.mark.parametrize(("before", "after"), [
    ("{key: won, label: Closed Won, probability: 100, outcome: won}",
     "{key: won, label: Closed Won, probability: 100}\n"
     "      - {key: signed, label: Signed, probability: 100, outcome: won}"),
    ("{key: proposal, label: Proposal, probability: 60, require: [competitor]}",
     "{key: proposal, label: Proposal, probability: 60, require: [competitor], outcome: won}"),
    ("{key: proposal, label: Proposal, probability: 60, require: [competitor]}",     # renamed as well
     "{key: signed, renamed_from: proposal, label: Proposal, probability: 60, require: [competitor], outcome: won}"),
])
def test_a_stage_that_changes_between_open_and_won_is_refused_at_its_line(repo: Repo, before: str,
                                                                          after: str) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    stages_before = stages(repo.emulator.account, "New business")
    line = 1 + SMALL.splitlines().index(f"      - {before}")
    refused = repo.write(SMALL.replace(before, after)).sos("apply", "--auto-approve", code=1).output
    key = after.split(",")[0].removeprefix("{key: ")
    assert f"blueprint.yaml:{line}:9: error: stage stage.new_business.{key} would change between open and won or " \
           "lost, which Pipedrive cannot do: an open stage is a Pipedrive stage, won and lost are deal statuses " \
           "[pd-stage-outcome]" in refused
    assert "nothing was changed" in refused
    assert stages(repo.emulator.account, "New business") == stages_before


def test_a_pipeline_that_holds_deals_in_a_stage_of_the_accounts_own_is_never_deleted(repo: Repo) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    hand_made = account.add_stage(pipeline(account, "New business"), "Legal review", 70)
    account.seed_deal("Big deal", hand_made.id)
    registry_before = next(f.description for f in account.fields["deal"] if f.name == "sos")
    repo.write(SMALL.split("pipelines:")[0])
    planned = repo.sos("plan", code=1).output
    assert "error: 1 deal is in pipeline pipeline.opportunity.new_business, which this plan deletes " \
           "[pd-pipeline-in-use]" in planned
    refused = repo.sos("apply", "--auto-approve", "--allow-delete", code=1).output
    assert "Apply refused: target 'pd' would refuse this plan; nothing was changed" in refused
    assert [s[0] for s in stages(account, "New business")] == ["Discovery", "Proposal", "Legal review"]
    assert next(f.description for f in account.fields["deal"] if f.name == "sos") == registry_before


def test_renames_keep_the_stage_its_deals_the_field_its_values_and_the_label(repo: Repo) -> None:
    """Pipedrive keeps a stage's id, a field's code (its key in a deal's custom fields) and a lead label's id when
    their names change (API v2 PATCH of stages, deal fields and lead labels, reference/pipedrive.md): renamed
    in place, they keep the deals and leads that hold them."""
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = repo.emulator.account
    proposal = next(s.id for s in account.stages.values() if s.name == "Proposal")
    code = field(account, "Competitor").code
    account.seed_deal("Big deal", proposal, custom_fields={code: "Rival Inc"})
    label = next(i for i, found in account.lead_labels.items() if found["name"] == "Qualified")
    repo.write(SMALL.replace("    competitor: {type: text", "    rival: {renamed_from: competitor, type: text")
               .replace("require: [competitor]", "require: [rival]")
               .replace("{key: proposal, label: Proposal", "{key: solution, renamed_from: proposal, label: Solution")
               .replace("{key: qualified, label: Qualified", "{key: sql, renamed_from: qualified, label: SQL"))
    planned = json.loads(repo.sos("plan", "--format", "json").stdout)["changes"]
    assert {(c["action"], c["address"], c["renamed_from"]) for c in planned if c["renamed_from"]} == {
        ("update", "field.opportunity.rival", "field.opportunity.competitor"),
        ("update", "stage.new_business.solution", "stage.new_business.proposal"),
        ("update", "stage_requirement.new_business.solution", "stage_requirement.new_business.proposal"),
        ("update", "lead_status.lead.sql", "lead_status.lead.qualified")}
    repo.sos("apply", "--auto-approve")
    deal = next(iter(account.records["deal"].values()))
    assert (deal["stage_id"], deal["custom_fields"]) == (proposal, {code: "Rival Inc"})
    assert (account.stages[proposal].name, account.stages[proposal].is_deleted) == ("Solution", False)
    renamed = field(account, "Competitor")      # the same field (its label is unchanged), marked with its new key
    assert (renamed.code, renamed.description.endswith("[sos: opportunity.rival]")) == (code, True)
    assert renamed.required_fields["enabled"] is True and account.lead_labels[label]["name"] == "SQL"
    assert NO_CHANGES in repo.sos("plan").output
