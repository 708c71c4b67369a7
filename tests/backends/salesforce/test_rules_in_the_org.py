"""Every starter's rules, deployed to the emulator, refuse exactly the REST writes the sandbox evaluator says
break them.

Each starter is applied; then records made from its own fields (blanks, zero, negatives, percents on
both sides of a rule's limit, dates around today, multi-select values) are created and updated through
simple-salesforce. The emulator runs the deployed error condition formulas on every write as
Salesforce documents (reference §9: every active rule on every save, API writes included;
FIELD_CUSTOM_VALIDATION_EXCEPTION with the rule's message); sos's evaluator reads the same rules
from the blueprint. They must name the same broken rules for every record, and every rule must
refuse some write: records are made by the hundred, read by the sandbox evaluator, and the ones
written through the API include two that break each rule. The same records, seeded, are then
queried with each rule's SOQL violators clause (sos.expr.dialects.soql) through the emulator's
SOQL engine, which must find exactly the records that break the rule.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sos.backends.salesforce.names import salesforce_field_name
from sos.backends.salesforce.standard_fields import api_names_for, expression_naming
from sos.blueprint.load import load_blueprint
from sos.blueprint.scope import scope_for
from sos.blueprint.types import Blueprint
from sos.errors import SosError
from sos.expr.ast import Expr
from sos.expr.dialects.canonical import to_text
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.soql import Soql
from sos.expr.types import Scope
from sos.model.compile import compile_model
from sos.errors import Span
from sos.model.exprs import enforced_when, model_scope, pipeline_object
from sos.model.resources import Kind
from sos.engine import apply_plan, make_plan
from sos.project import Project
from tests.backends.salesforce.conftest import STARTERS, blueprint_text
from tests.emulators.salesforce import SalesforceEmulator

CANDIDATES = 600  # records made per object and starter, read by the sandbox evaluator alone
RECORDS = 30  # of them written through the REST API (created, and written over an accepted record), at least
              # two breaking each rule
OBJECTS = {"opportunity": "Opportunity", "lead": "Lead"}


def values_for(field_type: str, values: tuple[str, ...], today: datetime.date,
               now: datetime.datetime) -> list[Any]:
    """The values a generated record may hold in a field of this type (None is blank)."""
    days = [today + datetime.timedelta(days=n) for n in (-400, -8, -7, -1, 0, 1, 59, 60, 61, 91, 366)]
    return {
        "checkbox": [True, False],
        "number": [None, 0, -5, 1, 10, 40, 250],
        "currency": [None, 0, -1, 999.99, 5000, 25000],
        "percent": [None, 0, 15, 15.01, 14.99, 34.99, 35, 60, 100],
        "date": [None, *days],
        "datetime": [None, now - datetime.timedelta(days=3, hours=5)],
        "picklist": [None, *values],
        "multi_picklist": [None, [], *[[v] for v in values], list(values[:2])],
    }.get(field_type, [None, "x", "Yes"])


def generated(bp: Blueprint, obj: str, rng: random.Random, today: datetime.date,
              now: datetime.datetime) -> dict[str, Any]:
    """A record by field key, as the sandbox evaluator takes it."""
    record: dict[str, Any] = {}
    for field in bp.fields.get(obj, {}).values():
        if field.type not in ("lookup", "user"):
            choices = values_for(field.type, tuple(field.values or ()), today, now)
            record[field.key] = None if None in choices and rng.random() < 0.3 else rng.choice(choices)
    if obj == "opportunity":
        stages = [s.key for p in bp.pipelines.values() if p.object == "opportunity" for s in p.stages]
        record.update(stage=rng.choice(stages), close_date=rng.choice(values_for("date", (), today, now)[1:]),
                      amount=rng.choice(values_for("currency", (), today, now)), name="Deal")
    else:
        record.update(status=rng.choice([s.key for s in bp.lead_statuses]), last_name="Doe", company="Acme")
    return record


def api_names(bp: Blueprint, obj: str) -> dict[str, str]:
    return api_names_for(obj, {f.key: salesforce_field_name(f.key, f.api_names)
                               for f in bp.fields.get(obj, {}).values()})


def labels(bp: Blueprint) -> dict[str, str]:
    """Stage and lead status keys → the values Salesforce stores for them in a new org (their labels)."""
    return {**{s.key: s.label for p in bp.pipelines.values() for s in p.stages},
            **{s.key: s.label for s in bp.lead_statuses}}


def rest_record(bp: Blueprint, obj: str, record: dict[str, Any]) -> dict[str, Any]:
    """`record` by API name, as simple-salesforce sends it: stages and statuses by label, multi-select `;`-joined."""
    names, stored = api_names(bp, obj), labels(bp)
    held: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("stage", "status"):
            value = stored[value]
        elif isinstance(value, list):
            value = ";".join(value) or None
        elif isinstance(value, datetime.datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        held[names[key]] = value
    return held


@dataclass(frozen=True)
class Rule:
    message: str
    when: Expr | None
    require: Expr
    text: str  # `when` and `require` as written, to name the rule when they disagree
    bites: Expr | None  # when it blocks a save (its `enforce`), None: on every save


def rules_on(bp: Blueprint, obj: str) -> list[Rule]:
    """The blueprint's rules on `obj` (stage requirements included), as the Model holds them."""
    model = compile_model(bp)
    held = [*(r for r in model.of_kind(Kind.RULE) if r.address.scope == obj),
            *(r for r in model.of_kind(Kind.STAGE_REQUIREMENT) if pipeline_object(model, r.address.scope) == obj)]
    scope = model_scope(model, obj)
    return [Rule(r.attrs["message"], r.exprs["when"].expr if "when" in r.exprs else None, r.exprs["require"].expr,
                 f"{r.address}: {to_text(r.exprs['require'].expr)}",
                 getattr(enforced_when(r.attrs["enforce"], scope, Span("test", 1, 1)), "expr", None))
            for r in held]


def broken_rules(rules: list[Rule], scope: Scope, record: dict[str, Any], today: datetime.date,
                 now: datetime.datetime, prior: dict[str, Any] | None = None) -> frozenset[str]:
    """The messages of the rules that a save of `record` breaks, by sos's evaluator: over `prior` (None: a save
    that creates it), of the rules that bite on that save."""
    def holds(expr: Expr) -> bool:
        return evaluate(expr, record, scope, today=today, now=now, prior=prior) is True
    return frozenset(rule.message for rule in rules if (rule.bites is None or holds(rule.bites))
                     and (rule.when is None or holds(rule.when)) and not holds(rule.require))


def chosen(candidates: list[tuple[dict[str, Any], frozenset[str]]]) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """RECORDS of the candidates: for every rule two that break it, the rest as generated (most break none)."""
    picked: list[tuple[dict[str, Any], frozenset[str]]] = []
    for message in sorted({m for _, broken in candidates for m in broken}):
        picked += [c for c in candidates if message in c[1] and c not in picked][:2]
    return (picked + [c for c in candidates if c not in picked])[:max(RECORDS, len(picked))]


def refused_by(write: Callable[[], object]) -> set[str]:
    """The validation rule messages a REST write is refused with; empty when it is saved."""
    try:
        write()
    except SalesforceMalformedRequest as error:
        assert all(e["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION" for e in error.content), error.content
        return {e["message"] for e in error.content}
    return set()


def soql_finds_the_same(emulator: SalesforceEmulator, bp: Blueprint, obj: str, rules: list[Rule],
                        records: list[tuple[dict[str, Any], frozenset[str]]]) -> set[str]:
    """Seed `records` (no rules run) and query each rule's SOQL violators clause through the REST API: it must
    find exactly the records that break the rule. Returns the messages of the rules checked; rules SOQL cannot
    say (days_since, arithmetic) are left out."""
    sobject = OBJECTS[obj]
    emulator.org.records[sobject].clear()
    ids = {emulator.org.add_record(sobject, rest_record(bp, obj, record)): broken for record, broken in records}
    generator = Soql(scope_for(bp, obj), expression_naming(obj, api_names(bp, obj), labels(bp), labels(bp)))
    sf = emulator.client()
    checked = set()
    for rule in rules:
        try:
            where = generator.violators(rule.when, rule.require)
        except SosError:
            continue
        rows = sf.query_all(f"SELECT Id FROM {sobject} WHERE {where}")["records"]
        expected = {record_id for record_id, broken in ids.items() if rule.message in broken}
        assert {row["Id"] for row in rows} == expected, (rule.text, where)
        checked.add(rule.message)
    return checked


@pytest.mark.parametrize("case", STARTERS)
def test_deployed_rules_refuse_what_the_sandbox_refuses(emulator: SalesforceEmulator,
                                                        make_project: Callable[..., Project], case: str) -> None:
    project = make_project(blueprint_text(case))
    first = make_plan(project, project.target(None))
    assert apply_plan(project, first.backend, first.plan, first.desired).ok
    bp, problems = load_blueprint(project.blueprint_path)
    assert bp is not None, problems
    sf = emulator.client()
    now = emulator.org.clock()
    today = (now + emulator.user_offset).date()  # TODAY() is the running user's day (eight hours west of GMT)
    naive_now = now.replace(tzinfo=None)
    rng = random.Random(case)
    fired: set[str] = set()
    queried: set[str] = set()
    for obj, sobject in OBJECTS.items():
        rules, scope = rules_on(bp, obj), scope_for(bp, obj)
        if not rules:
            continue
        candidates = []
        for _ in range(CANDIDATES):
            record = generated(bp, obj, rng, today, naive_now)
            candidates.append((record, broken_rules(rules, scope, record, today, naive_now)))
        accepted: tuple[str, dict[str, Any]] | None = None     # a saved record's id and what it holds
        for record, expected in chosen(candidates):
            api = getattr(sf, sobject)
            held = rest_record(bp, obj, record)
            created: dict[str, Any] = {}
            assert refused_by(lambda: created.update(api.create(held))) == expected, (record, held)  # noqa: B023 - called at once
            fired |= expected
            if accepted is not None:
                over = broken_rules(rules, scope, record, today, naive_now, prior=accepted[1])
                assert refused_by(lambda: api.update(accepted[0], held)) == over, ("update", record, held)  # noqa: B023 - called at once
                fired |= over
                accepted = (accepted[0], record) if not over else accepted
            if "id" in created:
                accepted = (created["id"], record)
        queried |= soql_finds_the_same(emulator, bp, obj, rules, chosen(candidates))
    messages = {rule.message for obj in OBJECTS for rule in rules_on(bp, obj)}
    assert sorted(messages - fired) == []  # every rule refused some write
    assert queried  # and SOQL found the violators of the rules it can say
