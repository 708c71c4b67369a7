"""HubSpot counts a check's violators with a CRM search where its filters can say the check: every starter's checks
count what an independent evaluation of the same records counts, and a check the search can say costs one search call
per 200 violators however many clean records the portal holds. The emulator runs on its ManualClock, which the
backend paces itself by, so the search's own rate limit is waited out without sleeping."""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import pytest

from sos.backends.base import Tally
from sos.backends.hubspot import client as client_module
from sos.backends.hubspot.backend import HubSpotBackend
from sos.backends.hubspot.names import OBJECT_TYPES
from sos.backends.hubspot.read import key_of
from sos.backends.hubspot.records import STANDARD
from sos.engine import apply_plan, desired_model, make_plan
from sos.expr.annotate import annotate
from sos.expr.ast import Name, walk
from sos.expr.dialects.evaluate import evaluate
from sos.expr.types import Kind as TypeKind
from sos.model.checks import Check, checks_of, reads_a_save
from sos.model.exprs import model_scope
from sos.model.resources import Address, Kind, Model
from sos.project import Project, load_project
from tests.backends.hubspot.test_backend import REPO, blueprint_of, deal_pipeline, make_project
from tests.emulators.hubspot import HubSpotEmulator
from tests.expr.helpers import parse
from tests.emulators.hubspot import records as emulated_records

__all__ = ["make_project"]


# -- every starter's checks, against an independent evaluation --------------------------------------------------------

STARTERS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
OWNERS = ("101", "102", "103")
LATER = 20    # the tally's today is this many days after the records entered their stages


def generated(obj: str, model: Model, hub: HubSpotEmulator, rng: random.Random, index: int,
              today: datetime.date) -> tuple[dict[str, str], dict[str, object]]:
    """One record as HubSpot stores it (by property), and as the evaluator reads it (by field key)."""
    scope = model_scope(model, obj)
    known = hub.portal.properties["deals" if obj == "opportunity" else "contacts"]
    names = {**STANDARD[obj], **{r.address.key: r.address.key for r in model.of_kind(Kind.FIELD)
                                 if r.address.scope == obj}}
    stored: dict[str, str] = {}
    read: dict[str, object] = {key: None for key in scope.fields}
    for key, found in scope.fields.items():
        name = names.get(key)
        if name not in known or known[name]["modificationMetadata"]["readOnlyValue"] or rng.random() < 0.3:
            continue
        options = tuple(o["value"] for o in known[name].get("options") or ())   # dealtype: text in sos, options here
        value = _value(found.kind, options or found.values, rng, today) if name != "email" else \
            (f"lead{index}@acme.example",) * 2   # a contact's email is unique
        if value is not None:
            stored[name], read[key] = value
    read["owner"] = stored["hubspot_owner_id"] = rng.choice(OWNERS)
    if obj == "opportunity":
        pipeline, stage_key, stage_id = rng.choice(_stages(model, hub))
        stored.update({"dealname": f"Deal {index:03d}", "pipeline": pipeline, "dealstage": stage_id})
        read.update({"name": f"Deal {index:03d}", "stage": stage_key, "days_in_stage": LATER, "_pipeline": pipeline})
    else:
        status = rng.choice(scope.statuses).key
        # The portal's own NEW is the status `new` as sos imports it; the others sos added under their keys.
        option = next(o["value"] for o in known["hs_lead_status"]["options"] if key_of(o["value"]) == status)
        stored.update({"firstname": "Lead", "lastname": f"{index:03d}", "hs_lead_status": option})
        read.update({"name": f"Lead {index:03d}", "status": status})
    created = datetime.datetime.combine(today, datetime.time(), datetime.UTC) - datetime.timedelta(
        hours=rng.randint(1, 2000))
    stored["createdate"], read["created_date"] = created.isoformat().replace("+00:00", "Z"), created
    return stored, read


def _value(kind: TypeKind, values: Sequence[str], rng: random.Random,
           today: datetime.date) -> tuple[str, object] | None:
    day = today + datetime.timedelta(days=rng.randint(-40, 40))
    match kind:
        case TypeKind.BOOLEAN:
            checked = rng.random() < 0.5
            return str(checked).lower(), checked
        case TypeKind.NUMBER:
            number = rng.choice([0, 5, 15, 50, 1000, 25000, 90000])
            return str(number), number
        case TypeKind.DATE:
            return day.isoformat(), day
        case TypeKind.PICKLIST | TypeKind.TEXT:
            word = rng.choice(values or ("acme", "Acme", "globex", "initech"))
            return word, word
    return None


def _stages(model: Model, hub: HubSpotEmulator) -> list[tuple[str, str, str]]:
    """(pipeline id, stage key, stage id) of every stage sos made, found by their labels."""
    found = []
    for pipeline in model.of_kind(Kind.PIPELINE):
        live = deal_pipeline(hub, str(pipeline.attrs["label"]))
        for stage in model.of_kind(Kind.STAGE):
            if stage.address.scope == pipeline.address.key:
                stage_id = next(s["id"] for s in live["stages"].values() if s["label"] == stage.attrs["label"])
                found.append((live["id"], stage.address.key, stage_id))
    return found


def expected(check: Check, records: Sequence[dict[str, object]], pipelines: dict[str, str],
             today: datetime.date, held: Collection[str]) -> tuple[object, ...] | str:
    """What an independent evaluation of the seeded records counts: (total, by owner, by state, worst 5 by name);
    a check reading a field the portal holds no property for (a lookup) is not counted."""
    readable = {*STANDARD[check.object], *held, "days_in_stage", "name"}
    if reads_a_save(check) or not {n.name for n in walk(check.breaks.expr) if isinstance(n, Name)} <= readable:
        return "unsupported"
    in_scope = [r for r in records if check.address.kind not in (Kind.STAGE, Kind.STAGE_REQUIREMENT)
                or r.get("_pipeline") == pipelines[check.address.scope]]
    matched = [r for r in in_scope if evaluate(check.breaks.expr, r, check.breaks.scope, today=today) is True]
    state = "status" if check.object == "lead" else "stage"
    worst = sorted(matched, key=lambda r: (-float(r.get("amount") or 0), str(r["name"])))  # type: ignore[arg-type]
    return (len(matched), dict(Counter(str(r["owner"]) for r in matched)),
            dict(Counter(str(r[state]) for r in matched)), tuple(str(r["name"]) for r in worst[:5]))


def shape(tally: Tally) -> tuple[object, ...] | str:
    if tally.unsupported:
        return "unsupported"
    return tally.total, tally.by_owner, tally.by_stage, tuple(o.name for o in tally.worst)


def applied(hub: HubSpotEmulator, make_project: Callable[..., Path], blueprint: str) \
        -> tuple[Project, Model, HubSpotBackend]:
    """The blueprint applied to the portal by a backend that paces itself on the emulator's clock."""
    root = make_project(blueprint)
    project = load_project(root / "sos.yaml")
    target = project.target(None)
    backend = HubSpotBackend(target, root, clock=lambda: hub.clock().timestamp(), sleep=hub.clock.advance,
                             progress=lambda line: None)
    run = make_plan(project, target, backend=backend)
    assert apply_plan(project, backend, run.plan, run.desired).ok
    return project, desired_model(project), backend


@pytest.mark.parametrize("starter", STARTERS)
def test_every_starter_check_counts_what_an_independent_evaluation_counts(
        starter: str, hub: HubSpotEmulator, make_project: Callable[..., Path]) -> None:
    _, model, backend = applied(hub, make_project, blueprint_of(starter))
    today = hub.clock().date() + datetime.timedelta(days=LATER)
    rng = random.Random(7)
    seeded: dict[str, list[dict[str, object]]] = {}
    for obj, object_type in (("opportunity", "deals"), ("lead", "contacts")):
        made = [generated(obj, model, hub, rng, index, today) for index in range(120)]
        hub.seed(object_type, [stored for stored, _ in made])
        seeded[obj] = [read for _, read in made]
    pipelines = {p.address.key: deal_pipeline(hub, str(p.attrs["label"]))["id"] for p in model.of_kind(Kind.PIPELINE)}
    checks = checks_of(model)
    hub.calls.clear()
    tallies = backend.tally(checks, top=5, today=today)
    held = {obj: hub.portal.properties[OBJECT_TYPES[obj]] for obj in seeded}
    assert [shape(t) for t in tallies] == [expected(c, seeded[c.object], pipelines, today, held[c.object])
                                            for c in checks]
    assert sum(t.total for t in tallies) > 0
    searched = hub.calls["POST /crm/v3/objects/{objectType}/search"]
    assert 0 < searched <= len(checks)


CHECKED = """\
sos: 1
name: client
fields:
  opportunity:
    budget_confirmed: {type: checkbox, label: Budget confirmed}
pipelines:
  new_business:
    label: New business
    stages:
      - {key: discovery, label: Discovery, probability: 10}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
rules:
  big_deals_need_budget:
    object: opportunity
    when: amount > 10000 and stage.is_open
    require: budget_confirmed
    message: Open deals over 10,000 need a confirmed budget.
  big_wins_are_rare:
    object: opportunity
    when: stage.is_won
    require: amount <= 90000
    message: A win over 90,000 needs a second look.
"""


def test_calls_grow_with_violators_and_checks_not_with_clean_records(hub: HubSpotEmulator,
                                                                    make_project: Callable[..., Path]) -> None:
    _, model, backend = applied(hub, make_project, CHECKED)
    stage = {s["label"]: s["id"] for s in deal_pipeline(hub, "New business")["stages"].values()}
    pipeline = deal_pipeline(hub, "New business")["id"]

    def deals(count: int, **values: str) -> None:
        hub.seed("deals", [{"dealname": f"Deal {values.get('amount')} {i}", "pipeline": pipeline, **values}
                           for i in range(count)])

    def tallied() -> tuple[list[int], int, int]:
        """The totals, the search calls, and every call (the portal read among them)."""
        hub.calls.clear()
        tallies = backend.tally(checks_of(model), top=3, today=hub.clock().date())
        return [t.total for t in tallies], hub.calls["POST /crm/v3/objects/{objectType}/search"], \
            sum(hub.calls.values())

    deals(3, dealstage=stage["Discovery"], amount="20000")
    deals(2, dealstage=stage["Closed Won"], amount="95000", budget_confirmed="true")
    few = tallied()
    assert few[:2] == ([3, 2], 2)                  # one search for each check
    deals(600, dealstage=stage["Discovery"], amount="500")
    deals(300, dealstage=stage["Discovery"], amount="50000", budget_confirmed="true")
    deals(300, dealstage=stage["Closed Won"], amount="1000")
    assert tallied() == few                        # 1,200 clean deals more cost nothing
    deals(250, dealstage=stage["Discovery"], amount="30000")
    assert tallied() == ([253, 2], 3, few[2] + 1)  # 253 violators: two pages of 200


def test_a_check_past_the_search_ceiling_is_read_page_by_page(hub: HubSpotEmulator, make_project: Callable[..., Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # HubSpot pages no further than 10,000 matches of a query; scaled down to 250 on both sides to stay quick.
    monkeypatch.setattr(emulated_records, "SEARCH_CEILING", 250)
    monkeypatch.setattr(client_module, "SEARCH_CEILING", 250)
    _, model, backend = applied(hub, make_project, CHECKED)
    pipeline = deal_pipeline(hub, "New business")
    discovery = next(s["id"] for s in pipeline["stages"].values() if s["label"] == "Discovery")
    hub.seed("deals", [{"dealname": f"Deal {i}", "pipeline": pipeline["id"], "dealstage": discovery,
                        "amount": "20000"} for i in range(300)])
    hub.calls.clear()
    budget, wins = backend.tally(checks_of(model), top=1, today=hub.clock().date())
    assert (budget.total, wins.total) == (300, 0)
    # The budget check's search finds 300 and reads none; all 300 deals are read in 3 pages instead.
    assert hub.calls["POST /crm/v3/objects/{objectType}/search"] == 2
    assert hub.calls["GET /crm/v3/objects/{objectType}"] == 3


# Over the CHECKED blueprint's deals: what the search says, and what it cannot (days_in_stage, days_since, text !=,
# arithmetic, hs_next_step, which the emulated portal lacks).
GENERATED_ATOMS = [
    "amount > 1000", "amount <= 15", "amount != 50", "amount == null", "amount not in [0, 5]", "budget_confirmed",
    "budget_confirmed == false", "stage == 'won'", "stage != 'lost'", "stage.is_open", "stage >= 'won'",
    "close_date < today()", "close_date >= today() - 10", "created_date <= today() - 30", "name == 'Deal 007'",
    "owner in ['101', '103']", "is_blank(next_step)", "days_in_stage > 5", "days_since(close_date) > 3",
    "type != 'newbusiness'", "amount * 2 > 3000"]


def random_condition(rng: random.Random, depth: int = 2) -> str:
    """One of GENERATED_ATOMS, or `not`, `and` and `or` of smaller random conditions."""
    roll = rng.random()
    if depth == 0 or roll < 0.3:
        return rng.choice(GENERATED_ATOMS)
    if roll < 0.4:
        return f"not ({random_condition(rng, depth - 1)})"
    joint = rng.choice(["and", "or"])
    return f"({random_condition(rng, depth - 1)}) {joint} ({random_condition(rng, depth - 1)})"


def test_random_conditions_count_what_the_evaluator_counts(hub: HubSpotEmulator,
                                                           make_project: Callable[..., Path]) -> None:
    """60 random conditions (those the search says and those it cannot) over 150 random deals."""
    _, model, backend = applied(hub, make_project, CHECKED)
    today = hub.clock().date() + datetime.timedelta(days=LATER)
    rng = random.Random(11)
    made = [generated("opportunity", model, hub, rng, index, today) for index in range(150)]
    hub.seed("deals", [stored for stored, _ in made])
    scope = model_scope(model, "opportunity")
    checks = []
    for n in range(60):
        typed, problems = annotate(parse(random_condition(rng)), scope)
        assert problems == []
        checks.append(Check(Address(Kind.RULE, "opportunity", f"random_{n}"), "opportunity", "", typed, "audit"))
    hub.calls.clear()
    tallies = backend.tally(checks, top=5, today=today)
    held = hub.portal.properties["deals"]
    assert [shape(t) for t in tallies] == [expected(c, [r for _, r in made], {}, today, held) for c in checks]
    searched = hub.calls["POST /crm/v3/objects/{objectType}/search"]
    # Some are searched; the others share one read of the 150 deals, 50 a page with the history of dealstage.
    assert 15 < searched < 60 and hub.calls["GET /crm/v3/objects/{objectType}"] == 3
    assert sum(t.total > 0 for t in tallies) > 20
