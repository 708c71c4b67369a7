"""The HubSpot backend through the CLI, as a user runs it: `sos plan`, `sos apply` against the emulator over real
HTTP with hubspot-api-client, a `type: hubspot` target whose api_url is the emulator. The emulator runs on the wall
clock, as the client paces itself on it; no test makes enough calls to wait. Faults that make the client wait
(429 burst, 5xx) are driven through the engine with a backend whose sleep only records."""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from sos.backends.hubspot.backend import HubSpotBackend
from sos.backends.hubspot.names import GROUP, REGISTRY
from sos.backends.hubspot.read import registry_entries
from sos.cli import cli
from sos.engine import apply_plan, make_plan
from sos.plan.change import Action
from sos.history import read_history
from sos.project import Project, load_project
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.limits import wall_clock

REPO = Path(__file__).resolve().parents[3]
CASES = [*sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml")), "acme"]
OWN_LEAD_STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                     "BAD_TIMING"]
SMALL = """\
sos: 1
name: client
fields:
  opportunity:
    competitor: {type: text, label: Competitor, help: Who else they talk to}
    budget: {type: currency, label: Budget}
    tier: {type: picklist, label: Tier, values: [gold, silver]}
  lead:
    source_detail: {type: text, label: Source detail}
pipelines:
  new_business:
    label: New business
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 60}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: fresh, label: Fresh, default: true}
  - {key: working, label: Working}
  - {key: qualified, label: Qualified, converted: true}
"""


@pytest.fixture(scope="module")
def running() -> Iterator[HubSpotEmulator]:
    """The emulator `hub` (conftest) resets for each test, on the clock the client paces itself by."""
    with HubSpotEmulator(clock=wall_clock) as emulator:
        yield emulator


@pytest.fixture
def make_project(hub: HubSpotEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A client repository whose target `hs` is the emulated portal; the shell holds its token; cwd is the repo."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.access_token)
    monkeypatch.setenv("NO_COLOR", "1")

    def make(blueprint: str, folder: str = "client") -> Path:
        root = tmp_path / folder
        root.mkdir()
        (root / "blueprint.yaml").write_text(textwrap.dedent(blueprint), encoding="utf-8")
        (root / "sos.yaml").write_text(f'sos: 1\nblueprint: blueprint.yaml\ntargets:\n  hs: {{type: hubspot, api_url: '
                                       f'"{hub.api_url}", portal_id: {hub.portal_id}}}\n', encoding="utf-8")
        monkeypatch.chdir(root)
        return root
    return make


def sos(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def blueprint_of(case: str) -> str:
    if case == "acme":
        return (REPO / "examples/acme/blueprint.yaml").read_text(encoding="utf-8")
    return f"sos: 1\nname: client\nextends: [starter:{case}]\n"


def deal_pipeline(hub: HubSpotEmulator, label: str) -> dict[str, Any]:
    return next(p for p in hub.portal.live_pipelines("deals") if p["label"] == label)


def stages_of(pipeline: dict[str, Any]) -> list[tuple[str, str, str]]:
    live = sorted((s for s in pipeline["stages"].values() if not s["archived"]), key=lambda s: s["displayOrder"])
    return [(s["label"], s["metadata"]["probability"], s["metadata"]["isClosed"]) for s in live]


def lead_options(hub: HubSpotEmulator) -> list[str]:
    options = hub.portal.properties["contacts"]["hs_lead_status"]["options"]
    return [o["value"] for o in sorted(options, key=lambda o: o["displayOrder"])]


def sos_properties(hub: HubSpotEmulator, object_type: str) -> dict[str, dict[str, Any]]:
    return {name: p for name, p in hub.portal.properties[object_type].items()
            if p["groupName"] == GROUP and not p["archived"] and name != REGISTRY}


# -- the cycle ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_plan_apply_plan_for_every_starter(case: str, hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(blueprint_of(case))
    planned = sos("plan").stdout
    assert "Plan: " in planned and "lookup fields are left out" in planned
    assert "`sos audit` checks" in planned
    applied = sos("apply", "--auto-approve").stdout
    assert "Apply complete:" in applied
    hub.calls.clear()
    again = sos("plan", "--detailed-exitcode")
    assert "No changes. The CRM matches the blueprint." in again.stdout
    # A constant number of calls, whatever the blueprint holds: who the token is, 3 x (groups + properties), pipelines.
    assert sum(hub.calls.values()) == 8
    pipelines = [p["label"] for p in hub.portal.live_pipelines("deals")]
    assert len(pipelines) == 2 and pipelines[0] == "Sales Pipeline"       # the portal's own is left alone
    assert set(OWN_LEAD_STATUSES) <= set(lead_options(hub))                # and so are its own lead statuses
    assert sos_properties(hub, "deals")


def test_what_the_portal_holds_after_an_apply(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    sos("apply", "--auto-approve")
    deals = sos_properties(hub, "deals")
    assert {n: (p["label"], p["type"], p["fieldType"]) for n, p in deals.items()} == {
        "competitor": ("Competitor", "string", "text"), "budget": ("Budget", "number", "number"),
        "tier": ("Tier", "enumeration", "select")}
    assert deals["competitor"]["description"].startswith("Who else they talk to\n\nsos: managed {")
    assert [o["value"] for o in deals["tier"]["options"]] == ["gold", "silver"]
    assert list(sos_properties(hub, "contacts")) == ["source_detail"]
    assert stages_of(deal_pipeline(hub, "New business")) == [
        ("Discovery", "0.1", "false"), ("Proposal", "0.6", "false"), ("Closed Won", "1.0", "true"),
        ("Closed Lost", "0.0", "true")]
    assert lead_options(hub) == ["fresh", "working", "qualified", *OWN_LEAD_STATUSES]
    assert hub.portal.properties["deals"][REGISTRY]["hidden"] is True


def test_plan_validate_writes_nothing_and_says_hubspot_has_no_dry_run(hub: HubSpotEmulator,
                                                                       make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    checked = sos("plan", "--validate")
    assert ("warning: HubSpot has no dry run: sos checked this plan against the portal as it reads it now, not what "
            "HubSpot itself may still refuse (a pipeline over the subscription's limit, say) [hs-no-dry-run]"
            ) in checked.stderr
    assert "Validation passed: target 'hs' accepts all 12 changes" in checked.stderr
    assert not [call for call in hub.calls if not call.startswith("GET") and "token-info" not in call]


# -- no transaction: a failure half way, then the remainder --------------------------------------

def test_a_failure_half_way_then_a_plan_of_the_remainder_and_an_apply_that_finishes(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    # The 4th write is refused for good: groups (contacts, deals), contact properties, then deal properties.
    hub.faults.rate_limit(policy="DAILY", times=None, writes_only=True, after=3)
    failed = sos("apply", "--auto-approve", code=1)
    assert "field.opportunity.budget: the HubSpot portal's daily API limit is used up" in failed.stderr
    assert "pipeline.opportunity.new_business: not applied: sos stopped at the first failure" in failed.stderr
    assert "error: Apply stopped on target 'hs' after 1 of 12 changes; `sos plan` shows the rest" in failed.stderr
    assert list(sos_properties(hub, "contacts")) == ["source_detail"]
    assert sos_properties(hub, "deals") == {}
    entry = read_history(root / ".sos")[-1]
    assert entry["outcome"] == "failed" and entry["error"].startswith("field.opportunity.budget: ")
    hub.faults.clear()
    remainder = sos("plan").stdout
    assert "Plan: 11 to add, 0 to change, 0 to delete." in remainder
    assert "field.lead.source_detail" not in remainder and "+ field.opportunity.budget" in remainder
    sos("apply", "--auto-approve")
    assert "No changes." in sos("plan").stdout
    assert read_history(root / ".sos")[-1]["outcome"] == "applied"


def test_a_batch_hubspot_makes_in_part_reports_each_property_as_it_went(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    # An archived property keeps its name taken: HubSpot makes the rest of the batch and refuses that one (207).
    hub.portal.properties["deals"]["budget"] = {**hub.portal.properties["deals"]["amount"], "name": "budget",
                                                "hubspotDefined": False, "archived": True}
    failed = sos("apply", "--auto-approve", code=1)
    assert ("field.opportunity.budget: HubSpot refused 1 of the 3 properties of POST /crm/v3/properties/deals/batch/"
            "create (budget: Property named 'budget' already exists.)") in failed.stderr
    assert "field.opportunity.competitor:" not in failed.stderr
    assert "error: Apply stopped on target 'hs' after 3 of 12 changes; `sos plan` shows the rest" in failed.stderr
    assert sorted(sos_properties(hub, "deals")) == ["competitor", "tier"]
    assert read_history(root / ".sos")[-1]["outcome"] == "failed"
    remainder = sos("plan").stdout
    assert "Plan: 9 to add, 0 to change, 0 to delete." in remainder and "+ field.opportunity.budget" in remainder

def test_a_pipeline_made_but_not_recorded_is_found_again_as_a_look_alike(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    # The third batch create is the registry of pipelines and stages, written last.
    hub.faults.rate_limit(policy="DAILY", times=None, after=2,
                          operations=["POST /crm/v3/properties/{objectType}/batch/create"])
    failed = sos("apply", "--auto-approve", code=1)
    assert ("pipeline.opportunity.new_business: made in HubSpot, but sos could not record it as its own (the HubSpot "
            "portal's daily API limit is used up") in failed.stderr
    assert "`sos plan --adopt` takes it under management" in failed.stderr
    hub.faults.clear()
    planned = sos("plan").stdout
    assert "No changes." in planned and "stage.new_business.proposal" in planned and "left alone" in planned
    assert "Apply complete: 0 added, 0 changed, 0 deleted, 5 adopted." in sos("apply", "--adopt",
                                                                             "--auto-approve").stdout
    assert "No changes." in sos("plan").stdout
    assert [p["label"] for p in hub.portal.live_pipelines("deals")] == ["Sales Pipeline", "New business"]


def test_an_archived_registry_is_replaced_and_adopt_takes_the_pipeline_back(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    sos("apply", "--auto-approve")
    pipeline_id = deal_pipeline(hub, "New business")["id"]
    hub.portal.properties["deals"][REGISTRY]["archived"] = True     # an admin deleted it; HubSpot keeps its name
    planned = sos("plan").stdout
    assert "No changes." in planned and "pipeline.opportunity.new_business" in planned and "left alone" in planned
    assert "5 adopted." in sos("apply", "--adopt", "--auto-approve").stdout
    assert "No changes. The CRM matches the blueprint." in sos("plan").stdout
    registry = hub.portal.properties["deals"][f"{REGISTRY}_2"]
    assert registry["groupName"] == GROUP and not registry["archived"]
    assert registry_entries(registry["description"])["pipeline.opportunity.new_business"]["id"] == pipeline_id


# -- the hs_lead_status trap -------------------------------------------------------------------------

def test_lead_statuses_keep_the_portals_own_options_and_leave_only_with_allow_delete(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    sos("apply", "--auto-approve")
    # An admin adds an option in HubSpot after the apply; HubSpot replaces the whole list on every update.
    status = hub.portal.properties["contacts"]["hs_lead_status"]
    status["options"].append({"label": "Partner", "value": "PARTNER", "displayOrder": 99, "hidden": False})
    text = SMALL.replace("label: Qualified,", "label: Sales qualified,")
    (root / "blueprint.yaml").write_text(text.replace("  - {key: working, label: Working}\n", ""), encoding="utf-8")
    planned = sos("plan").stdout
    assert "~ lead_status.lead.qualified" in planned and "- lead_status.lead.working" in planned
    sos("apply", "--auto-approve")
    assert lead_options(hub) == ["fresh", "qualified", "working", *OWN_LEAD_STATUSES, "PARTNER"]
    options = hub.portal.properties["contacts"]["hs_lead_status"]["options"]
    assert next(o["label"] for o in options if o["value"] == "qualified") == "Sales qualified"
    sos("apply", "--auto-approve", "--allow-delete")
    assert lead_options(hub) == ["fresh", "qualified", *OWN_LEAD_STATUSES, "PARTNER"]
    assert "No changes." in sos("plan").stdout


def test_an_option_sos_did_not_create_is_a_look_alike_left_alone(hub: HubSpotEmulator,
                                                                 make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    options = hub.portal.properties["contacts"]["hs_lead_status"]["options"]
    options.append({"label": "Working it", "value": "working", "displayOrder": 8, "hidden": False})
    planned = sos("plan").stdout
    assert "lead_status.lead.working" in planned and "was not created by sos; left alone" in planned
    sos("apply", "--auto-approve")
    options = hub.portal.properties["contacts"]["hs_lead_status"]["options"]
    assert {"label": "Working it", "value": "working", "displayOrder": 10, "hidden": False} in options
    assert lead_options(hub) == ["fresh", "qualified", *OWN_LEAD_STATUSES, "working"]


# -- stages with deals ----------------------------------------------------------------------------------

def test_a_stage_with_deals_is_never_archived(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    sos("apply", "--auto-approve")
    pipeline = deal_pipeline(hub, "New business")
    proposal = next(s["id"] for s in pipeline["stages"].values() if s["label"] == "Proposal")
    hub.seed("deals", [{"dealname": f"Deal {i}", "dealstage": proposal, "pipeline": pipeline["id"]}
                       for i in range(3)])
    (root / "blueprint.yaml").write_text(SMALL.replace("      - {key: proposal, label: Proposal, probability: 60}\n",
                                                       ""), encoding="utf-8")
    refused = sos("plan", code=1)
    assert ("blueprint.yaml:11:3: error: 3 deals are in stage new_business.proposal, which this plan removes "
            "[hs-stage-in-use]") in refused.stderr
    hub.calls.clear()
    sos("apply", "--auto-approve", "--allow-delete", code=1)
    assert hub.calls["POST /crm/v3/objects/{objectType}/search"] == 1
    assert not any(op.startswith(("DELETE", "PATCH", "POST /crm/v3/pipelines")) for op in hub.calls)
    assert [label for label, *_ in stages_of(pipeline)] == ["Discovery", "Proposal", "Closed Won", "Closed Lost"]


def test_stages_reordered_renamed_and_removed_with_allow_delete(hub: HubSpotEmulator,
                                                                make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    sos("apply", "--auto-approve")
    changed = SMALL.replace("label: New business", "label: New logos").replace(
        "      - {key: discovery, label: Discovery, probability: 10, max_days: 14}\n"
        "      - {key: proposal, label: Proposal, probability: 60}\n",
        "      - {key: demo, label: Demo, probability: 30}\n"
        "      - {key: discovery, label: Discovery, probability: 20, max_days: 14}\n")
    (root / "blueprint.yaml").write_text(changed, encoding="utf-8")
    kept = sos("apply", "--auto-approve")
    assert "Skipping 1 deletion: pass --allow-delete to apply them (or set" in kept.stderr
    assert stages_of(deal_pipeline(hub, "New logos")) == [
        ("Demo", "0.3", "false"), ("Discovery", "0.2", "false"), ("Proposal", "0.6", "false"),
        ("Closed Won", "1.0", "true"), ("Closed Lost", "0.0", "true")]
    sos("apply", "--auto-approve", "--allow-delete")
    assert [label for label, *_ in stages_of(deal_pipeline(hub, "New logos"))] == [
        "Demo", "Discovery", "Closed Won", "Closed Lost"]
    assert "No changes." in sos("plan").stdout


# -- a saved plan from another clone -----------------------------------------------------------------------

def test_a_saved_plan_applies_from_a_second_clone(hub: HubSpotEmulator, make_project: Callable[..., Path],
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_project(SMALL)
    sos("apply", "--auto-approve")
    (first / "blueprint.yaml").write_text(SMALL.replace("label: Proposal,", "label: Proposal sent,"), encoding="utf-8")
    sos("plan", "--out", "plan.json")
    second = tmp_path / "clone"
    second.mkdir()
    for name in ("sos.yaml", "blueprint.yaml", "plan.json"):
        shutil.copy(first / name, second / name)
    monkeypatch.chdir(second)
    assert "Apply complete: 0 added, 1 changed, 0 deleted." in sos("apply", "plan.json", "--auto-approve").stdout
    assert [label for label, *_ in stages_of(deal_pipeline(hub, "New business"))][1] == "Proposal sent"
    monkeypatch.chdir(first)
    assert "No changes." in sos("plan").stdout


# -- HubSpot misbehaving -----------------------------------------------------------------------------------

def test_a_refused_token_stops_the_plan_before_anything_is_read(hub: HubSpotEmulator,
                                                               make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    hub.revoke_token(hub.access_token)
    refused = sos("plan", code=1)
    assert "error: HubSpot refused the access token in HUBSPOT_ACCESS_TOKEN (401" in refused.stderr
    assert list(hub.calls) == ["POST /oauth/v2/private-apps/get/access-token-info"]


def test_an_expired_token_half_way_through_an_apply(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    hub.faults.expire_token(operations=["POST /crm/v3/pipelines/{objectType}"])
    failed = sos("apply", "--auto-approve", code=1)
    assert "pipeline.opportunity.new_business: HubSpot refused the access token" in failed.stderr
    assert len(sos_properties(hub, "deals")) == 3 and deal_pipeline(hub, "Sales Pipeline")
    assert [p["label"] for p in hub.portal.live_pipelines("deals")] == ["Sales Pipeline"]
    assert "Plan: 8 to add" in sos("plan").stdout


class Waits:
    def __init__(self) -> None:
        self.slept: list[float] = []
        self.lines: list[str] = []


def engine_backend(root: Path, waits: Waits) -> tuple[Project, HubSpotBackend]:
    project = load_project(root / "sos.yaml")
    target = project.target(None)
    return project, HubSpotBackend(target, root, sleep=waits.slept.append, progress=waits.lines.append)


def test_burst_limits_and_server_errors_are_waited_out_during_plan_and_apply(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    waits = Waits()
    project, backend = engine_backend(root, waits)
    hub.faults.rate_limit(operations=["GET /crm/v3/pipelines/{objectType}"])
    hub.faults.server_error(status=502, operations=["GET /crm/v3/properties/{objectType}"])
    run = make_plan(project, project.target(None), backend=backend)
    hub.faults.server_error(times=2, status=503, writes_only=True, after=2)
    hub.faults.rate_limit(writes_only=True, after=5)
    assert apply_plan(project, backend, run.plan, run.desired).ok
    assert waits.slept == [1.0, 10.0, 1.0, 2.0, 10.0]
    assert any("retrying in 10 s (retry 1 of 5)" in line for line in waits.lines)
    assert "No changes." in sos("plan").stdout


def test_a_daily_limit_stops_the_plan_at_once(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    make_project(SMALL)
    hub.faults.rate_limit(policy="DAILY", times=None, operations=["GET /crm/v3/pipelines/{objectType}"])
    refused = sos("plan", code=1)
    assert "error: the HubSpot portal's daily API limit is used up" in refused.stderr
    assert hub.calls["GET /crm/v3/pipelines/{objectType}"] == 1


# -- no token anywhere ---------------------------------------------------------------------------------------

def test_no_token_in_any_output_or_file(hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    outputs = [sos("validate"), sos("plan", "--out", "plan.json", "--format", "json"),
               sos("apply", "plan.json", "--auto-approve")]
    hub.faults.expire_token()
    outputs.append(sos("plan", code=1))
    hub.faults.rate_limit(policy="DAILY", writes_only=True)
    (root / "blueprint.yaml").write_text(SMALL.replace("label: Competitor,", "label: Rival,"), encoding="utf-8")
    outputs.append(sos("apply", "--auto-approve", code=1))
    written = "".join(p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file())
    printed = "".join(r.stdout + r.stderr for r in outputs)
    assert hub.access_token not in printed + written
    assert "pat-" not in printed + written
    assert json.loads((root / "plan.json").read_text(encoding="utf-8"))


# -- import and adopt ------------------------------------------------------------------------------------------

def test_import_then_adopt_takes_a_portal_under_management(hub: HubSpotEmulator,
                                                           make_project: Callable[..., Path]) -> None:
    root = make_project("sos: 1\nname: placeholder\n")
    hs = hub.client()
    hs.crm.properties.core_api.create("deals", {"name": "budget_owner", "label": "Budget owner", "type": "string",
                                                "fieldType": "text", "groupName": "dealinformation",
                                                "description": "Who signs"})
    hs.crm.properties.core_api.create("companies", {"name": "segment", "label": "Segment", "type": "enumeration",
                                                    "fieldType": "select", "groupName": "companyinformation",
                                                    "options": [{"label": "SMB", "value": "smb"},
                                                                {"label": "Enterprise", "value": "ent"}]})
    hs.crm.properties.core_api.create("deals", {"name": "score", "label": "Score", "type": "number",
                                                "fieldType": "calculation_equation", "calculationFormula": "1",
                                                "groupName": "dealinformation"})
    imported = sos("import", "--target", "hs", "-o", "blueprint.yaml")
    assert "Left out the deals property score (number/calculation_equation)" in imported.stderr
    assert "Wrote blueprint.yaml: 18 resources from target 'hs'." in imported.stderr
    blueprint = (root / "blueprint.yaml").read_text(encoding="utf-8")
    assert "    budget_owner:\n      type: text\n      label: Budget owner\n      help: Who signs\n" in blueprint
    assert "    - key: closed_won\n      label: Closed Won\n      probability: 100\n      outcome: won\n" in blueprint
    planned = sos("plan").stdout
    assert "No changes." in planned and "stage.sales_pipeline.closed_won" in planned
    adopted = sos("apply", "--adopt", "--auto-approve").stdout
    assert "Apply complete: 0 added, 0 changed, 0 deleted, 18 adopted." in adopted
    assert "No changes." in sos("plan").stdout
    # Adopted, not replaced: the same pipeline and stage ids, the same option values, which records hold.
    assert [p["id"] for p in hub.portal.live_pipelines("deals")] == ["default"]
    assert lead_options(hub) == OWN_LEAD_STATUSES
    assert set(sos_properties(hub, "deals")) == {"budget_owner"}
    (root / "blueprint.yaml").write_text(blueprint.replace("label: Contract Sent", "label: Contract out"),
                                         encoding="utf-8")
    sos("apply", "--auto-approve")
    assert hub.portal.pipelines["deals"]["default"]["stages"]["contractsent"]["label"] == "Contract out"


def test_an_import_of_a_portal_sos_applied_to_plans_no_changes(hub: HubSpotEmulator,
                                                                make_project: Callable[..., Path]) -> None:
    root = make_project(SMALL)
    sos("apply", "--auto-approve")
    sos("import", "--target", "hs", "-o", "imported.yaml")
    (root / "sos.yaml").write_text((root / "sos.yaml").read_text(encoding="utf-8").replace(
        "blueprint: blueprint.yaml", "blueprint: imported.yaml"), encoding="utf-8")
    assert "No changes. The CRM matches the blueprint." in sos("plan").stdout
    statuses = yaml.safe_load((root / "imported.yaml").read_text(encoding="utf-8"))["lead_statuses"]
    assert [s["key"] for s in statuses] == ["fresh", "working", "qualified", *(s.lower() for s in OWN_LEAD_STATUSES)]

# -- size -------------------------------------------------------------------------------------------------------

def test_a_thousand_fields_plan_in_constant_calls_and_apply_in_batches(
        hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    from bench.generate import blueprint

    root = make_project(yaml.safe_dump(blueprint(fields=1000, stages=8, rules=0), sort_keys=False))
    project, backend = engine_backend(root, Waits())
    run = make_plan(project, project.target(None), backend=backend)
    held = [r for r in run.desired if r.address.kind in backend.capabilities.held]
    assert [str(u.address) for u in run.plan.unmanaged] == ["lead_status.lead.new"]     # the portal's NEW
    assert sum(hub.calls.values()) == 8 and run.plan.count(Action.CREATE) == len(run.plan.changes) == len(held) - 1
    hub.calls.clear()
    assert apply_plan(project, backend, run.plan, run.desired).ok
    assert hub.calls["POST /crm/v3/properties/{objectType}/batch/create"] == 3 + 3 + 5 + 1   # + the registry
    # ceil(fields / 100) + pipelines + 15: the read (8), groups (3), a batch more per object (2), hs_lead_status, the
    # registry
    assert sum(hub.calls.values()) <= math.ceil(1000 / 100) + 1 + 15
    assert hub.limits_of().daily_used == 8 + sum(hub.calls.values())    # the plan's and every call: none refused
    assert len(sos_properties(hub, "contacts")) == 500


# -- renamed_from ------------------------------------------------------------------------------------

def test_renamed_stage_and_lead_status_keep_their_deals_and_contacts(hub: HubSpotEmulator,
                                                                      make_project: Callable[..., Path]) -> None:
    """HubSpot keeps a stage's id when its label changes and contacts hold an hs_lead_status option's value (HubSpot
    pipelines and properties APIs, reference/hubspot.md): a rename changes the label and keeps both. A property's
    internal name cannot change: the plan creates the new property and says why."""
    root = make_project(SMALL)
    sos("apply", "--auto-approve")
    pipeline = deal_pipeline(hub, "New business")
    proposal = next(s["id"] for s in pipeline["stages"].values() if s["label"] == "Proposal")
    hub.seed("deals", [{"dealname": f"Deal {i}", "dealstage": proposal, "pipeline": pipeline["id"]} for i in range(3)])
    hub.seed("contacts", [{"email": f"c{i}@acme.io", "hs_lead_status": "working"} for i in range(2)])
    (root / "blueprint.yaml").write_text(
        SMALL.replace("{key: proposal, label: Proposal", "{key: solution, renamed_from: proposal, label: Solution")
        .replace("{key: working, label: Working}", "{key: contacted, renamed_from: working, label: Contacted}")
        .replace("    competitor: {type: text", "    rival: {renamed_from: competitor, type: text"), encoding="utf-8")
    plan = json.loads(sos("plan", "--format", "json").stdout)
    renamed = {(c["action"], c["address"], c["renamed_from"], c["reason"]) for c in plan["changes"]
               if c["renamed_from"]}
    assert renamed == {
        ("update", "stage.new_business.solution", "stage.new_business.proposal", None),
        ("update", "lead_status.lead.contacted", "lead_status.lead.working", None),
        ("create", "field.opportunity.rival", "field.opportunity.competitor",
         "HubSpot cannot change a property's internal name, so sos creates the new property; the old one keeps its "
         "values until it is deleted (copy them across with an import or a workflow first)")}
    sos("apply", "--auto-approve")
    stages = deal_pipeline(hub, "New business")["stages"]
    assert stages[proposal]["label"] == "Solution" and not stages[proposal]["archived"]
    assert [d["properties"]["dealstage"] for d in hub.portal.records["deals"].values()] == [proposal] * 3
    assert [c["properties"]["hs_lead_status"] for c in hub.portal.records["contacts"].values()] == ["working"] * 2
    working = next(o for o in hub.portal.properties["contacts"]["hs_lead_status"]["options"] if o["value"] == "working")
    assert working["label"] == "Contacted"
    again = json.loads(sos("plan", "--format", "json").stdout)["changes"]
    assert [(c["action"], c["address"]) for c in again] == [("delete", "field.opportunity.competitor")]  # held back
