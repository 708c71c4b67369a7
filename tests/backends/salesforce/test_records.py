"""The records side of SalesforceBackend (tally, record_count) over real HTTPS against the emulator: every starter's
checks counted by the org equal an independent evaluation of the same records, in ceil(checks / 5) Composite
calls for the counts; what SOQL cannot say is fetched page by page; faults mid-tally are retried or reported."""

from __future__ import annotations

import datetime
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sos.backends.base import Tally
from sos.backends.salesforce.backend import SalesforceBackend
from sos.backends.salesforce.lower.context import Build
from sos.backends.salesforce.standard_fields import expression_naming
from sos.engine import apply_plan, desired_model, make_plan
from sos.errors import SosError
from sos.expr.annotate import annotate
from sos.expr.ast import Literal, walk
from sos.expr.dialects.base import Naming
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.soql import Soql
from sos.expr.types import Kind, Scope
from sos.model.checks import Check, checks_of, reads_a_save
from sos.model.exprs import model_scope
from sos.model.resources import Address, Kind as ResourceKind, Model
from sos.project import Project
from tests.backends.salesforce.conftest import STARTERS, Recorder, blueprint_text
from tests.backends.salesforce.test_faults import oauth_env
from tests.expr.dialects.test_sf_formula import PICKLIST_VALUES, conditions
from tests.expr.helpers import parse
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.salesforce.org import iso

TODAY = datetime.date(2026, 12, 4)
USERS = ("ana@acme.example", "bo@acme.example", "cy@acme.example")
OBJECTS = {"opportunity": "Opportunity", "lead": "Lead"}
STATE = {"opportunity": "stage", "lead": "status"}


@dataclass
class Org:
    """An org with a blueprint applied and records loaded, and the same records as the evaluator takes them."""

    project: Project
    model: Model
    records: dict[str, list[dict[str, object]]]     # object → records by field key, each with its "Id"


def applied(make_project: Callable[..., Project], text: str) -> tuple[Project, Model]:
    project = make_project(text)
    run = make_plan(project, project.target(None))
    assert apply_plan(project, run.backend, run.plan, run.desired).ok
    return project, run.desired


def naming(model: Model, obj: str) -> Naming:
    build = Build(model, (), None, False, False, frozenset())
    return expression_naming(obj, build.field_names(obj), build.stage_names_by_key(), build.status_names_by_key())


def words(checks: Iterable[Check]) -> list[str]:
    """The text values the checks compare with: what generated records hold, so that checks match some."""
    found = {str(n.value) for c in checks for n in walk(c.breaks.expr) if isinstance(n, Literal)
             and isinstance(n.value, str) and n.value}
    return sorted(found | {"Other", "other"})


def random_value(kind: Kind, rng: random.Random, pool: Sequence[str], scope: Scope) -> object:
    """A value of `kind` (never blank)."""
    midnight = datetime.datetime.combine(TODAY, datetime.time())
    choose: dict[Kind, Callable[[], object]] = {
        Kind.BOOLEAN: lambda: rng.random() < 0.5,
        Kind.NUMBER: lambda: rng.choice([0, 5, 15, 16, 50, 1000, 25000.5, 90000]),
        Kind.DATE: lambda: TODAY + datetime.timedelta(days=rng.randint(-120, 120)),
        Kind.DATETIME: lambda: midnight + datetime.timedelta(hours=rng.randint(-2000, 2000)),
        Kind.STAGE: lambda: rng.choice(scope.stages).key,
        Kind.LEAD_STATUS: lambda: rng.choice(scope.statuses).key,
        Kind.USER: lambda: rng.choice(USERS),
        Kind.MULTI_PICKLIST: lambda: rng.sample(pool, rng.randint(1, 2)),
        Kind.REFERENCE: lambda: "001Em0000000001AAA",
    }
    return choose.get(kind, lambda: rng.choice(pool))()


# Never blank: checkboxes, and the fields Salesforce requires.
REQUIRED = frozenset({Kind.BOOLEAN, Kind.STAGE, Kind.LEAD_STATUS})


def generated(obj: str, scope: Scope, rng: random.Random, index: int, pool: Sequence[str]) -> dict[str, object]:
    """One record by field key with values of every kind, blanks included."""
    midnight = datetime.datetime.combine(TODAY, datetime.time())
    record: dict[str, object] = {}
    for key, found in scope.fields.items():
        blank = rng.random() < 0.25 and found.kind not in REQUIRED and key != "owner"
        record[key] = None if blank else random_value(found.kind, rng, pool, scope)
    record["name"] = f"{obj.title()} {index % 40:02d}"
    record["created_date"] = midnight - datetime.timedelta(hours=rng.randint(1, 3000))
    if obj == "opportunity":
        entered = None if rng.random() < 0.3 else midnight - datetime.timedelta(minutes=rng.randint(-600, 60000))
        record["_entered"] = entered
        record["days_in_stage"] = (TODAY - (entered or record["created_date"]).date()).days  # type: ignore[union-attr]
        record["forecast_category"] = rng.choice(["pipeline", "best_case", "commit", "closed", "omitted"])
    return record


def stored_value(key: str, value: object, kind: Kind, names: Naming, users: Mapping[str, str]) -> object:
    """A value as the org stores it: stored picklist values, user ids, ISO dates, `;`-joined multi-select."""
    if value is None:
        return None
    converters: dict[Kind, Callable[[], object]] = {
        Kind.STAGE: lambda: names.stage_values[str(value)],
        Kind.LEAD_STATUS: lambda: names.status_values[str(value)],
        Kind.USER: lambda: users[str(value)],
        Kind.MULTI_PICKLIST: lambda: ";".join(value),  # type: ignore[call-overload]
        Kind.DATETIME: lambda: iso(value.replace(tzinfo=datetime.UTC)),  # type: ignore[attr-defined]
        Kind.DATE: lambda: value.isoformat(),  # type: ignore[attr-defined]
    }
    if key in names.text_values:
        return names.text_values[key][str(value)]
    return converters.get(kind, lambda: value)()


def salesforce_row(record: Mapping[str, object], scope: Scope, names: Naming,
                   users: Mapping[str, str]) -> dict[str, object]:
    """The record as the org stores it, by API name."""
    row = {names.fields[key]: stored_value(key, value, scope.fields[key].kind, names, users)
           for key, value in record.items() if key in scope.fields and key in names.fields}
    if "_entered" in record:
        row["LastStageChangeDate"] = stored_value("_entered", record["_entered"], Kind.DATETIME, names, users)
    return row


def load(emulator: SalesforceEmulator, model: Model, checks: Sequence[Check], per_object: int,
         seed: int = 7, pool: Sequence[str] = ()) -> dict[str, list[dict[str, object]]]:
    """`per_object` generated opportunities and leads in the org; text values from `pool`, else from the checks."""
    rng = random.Random(seed)
    users = {name: emulator.org.add_user(name) for name in USERS}
    pool = pool or words(checks)
    loaded: dict[str, list[dict[str, object]]] = {}
    for obj in OBJECTS:
        scope, names = model_scope(model, obj), naming(model, obj)
        loaded[obj] = []
        for index in range(per_object):
            record = generated(obj, scope, rng, index, pool)
            record["Id"] = emulator.org.add_record(OBJECTS[obj], salesforce_row(record, scope, names, users))
            loaded[obj].append(record)
    return loaded


def expected(check: Check, records: Sequence[Mapping[str, object]], top: int) -> Tally:
    """The tally an independent evaluation of the loaded records gives."""
    if reads_a_save(check):
        return Tally(0, unsupported="save")
    matched = [r for r in records if evaluate(check.breaks.expr, r, check.breaks.scope, today=TODAY) is True]
    state = STATE.get(check.object)
    worst = sorted(matched, key=lambda r: (r.get("amount") is None, -float(r.get("amount") or 0),  # type: ignore[arg-type]
                                           str(r["name"]), str(r["Id"])))
    return Tally(len(matched), dict(Counter(str(r["owner"]) for r in matched)),
                 dict(Counter(str(r[state]) for r in matched)) if state else {},
                 tuple(str(r["Id"]) for r in worst[:top]))  # type: ignore[arg-type]


def shape(tally: Tally) -> Tally:
    """A tally as `expected` writes it: offenders by id, why unsupported by kind."""
    return Tally(tally.total, dict(tally.by_owner), dict(tally.by_stage), tuple(o.id for o in tally.worst),  # type: ignore[arg-type]
                 "save" if tally.unsupported and "save in progress" in tally.unsupported else tally.unsupported)


def soql_says(check: Check, model: Model) -> bool:
    try:
        Soql(check.breaks.scope, naming(model, check.object), today=TODAY).generate(check.breaks)
    except SosError:
        return False
    return True


@pytest.mark.parametrize("starter", STARTERS)
def test_every_starter_check_counts_what_an_independent_evaluation_counts(
        starter: str, make_project: Callable[..., Project], emulator: SalesforceEmulator,
        backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text(starter))
    checks = checks_of(model)
    records = load(emulator, model, checks, per_object=300)
    tallies = backend_for(project).tally(checks, top=5, today=TODAY, desired=model)
    assert [shape(t) for t in tallies] == [expected(c, records[c.object], 5) for c in checks]
    assert sum(t.total for t in tallies) > 0 and any(not soql_says(c, model) for c in checks)


def test_open_only_checks_count_what_a_plan_impact_counts(make_project: Callable[..., Project],
                                                         emulator: SalesforceEmulator,
                                                         backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = checks_of(model, open_only=True)
    records = load(emulator, model, checks, per_object=200)
    tallies = backend_for(project).tally(checks, top=0, today=TODAY, desired=model)
    assert [shape(t) for t in tallies] == [expected(c, records[c.object], 0) for c in checks]


def test_counts_take_one_composite_call_per_five_checks(make_project: Callable[..., Project],
                                                       emulator: SalesforceEmulator,
                                                       backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("services-agency"))
    checks = checks_of(model)
    load(emulator, model, checks, per_object=4500)   # the checks SOQL cannot say read 3 pages of opportunities
    in_soql = [c for c in checks if soql_says(c, model) and not reads_a_save(c)]
    evaluated = {c.object for c in checks if not soql_says(c, model) and not reads_a_save(c)}
    emulator.calls.clear()
    backend = backend_for(project)
    backend.tally(checks, top=0, today=TODAY, desired=model)
    pages = math.ceil(4500 / 2000)
    assert dict(emulator.calls) == {"composite": math.ceil(len(in_soql) / 5), "query": 2 * len(evaluated),   # COUNT()
                                    "queryMore": len(evaluated) * (pages - 1)}
    assert len(in_soql) > 5 and evaluated == {"opportunity"}
    assert sum(backend.client.calls.values()) == sum(emulator.calls.values())
    emulator.calls.clear()
    backend.tally(checks, top=10, today=TODAY, desired=model)   # the worst offenders: one more query per check
    assert emulator.calls["composite"] == math.ceil(2 * len(in_soql) / 5)


def test_calls_grow_with_checks_not_records(make_project: Callable[..., Project], emulator: SalesforceEmulator,
                                            backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = [c for c in checks_of(model) if soql_says(c, model)]
    calls = []
    for count in (10, 3000):
        emulator.org.records["Opportunity"].clear()
        load(emulator, model, checks, per_object=count)
        emulator.calls.clear()
        backend_for(project).tally(checks, top=10, today=TODAY, desired=model)
        calls.append(dict(emulator.calls))
    assert calls[0] == calls[1] == {"composite": math.ceil(2 * len(checks) / 5)}


def check_on(model: Model, text: str, obj: str = "opportunity") -> Check:
    """A check of the records where `text` holds, as an audit rule of the blueprint would make."""
    typed = annotate(parse(text), model_scope(model, obj))[0]
    return Check(Address(ResourceKind.RULE, obj, "written"), obj, text, typed, "audit")


GENERATED = [
    "next_step == 'Call Ana'",             # SOQL would match 'call ana' too: evaluated here
    "next_step != 'Call Ana'",
    "name in ['Opportunity 01', 'opportunity 02']",
    "days_since(close_date) > 3",
    "close_date < created_date",
    "amount > 1000 and days_in_stage >= 10",
    "days_in_stage < 3 or forecast_category == 'commit'",
    "forecast_category in ['best_case', 'pipeline'] and not is_blank(amount)",
    "last_activity_date == null and owner == 'bo@acme.example'",
    "owner != 'ana@acme.example' and amount <= 50",
    "len(next_step) > 3",
]


@pytest.mark.parametrize("text", GENERATED)
def test_written_checks_count_what_the_evaluator_counts(text: str, make_project: Callable[..., Project],
                                                        emulator: SalesforceEmulator,
                                                        backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    check = check_on(model, text)
    records = load(emulator, model, [check], per_object=250)
    for record in records["opportunity"][::3]:    # the same text in other cases
        record["next_step"] = rng_case(str(record["Id"]))
        emulator.org.records["Opportunity"][str(record["Id"])]["NextStep"] = record["next_step"]
    (tally,) = backend_for(project).tally([check], top=7, today=TODAY, desired=model)
    assert shape(tally) == expected(check, records["opportunity"], 7)


def rng_case(seed: str) -> str:
    return random.Random(seed).choice(["Call Ana", "call ana", "CALL ANA", "Call Ana "])


def test_offenders_link_to_the_record_in_lightning(make_project: Callable[..., Project], emulator: SalesforceEmulator,
                                                    backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    check = check_on(model, "amount > 100")
    records = load(emulator, model, [check], per_object=30)
    (tally,) = backend_for(project).tally([check], top=3, today=TODAY, desired=model)
    first = tally.worst[0]
    row = next(r for r in records["opportunity"] if r["Id"] == first.id)
    assert (first.url, first.name, first.owner, first.stage, first.amount) == (
        f"{emulator.instance_url}/lightning/r/Opportunity/{first.id}/view", row["name"], row["owner"], row["stage"],
        float(row["amount"]))  # type: ignore[arg-type]


def test_record_count_asks_the_org(make_project: Callable[..., Project], emulator: SalesforceEmulator,
                                   backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    load(emulator, model, [], per_object=42)
    emulator.calls.clear()
    backend = backend_for(project)
    assert (backend.record_count("opportunity"), backend.record_count("lead")) == (42, 42)
    assert dict(emulator.calls) == {"query": 2}


# -- faults mid-tally ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "sleeps"), [
    pytest.param(lambda e: e.faults.expire_session(times=1, operations={"composite"}), [], id="expired-session"),
    pytest.param(lambda e: e.faults.rate_limit(times=2, status=429, operations={"composite"}), [2.0, 4.0],
                 id="rate-limit"),
    pytest.param(lambda e: e.faults.rate_limit(times=1, status=503, operations={"queryMore"}), [2.0],
                 id="unavailable-mid-paging"),
])
def test_a_fault_mid_tally_is_retried_and_counts_the_same(
        fault: Callable[[SalesforceEmulator], None], sleeps: list[float], make_project: Callable[..., Project],
        emulator: SalesforceEmulator, recorder: Recorder, backend_for: Callable[..., SalesforceBackend],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = checks_of(model)
    records = load(emulator, model, checks, per_object=2500)
    oauth_env(emulator, monkeypatch)   # a login that can be renewed when the session expires
    fault(emulator)
    tallies = backend_for(project, session=emulator.login_session()).tally(checks, top=3, today=TODAY, desired=model)
    assert [shape(t) for t in tallies] == [expected(c, records[c.object], 3) for c in checks]
    assert recorder.sleeps == sleeps


def test_a_connection_lost_mid_tally_is_one_clear_error(make_project: Callable[..., Project],
                                                        emulator: SalesforceEmulator,
                                                        backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = checks_of(model)
    load(emulator, model, checks, per_object=2500)
    emulator.faults.drop_connection(times=1, operations={"queryMore"})
    with pytest.raises(SosError) as raised:
        backend_for(project).tally(checks, top=0, today=TODAY, desired=model)
    (problem,) = raised.value.diagnostics
    assert (problem.code, re.sub(r"\d+", "N", problem.message)) == (
        "sf-unreachable", "could not reach Salesforce at https://N.N.N.N:N during query: ConnectionError")
    assert emulator.access_token not in str(problem)


def test_without_the_model_names_come_from_the_org(make_project: Callable[..., Project],
                                                  backend_for: Callable[..., SalesforceBackend],
                                                  emulator: SalesforceEmulator) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    checks = checks_of(model)
    records = load(emulator, model, checks, per_object=100)
    emulator.calls.clear()
    tallies = backend_for(project).tally(checks, top=2, today=TODAY)
    assert [shape(t) for t in tallies] == [expected(c, records[c.object], 2) for c in checks]
    assert (emulator.calls["retrieve"], emulator.calls["checkRetrieveStatus"]) == (1, 1)


def test_a_field_the_org_lacks_yet_is_said_not_counted(make_project: Callable[..., Project],
                                                       emulator: SalesforceEmulator,
                                                       backend_for: Callable[..., SalesforceBackend]) -> None:
    project, _ = applied(make_project, blueprint_text("smb-bant"))
    project = make_project(blueprint_text("smb-bant") + "fields:\n  opportunity:\n"
                           "    renewal_owner: {type: text, label: Renewal owner}\n")
    model = desired_model(project)
    check = check_on(model, "is_blank(renewal_owner) and amount > 10")
    (tally,) = backend_for(project).tally([check], today=TODAY, desired=model)
    assert tally == Tally(0, unsupported=(
        "Salesforce refused the query: INVALID_FIELD: No such column 'Renewal_Owner__c' on entity 'Opportunity'. "
        "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
        "Please reference your WSDL or the describe call for the appropriate names."))


# The scope the dialect tests generate conditions over (tests/expr/helpers.py OPPORTUNITY), as a blueprint.
GENERATED_BLUEPRINT = """\
sos: 1
name: client
fields:
  opportunity:
    budget_confirmed: {type: checkbox, label: Budget confirmed}
    pain: {type: text, label: Pain}
    discount: {type: number, label: Discount}
    signed_on: {type: date, label: Signed on}
    economic_buyer: {type: lookup, to: contact, label: Economic buyer}
    loss_reason: {type: picklist, label: Loss reason, values: [Price, Timing, Competitor, No decision]}
    competitors: {type: multi_picklist, label: Competitors, values: [Acme, Globex, Initech]}
pipelines:
  new_business:
    stages:
      - {key: discovery, label: Discovery, probability: 10}
      - {key: evaluation, label: Evaluation, probability: 30}
      - {key: proposal, label: Proposal, probability: 60}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: qualified, label: Qualified, converted: true}
"""
POOL = ("a", "A", "b", "ab", "it's", "a\\b", "Web", "Phone", "Acme", "Globex", "Initech", *PICKLIST_VALUES)


@settings(max_examples=1, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_conditions_count_what_the_evaluator_counts(
        data: st.DataObject, make_project: Callable[..., Project], emulator: SalesforceEmulator,
        backend_for: Callable[..., SalesforceBackend]) -> None:
    """60 generated conditions (those SOQL says and those it cannot) over 300 generated deals."""
    project, model = applied(make_project, GENERATED_BLUEPRINT)
    records = load(emulator, model, [], per_object=300, pool=POOL)
    checks = [check_on(model, data.draw(conditions(), label=f"condition {n}")) for n in range(60)]
    tallies = backend_for(project).tally(checks, top=3, today=TODAY, desired=model)
    assert [shape(t) for t in tallies] == [expected(c, records["opportunity"], 3) for c in checks]
    assert sum(soql_says(c, model) for c in checks) > 10 and sum(t.total > 0 for t in tallies) > 10


def test_last_activity_date_is_dated_by_closed_tasks(make_project: Callable[..., Project],
                                                     emulator: SalesforceEmulator,
                                                     backend_for: Callable[..., SalesforceBackend]) -> None:
    project, model = applied(make_project, blueprint_text("smb-bant"))
    stage = naming(model, "opportunity").stage_values[model_scope(model, "opportunity").stages[0].key]
    a, b, c = (emulator.org.add_record("Opportunity", {"Name": name, "StageName": stage, "Amount": 100})
               for name in ("A", "B", "C"))
    emulator.org.add_task("Demo", what_id=a, activity_date=TODAY.isoformat())
    emulator.org.add_task("Call", what_id=b, activity_date=(TODAY - datetime.timedelta(days=40)).isoformat())
    emulator.org.add_task("Follow up", what_id=c, activity_date=TODAY.isoformat(), closed=False)
    check = check_on(model, "is_blank(last_activity_date) or last_activity_date < today()")
    (tally,) = backend_for(project).tally([check], top=5, today=TODAY, desired=model)
    assert (tally.total, tally.by_owner, [o.name for o in tally.worst]) == (
        2, {"integration@emulator.example": 2}, ["B", "C"])
