"""checks_of: what each rule, stage requirement and stage time limit of a blueprint finds in records.

The expected results come from the blueprint's own words, read independently of the code: a stage's `require`
holds in that stage, every later open stage and the won stages (docs/language.md, "Stages"); `max_days` is "at
most this many days in the stage" (docs/language.md); a rule's record breaks it when `when` holds and `require`
does not. Each check's condition is evaluated by the evaluator on records that must and must not match.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from sos.blueprint.load import load_blueprint
from sos.expr.dialects.evaluate import evaluate
from sos.model.checks import Check, checks_of, reads_a_save
from sos.model.compile import compile_model
from sos.model.resources import Address, Kind, Model
from sos.resources import starters_dir

TODAY = datetime.date(2026, 12, 4)
# A deal in Proposal that meets every requirement up to and including Proposal in the MEDDICC starter.
GOOD_PROPOSAL = {
    "stage": "proposal", "amount": 48000, "close_date": "2027-01-15", "days_in_stage": 3,
    "metrics": "Cut picking errors 30%", "economic_buyer": "CFO", "decision_process": "Board in January",
    "identified_pain": "Mis-picks", "champion": "Ops lead", "decision_criteria": "Uptime", "competition": "Acme",
    "mutual_action_plan_url": "https://docs.example/map", "champion_tested": True,
}


@pytest.fixture(scope="module")
def meddicc() -> Model:
    blueprint, diagnostics = load_blueprint(starters_dir() / "b2b-saas-meddicc.yaml")
    assert blueprint is not None, diagnostics
    return compile_model(blueprint)


def check(model: Model, address: str, **kwargs: Any) -> Check:
    wanted = Address.parse(address)
    return next(c for c in checks_of(model, **kwargs) if c.address == wanted)


def breaks(found: Check, record: dict[str, Any]) -> bool:
    return bool(evaluate(found.breaks.expr, record, found.breaks.scope, today=TODAY))


def test_a_stage_requirement_finds_deals_in_its_stages_missing_a_field(meddicc: Model) -> None:
    proposal = check(meddicc, "stage_requirement.new_business.proposal")
    assert (proposal.object, proposal.enforce, proposal.blocks) == ("opportunity", "on_stage_change", True)
    assert not breaks(proposal, GOOD_PROPOSAL)
    assert breaks(proposal, {**GOOD_PROPOSAL, "mutual_action_plan_url": None})
    assert breaks(proposal, {**GOOD_PROPOSAL, "stage": "negotiation", "champion_tested": False})
    assert not breaks(proposal, {**GOOD_PROPOSAL, "stage": "discovery", "amount": None})   # not there yet


def test_a_time_limit_finds_deals_over_it_in_that_stage_only(meddicc: Model) -> None:
    discovery = check(meddicc, "stage.new_business.discovery")
    assert (discovery.title, discovery.enforce, discovery.blocks) == ("Over 21 days in Discovery", "limit", False)
    assert breaks(discovery, {"stage": "discovery", "days_in_stage": 22})
    assert not breaks(discovery, {"stage": "discovery", "days_in_stage": 21})
    assert not breaks(discovery, {"stage": "proposal", "days_in_stage": 90})


def test_a_rule_finds_what_its_when_covers_and_its_require_refuses(meddicc: Model) -> None:
    past = check(meddicc, "rule.opportunity.close_date_not_past")
    assert breaks(past, {**GOOD_PROPOSAL, "close_date": "2026-12-03"})
    assert not breaks(past, {**GOOD_PROPOSAL, "close_date": "2026-12-04"})
    assert not breaks(past, {"stage": "closed_won", "close_date": "2026-01-01"})


def test_open_only_leaves_out_deals_no_longer_in_play(meddicc: Model) -> None:
    won = {**GOOD_PROPOSAL, "stage": "closed_won", "next_step": None}
    contracting = check(meddicc, "stage_requirement.new_business.contracting")
    assert breaks(contracting, won)
    assert not breaks(check(meddicc, "stage_requirement.new_business.contracting", open_only=True), won)
    assert breaks(check(meddicc, "stage_requirement.new_business.contracting", open_only=True),
                  {**won, "stage": "contracting"})


def test_only_and_kinds_choose_the_checks(meddicc: Model) -> None:
    wanted = {Address.parse("rule.opportunity.close_date_not_past"), Address.parse("stage.new_business.proposal")}
    assert [str(c.address) for c in checks_of(meddicc, only=wanted)] == [
        "stage.new_business.proposal", "rule.opportunity.close_date_not_past"]
    assert {c.address.kind for c in checks_of(meddicc, (Kind.RULE,))} == {Kind.RULE}


def test_a_check_on_a_save_in_progress_is_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text(
        "sos: 1\nname: acme\nextends: [starter:smb-bant]\nrules:\n  amount_frozen:\n    object: opportunity\n"
        "    require: not is_changed(amount)\n    message: Amount is frozen.\n", encoding="utf-8")
    blueprint, diagnostics = load_blueprint(Path("b.yaml"))
    assert blueprint is not None, diagnostics
    found = {str(c.address): reads_a_save(c) for c in checks_of(compile_model(blueprint), (Kind.RULE,))}
    assert found["rule.opportunity.amount_frozen"] is True
    assert not any(value for key, value in found.items() if key != "rule.opportunity.amount_frozen")
