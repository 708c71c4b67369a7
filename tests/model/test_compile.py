"""compile_model: field defaults, stage requirement rules, rule keys, canonical expressions, origins."""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sos.blueprint.load import load_blueprint
from sos.blueprint.types import Pipeline, Stage
from sos.errors import Span
from sos.expr.dialects.evaluate import evaluate
from sos.model.compile import compile_model, requirement_stages
from sos.model.resources import Address, Kind, Model, Resource
from sos.resources import starter_names, starters_dir

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme"


def compile_text(folder: Path, text: str) -> Model:
    """Compile `text` written as b.yaml in `folder` (the working directory), asserting it loads cleanly."""
    (folder / "b.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    blueprint, diagnostics = load_blueprint(Path("b.yaml"))
    assert [d.headline() for d in diagnostics if d.is_error] == []
    assert blueprint is not None
    return compile_model(blueprint)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def attrs(model: Model, address: str) -> dict[str, Any]:
    resource = model.get(Address.parse(address))
    assert resource is not None, f"{address} not in the model"
    return dict(resource.attrs)


# --- fields ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param("{type: text}", {"type": "text", "label": "Deal Note", "length": 255}, id="text-length-255"),
    pytest.param("{type: text, length: 40}", {"type": "text", "label": "Deal Note", "length": 40},
                 id="text-length-set"),
    pytest.param("{type: long_text}", {"type": "long_text", "label": "Deal Note"}, id="long-text-no-length"),
    pytest.param("{type: currency}", {"type": "currency", "label": "Deal Note", "precision": 18, "scale": 2},
                 id="currency-18-2"),
    pytest.param("{type: currency, scale: 0}", {"type": "currency", "label": "Deal Note", "precision": 18, "scale": 0},
                 id="currency-scale-0-kept"),
    pytest.param("{type: number}", {"type": "number", "label": "Deal Note", "precision": 18, "scale": 0},
                 id="number-18-0"),
    pytest.param("{type: number, precision: 4}", {"type": "number", "label": "Deal Note", "precision": 4, "scale": 0},
                 id="number-precision-set"),
    pytest.param("{type: percent}", {"type": "percent", "label": "Deal Note", "precision": 5, "scale": 2},
                 id="percent-5-2"),
    pytest.param("{type: checkbox, label: Ticked}", {"type": "checkbox", "label": "Ticked"}, id="checkbox"),
    pytest.param("{type: checkbox, default: true}", {"type": "checkbox", "label": "Deal Note", "default": True},
                 id="checkbox-default"),
    pytest.param("{type: picklist, values: ['Yes', 'No'], default: 'No'}",
                 {"type": "picklist", "label": "Deal Note", "values": ["Yes", "No"], "default": "No"}, id="picklist"),
    pytest.param("{type: lookup, to: contact}", {"type": "lookup", "label": "Deal Note", "to": "contact"}, id="lookup"),
    pytest.param("{type: date, help: When., description: Why.}",
                 {"type": "date", "label": "Deal Note", "help": "When.", "description": "Why."}, id="help-description"),
    pytest.param("{type: email, api_name: Deal_Note_X__c}",
                 {"type": "email", "label": "Deal Note", "api_names": {"*": "Deal_Note_X__c"}}, id="api-name-all"),
    pytest.param("{type: url, api_name: {salesforce: Note_Url__c, hubspot: note_url}}",
                 {"type": "url", "label": "Deal Note",
                  "api_names": {"hubspot": "note_url", "salesforce": "Note_Url__c"}},
                 id="api-name-per-backend"),
])
def test_field_attrs_and_defaults(scratch: Path, spec: str, expected: dict[str, Any]) -> None:
    model = compile_text(scratch, f"""\
        sos: 1
        name: t
        fields:
          opportunity:
            deal_note: {spec}
        """)
    assert attrs(model, "field.opportunity.deal_note") == expected
    assert len(model) == 1


# --- stage requirements ---------------------------------------------------------------------------

PIPELINE = textwrap.dedent("""\
    sos: 1
    name: t
    fields:
      opportunity:
        pain: {type: long_text, label: Pain}
        budget_ok: {type: checkbox, label: Budget OK}
        signed_by: {type: lookup, to: contact, label: Signed by}
        loss_reason: {type: picklist, values: [Price, Timing], label: Loss reason}
        dq_reason: {type: text, label: DQ reason}
    pipelines:
      deals:
        label: Deals
        stages:
          - {key: discovery, label: Discovery, probability: 10, require: [pain]}
          - {key: evaluation, label: Evaluation, probability: 30}
          - {key: proposal, label: Proposal, probability: 60, require: [budget_ok, amount]}
          - {key: won, label: Closed Won, probability: 100, outcome: won, require: [signed_by]}
          - {key: lost, label: Closed Lost, probability: 0, outcome: lost, require: [loss_reason]}
          - {key: disqualified, label: Disqualified, probability: 0, outcome: lost, require: [dq_reason]}
    """)


@pytest.fixture
def pipeline_model(scratch: Path) -> Model:
    return compile_text(scratch, PIPELINE)


@pytest.mark.parametrize(("stage", "expected"), [
    pytest.param("discovery", ["discovery", "evaluation", "proposal", "won"], id="open-holds-later-open-and-won"),
    pytest.param("evaluation", ["evaluation", "proposal", "won"], id="open-without-require"),
    pytest.param("proposal", ["proposal", "won"], id="last-open"),
    pytest.param("won", ["won"], id="won-only-itself"),
    pytest.param("lost", ["lost"], id="lost-only-itself"),
    pytest.param("disqualified", ["disqualified"], id="second-lost-only-itself"),
])
def test_requirement_stages(scratch: Path, stage: str, expected: list[str]) -> None:
    (scratch / "b.yaml").write_text(textwrap.dedent(PIPELINE), encoding="utf-8")
    blueprint, _ = load_blueprint(Path("b.yaml"))
    assert blueprint is not None
    pipeline = blueprint.pipelines["deals"]
    chosen = next(s for s in pipeline.stages if s.key == stage)
    assert requirement_stages(pipeline, chosen) == expected


def test_requirement_stages_include_a_won_stage_listed_before_the_stage() -> None:
    """DESIGN: a stage's `require` holds in that stage, every later open stage *and the won stage*.

    The language accepts an open stage placed after the closed ones (`after: lost`, or simply
    written there), and nothing warns about it; the won stage must still carry its requirements.
    """
    where = Span("b.yaml", 1, 1)

    def stage(key: str, outcome: str, require: tuple[str, ...] = ()) -> Stage:
        return Stage(key, key.title(), 50, "pipeline", outcome, where, require=require)

    late = stage("late", "open", ("pain",))
    pipeline = Pipeline("deals", "Deals", "opportunity",
                        (stage("early", "open"), stage("won", "won"), stage("lost", "lost"), late), where)
    assert sorted(requirement_stages(pipeline, late)) == ["late", "won"]


def test_stage_requirements(pipeline_model: Model) -> None:
    requirements = {r.address.key: dict(r.attrs) for r in pipeline_model.of_kind(Kind.STAGE_REQUIREMENT)}
    assert requirements == {
        "discovery": {"fields": ["pain"], "stages": ["discovery", "evaluation", "proposal", "won"],
                      "message": "Discovery needs: Pain.", "enforce": "on_stage_change"},
        "proposal": {"fields": ["budget_ok", "amount"], "stages": ["proposal", "won"],
                     "message": "Proposal needs: Budget OK, Amount.", "enforce": "on_stage_change"},
        "won": {"fields": ["signed_by"], "stages": ["won"], "message": "Closed Won needs: Signed by.",
                "enforce": "on_stage_change"},
        "lost": {"fields": ["loss_reason"], "stages": ["lost"], "message": "Closed Lost needs: Loss reason.",
                 "enforce": "on_stage_change"},
        "disqualified": {"fields": ["dq_reason"], "stages": ["disqualified"],
                         "message": "Disqualified needs: DQ reason.", "enforce": "on_stage_change"},
    }
    assert {r.address.scope for r in pipeline_model.of_kind(Kind.STAGE_REQUIREMENT)} == {"deals"}


def test_exit_criteria_hold_once_a_deal_moves_on(scratch: Path) -> None:
    """`require_to_leave` holds in the later open stages and the won stage, not in the stage itself nor a lost one:
    a deal can be created in the first stage (as a lead conversion does) without the fields."""
    model = compile_text(scratch, PIPELINE.replace("probability: 10, require: [pain]",
                                                   "probability: 10, require_to_leave: [pain, amount]"))
    assert attrs(model, "stage_requirement.deals.discovery__exit") == {
        "fields": ["pain", "amount"], "stages": ["evaluation", "proposal", "won"],
        "message": "Leaving Discovery needs: Pain, Amount.", "enforce": "on_stage_change"}
    assert model.get(Address.parse("stage_requirement.deals.discovery")) is None
    exprs = model.get(Address.parse("stage_requirement.deals.discovery__exit")).exprs  # type: ignore[union-attr]
    scope = exprs["when"].scope

    def breaks(record: dict[str, object]) -> bool:
        return evaluate(exprs["when"].expr, record, scope, today=datetime.date(2026, 1, 1)) is True and evaluate(
            exprs["require"].expr, record, scope, today=datetime.date(2026, 1, 1)) is not True
    assert [breaks({"stage": stage}) for stage in ("discovery", "evaluation", "won", "lost")] == [
        False, True, True, False]


@pytest.mark.parametrize(("record", "holds"), [
    ({"stage": "proposal", "budget_ok": True, "amount": 100}, True),
    ({"stage": "proposal", "budget_ok": False, "amount": 100}, False),   # a checkbox must be ticked
    ({"stage": "won", "budget_ok": True, "amount": None}, False),        # and holds on in the won stage
    ({"stage": "discovery", "budget_ok": False, "amount": None}, True),  # not before proposal
    ({"stage": "lost", "budget_ok": False, "amount": None}, True),       # nor in a lost stage
])
def test_stage_requirement_means_what_the_stage_says(pipeline_model: Model, record: dict[str, object],
                                                       holds: bool) -> None:
    """The typed expressions a requirement carries, evaluated on records (DESIGN.md, "Stages": a stage's `require`
    holds in it, every later open stage and the won stages; a checkbox counts as filled in only when ticked)."""
    exprs = pipeline_model.resources[Address.parse("stage_requirement.deals.proposal")].exprs
    full = {"pain": "x", "signed_by": None, **record}
    applies = evaluate(exprs["when"].expr, full, exprs["when"].scope, today=datetime.date(2026, 12, 4))
    met = evaluate(exprs["require"].expr, full, exprs["require"].scope, today=datetime.date(2026, 12, 4))
    assert (not applies or met) is holds


def test_stages_and_pipeline_attrs(pipeline_model: Model) -> None:
    assert attrs(pipeline_model, "pipeline.opportunity.deals") == {
        "label": "Deals", "stages": ["discovery", "evaluation", "proposal", "won", "lost", "disqualified"]}
    assert attrs(pipeline_model, "stage.deals.discovery") == {
        "label": "Discovery", "probability": 10, "forecast": "pipeline", "outcome": "open"}
    assert attrs(pipeline_model, "stage.deals.won") == {
        "label": "Closed Won", "probability": 100, "forecast": "closed", "outcome": "won"}
    assert attrs(pipeline_model, "stage.deals.lost") == {
        "label": "Closed Lost", "probability": 0, "forecast": "omitted", "outcome": "lost"}


# --- rule keys ------------------------------------------------------------------------------------

def test_rule_keys_and_scopes(scratch: Path) -> None:
    model = compile_text(scratch, PIPELINE + textwrap.dedent("""\
    rules:
      close_date_set:
        object: opportunity
        require: not is_blank(close_date)
        message: Set a close date.
      lead_needs_company:
        object: lead
        require: not is_blank(company)
        message: Leads need a company.
    """))
    rule_addresses = [str(r.address) for r in model.of_kind(Kind.RULE)]
    assert rule_addresses == [
        "rule.lead.lead_needs_company",
        "rule.opportunity.close_date_set",
    ]
    # evaluation requires nothing, so it has no requirement
    assert model.get(Address(Kind.STAGE_REQUIREMENT, "deals", "evaluation")) is None


def test_blueprint_rule_may_not_take_a_generated_key(scratch: Path) -> None:
    (scratch / "b.yaml").write_text(PIPELINE + textwrap.dedent("""\
    rules:
      deals__evaluation__required:
        object: opportunity
        require: not is_blank(close_date)
        message: Set a close date.
    """), encoding="utf-8")
    blueprint, diagnostics = load_blueprint(Path("b.yaml"))
    assert blueprint is None
    assert [d.code for d in diagnostics if d.is_error] == ["reserved-key"]
    assert diagnostics[0].message == ("rule key 'deals__evaluation__required' ends in '__required', which sos keeps "
                                      "for the rules it makes from stages' `require`")


# --- canonical expressions ------------------------------------------------------------------------

@pytest.mark.parametrize(("when", "require", "expected"), [
    pytest.param("(stage.is_open)  and  ((amount > 1000) or probability = 3)", "amount>0",
                 {"when": "stage.is_open and (amount > 1000 or probability == 3)", "require": "amount > 0"},
                 id="spacing-parentheses-single-equals"),
    pytest.param(None, "not (is_blank( pain )) and loss_reason in [\"Price\", 'Timing']",
                 {"require": "not is_blank(pain) and loss_reason in ['Price', 'Timing']"},
                 id="double-quotes-become-single"),
    pytest.param("stage >= 'proposal'", "close_date <= today() + (30 * 2)",
                 {"when": "stage >= 'proposal'", "require": "close_date <= today() + 30 * 2"},
                 id="needless-arith-parentheses"),
    pytest.param(None, "(amount - 10) * 2 > 5", {"require": "(amount - 10) * 2 > 5"}, id="needed-parentheses-kept"),
])
def test_rule_expressions_are_stored_as_canonical_text(scratch: Path, when: str | None, require: str,
                                                       expected: dict[str, str]) -> None:
    when_line = f"    when: {json.dumps(when)}\n" if when is not None else ""
    model = compile_text(scratch, PIPELINE + "rules:\n  r:\n    object: opportunity\n" + when_line
                         + f"    require: {json.dumps(require)}\n    message: M.\n")
    assert attrs(model, "rule.opportunity.r") == {**expected, "message": "M.", "enforce": "always"}


def test_cadence_and_route_expressions_are_canonical(scratch: Path) -> None:
    model = compile_text(scratch, PIPELINE + textwrap.dedent("""\
    lead_statuses:
      - {key: new, label: New, default: true}
      - {key: done, label: Done, converted: true}
    cadences:
      nudge:
        trigger: {stage_entered: proposal}
        when: "(amount>5)"
        action: {create_task: {assign_to: owner, subject: Nudge, due_in_days: 1}}
    routing:
      - {key: big, when: "(employees>100)  and not(is_blank(company))", assign_to: {queue: big}}
      - {key: rest, assign_to: {user: a@example.com}}
    """))
    assert attrs(model, "cadence.opportunity.nudge") == {
        "trigger": {"stage_entered": "proposal"}, "when": "amount > 5",
        "action": {"create_task": {"subject": "Nudge", "due_in_days": 1}}}   # assign_to: owner is the default
    assert attrs(model, "route.lead.big") == {
        "when": "employees > 100 and not is_blank(company)", "assign_to": {"queue": "big"}, "position": 0}
    assert attrs(model, "route.lead.rest") == {"assign_to": {"user": "a@example.com"}, "position": 1}
    assert attrs(model, "lead_status.lead.new") == {"label": "New", "default": True, "converted": False,
                                                   "position": 0}
    assert attrs(model, "lead_status.lead.done") == {"label": "Done", "default": False, "converted": True,
                                                    "position": 1}


# --- origins --------------------------------------------------------------------------------------

def expected_token(resource: Resource) -> str:
    """What the origin line must hold: the item's key, or `require` (`require_to_leave`) for a rule made from a
    stage."""
    address = resource.address
    if address.kind is Kind.STAGE_REQUIREMENT:
        return "require_to_leave:" if address.key.endswith("__exit") else "require:"
    if address.kind in (Kind.STAGE, Kind.LEAD_STATUS, Kind.ASSIGNMENT):
        return f"key: {address.key}"
    return f"{address.key}:"


def check_origins(model: Model, sources: dict[str, Path]) -> None:
    lines = {name: path.read_text(encoding="utf-8").splitlines() for name, path in sources.items()}
    for resource in model:
        origin = resource.origin
        assert origin is not None, f"{resource.address} has no origin"
        assert origin.file in sources, f"{resource.address}: origin {origin} names an unexpected file"
        line = lines[origin.file][origin.line - 1]
        assert expected_token(resource) in line, f"{resource.address}: {origin} is {line!r}"


@pytest.mark.parametrize("starter", starter_names())
def test_every_starter_item_has_a_starter_origin(scratch: Path, starter: str) -> None:
    model = compile_text(scratch, f"sos: 1\nname: client\nextends: [starter:{starter}]\n")
    assert len(model) > 40
    check_origins(model, {f"starter:{starter}": starters_dir() / f"{starter}.yaml"})


def test_acme_origins_point_at_the_file_and_line_that_last_set_each_item(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ACME)
    blueprint, diagnostics = load_blueprint(Path("blueprint.yaml"))
    assert blueprint is not None and [d for d in diagnostics if d.is_error] == []
    model = compile_model(blueprint)
    check_origins(model, {"blueprint.yaml": ACME / "blueprint.yaml",
                          "starter:b2b-saas-meddicc": starters_dir() / "b2b-saas-meddicc.yaml"})
    by_address = {str(r.address): f"{r.origin.file}:{r.origin.line}" for r in model if r.origin}
    acme_lines = (ACME / "blueprint.yaml").read_text(encoding="utf-8").splitlines()
    starter_lines = (starters_dir() / "b2b-saas-meddicc.yaml").read_text(encoding="utf-8").splitlines()

    def line_of(lines: list[str], text: str, after: int = 0) -> int:
        return next(n for n, line in enumerate(lines, start=1) if n > after and text in line)

    site_pilot = line_of(acme_lines, "key: site_pilot")
    negotiation = line_of(starter_lines, "key: negotiation")
    assert {a: by_address[a] for a in (
        "field.opportunity.site_count", "field.opportunity.metrics", "stage.new_business.site_pilot",
        "stage_requirement.new_business.site_pilot", "stage.new_business.negotiation",
        "stage_requirement.new_business.negotiation", "rule.opportunity.pilot_dates_valid",
        "rule.opportunity.close_date_not_past", "route.lead.catch_all")} == {
        "field.opportunity.site_count": f"blueprint.yaml:{line_of(acme_lines, 'site_count:')}",
        "field.opportunity.metrics": f"starter:b2b-saas-meddicc:{line_of(starter_lines, '    metrics:')}",
        "stage.new_business.site_pilot": f"blueprint.yaml:{site_pilot}",
        "stage_requirement.new_business.site_pilot":
            f"blueprint.yaml:{line_of(acme_lines, 'require:', after=site_pilot)}",
        # acme overrides negotiation's probability, so the stage comes from acme; its require stays the starter's
        "stage.new_business.negotiation": f"blueprint.yaml:{line_of(acme_lines, 'key: negotiation')}",
        "stage_requirement.new_business.negotiation":
            f"starter:b2b-saas-meddicc:{line_of(starter_lines, 'require:', after=negotiation)}",
        "rule.opportunity.pilot_dates_valid": f"blueprint.yaml:{line_of(acme_lines, 'pilot_dates_valid:')}",
        "rule.opportunity.close_date_not_past":
            f"starter:b2b-saas-meddicc:{line_of(starter_lines, 'close_date_not_past:')}",
        "route.lead.catch_all": f"starter:b2b-saas-meddicc:{line_of(starter_lines, 'key: catch_all')}",
    }
    # what acme removed is gone
    assert "cadence.lead.nurture_recycle" not in by_address
    assert "route.lead.emea_territory" not in by_address
