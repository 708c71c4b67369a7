"""sos review, sos forecast and sos trace on a seeded sandbox: every figure is recomputed here straight from the
sandbox's SQLite file (its record, field_history, task and lead_conversion tables), with the blueprint's stage
probabilities and limits written out below, never through sos's code.

The semantics checked are DOMAIN.md's (pipeline review, forecast categories, speed to lead, the ten-lead test) and
Salesforce's forecast categories (reference/salesforce.md: Pipeline, Best Case, Commit, Closed, Omitted): an open
deal counts in the category its forecast_category names; closed won is the won stages' amount."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from sos.backends.base import Activity, Timeline
from sos.backends.local import LocalBackend
from sos.engine import desired_model
from sos.model.resources import Model
from sos.project import load_project
from sos.render.reports import render_report
from sos.reports.review import review
from tests.reports.seeded import OPEN, TODAY, query, report, seeded_client, sos

SINCE = datetime.date(2026, 11, 28)
ORDER = [*OPEN, "closed_won", "closed_lost"]
FIRST_TOUCH_HOURS = 4       # smb-bant's first_touch cadence: due_in_hours


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_client(tmp_path_factory.mktemp("reports"))


def span_of(root: Path, field: str, since: datetime.date) -> dict[str, tuple[Any, Any]]:
    """Deal id → (the field's value before its first change since `since`, after its last), from field_history."""
    found: dict[str, tuple[Any, Any]] = {}
    for record, old, new in query(root, "SELECT record, old, new FROM field_history WHERE object = 'opportunity' "
                                        "AND field = ? AND substr(at, 1, 10) >= ? ORDER BY at, _id",
                                  field, since.isoformat()):
        found[str(record)] = (found[str(record)][0] if str(record) in found else old, new)
    return found


def test_review_agrees_with_the_records(seeded: Path) -> None:
    got = report(seeded, "review", "--since", SINCE.isoformat())
    [pipeline] = got["pipelines"]
    deals = {str(i): (stage, amount or 0, owner, close, next_step, last) for i, stage, amount, owner, close, next_step,
             last in query(seeded, "SELECT _id, stage, amount, owner, close_date, next_step, last_activity_date "
                                   "FROM opportunity")}
    open_deals = {i: d for i, d in deals.items() if d[0] in OPEN}
    assert pipeline["open"]["count"] == len(open_deals) > 100
    for stage, (probability, _) in OPEN.items():
        mine = [d for d in open_deals.values() if d[0] == stage]
        assert pipeline["by_stage"][stage]["count"] == len(mine)
        assert pipeline["by_stage"][stage]["amount"] == pytest.approx(sum(d[1] for d in mine))
        assert pipeline["by_stage"][stage]["weighted"] == pytest.approx(sum(d[1] * probability / 100 for d in mine))
    by_owner = Counter(d[2] for d in open_deals.values())
    assert {o["owner"]: o["count"] for o in pipeline["by_owner"]} == by_owner
    # days in stage: from the day of the deal's last stage change
    entered = dict(query(seeded, "SELECT record, substr(at, 1, 10) FROM field_history h WHERE field = 'stage' AND "
                                 "object = 'opportunity' AND _id = (SELECT max(_id) FROM field_history WHERE "
                                 "object = 'opportunity' AND field = 'stage' AND record = h.record)"))
    days = {i: (TODAY - datetime.date.fromisoformat(entered[int(i)])).days for i in open_deals}
    over = {i: days[i] for i, d in open_deals.items() if days[i] > OPEN[d[0]][1]}
    assert {line["id"]: line["days"] for line in pipeline["aging"]} == over and over
    # what moved since the last review: the stage before the first move and after the last
    moves: dict[str, set[str]] = defaultdict(set)
    for record, (old, new) in span_of(seeded, "stage", SINCE).items():
        if old == new:
            continue
        kind = ("new" if old is None else "won" if new == "closed_won" else "lost" if new == "closed_lost"
                else "forward" if ORDER.index(new) > ORDER.index(old) else "backward")
        moves[kind].add(record)
    assert {kind: {line["id"] for line in lines} for kind, lines in pipeline["moved"].items()} == \
        {kind: moves[kind] for kind in ("new", "forward", "backward", "won", "lost")}
    assert all(moves[kind] for kind in ("new", "forward", "backward", "won", "lost"))
    slipped = {record: (datetime.date.fromisoformat(new) - datetime.date.fromisoformat(old)).days
               for record, (old, new) in span_of(seeded, "close_date", SINCE).items() if new > old}
    assert {line["id"]: line["days"] for line in pipeline["slipped"]} == slipped and slipped
    no_next = {i for i, d in open_deals.items() if not d[4]}
    assert {line["id"] for line in pipeline["no_next_step"]} == no_next and no_next
    inactive = {i for i, d in open_deals.items()
                if d[5] is None or (TODAY - datetime.date.fromisoformat(d[5])).days > 14}
    assert {line["id"] for line in pipeline["no_activity"]} == inactive and inactive
    backward = moves["backward"]
    score = {i: d[1] * sum([i in over, i in slipped, d[3] is not None and d[3] < TODAY.isoformat(), i in no_next,
                            i in inactive, i in backward]) for i, d in open_deals.items()}
    ranked = sorted((i for i in score if score[i]), key=lambda i: -score[i])[:10]
    assert [line["score"] for line in pipeline["talk_about"]] == [score[i] for i in ranked]
    assert {line["id"] for line in pipeline["talk_about"]} <= set(ranked) | {i for i in score
                                                                               if score[i] == score[ranked[-1]]}


def test_forecast_agrees_with_the_records(seeded: Path) -> None:
    got = report(seeded, "forecast", "--period", "quarter", "--since", SINCE.isoformat(), "--quota", "500000")
    assert (got["start"], got["end"]) == ("2026-10-01", "2026-12-31")
    rows = query(seeded, "SELECT _id, owner, stage, coalesce(amount, 0), forecast_category FROM opportunity "
                         "WHERE close_date BETWEEN '2026-10-01' AND '2026-12-31'")
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for _, owner, stage, amount, category in rows:
        for who in (owner, "total"):
            if stage == "closed_won":
                expected[who]["closed_won"] += amount
            elif stage in OPEN:
                expected[who][category] += amount
                expected[who]["weighted"] += amount * OPEN[stage][0] / 100
    for who, figures in [("total", got["total"]), *((o["owner"], o) for o in got["by_owner"])]:
        for key in ("closed_won", "commit", "best_case", "pipeline", "weighted"):
            assert figures[key] == pytest.approx(expected[who][key]), (who, key)
    assert got["total"]["commit"] > 0 and got["total"]["best_case"] > 0
    left = 500000 - expected["total"]["closed_won"]
    open_pipeline = sum(expected["total"][k] for k in ("commit", "best_case", "pipeline"))
    assert got["coverage"] == pytest.approx(open_pipeline / left) and got["left_to_close"] == pytest.approx(left)
    in_quarter = {str(row[0]) for row in rows}
    categories = span_of(seeded, "forecast_category", SINCE)
    into = {r for r, (old, new) in categories.items() if new == "commit" and old != "commit" and r in in_quarter}
    assert {line["id"] for line in got["changes"]["into_commit"]} == into and into
    amounts = {r for r, (old, new) in span_of(seeded, "amount", SINCE).items() if old != new and r in in_quarter}
    assert {line["id"] for line in got["changes"]["amount"]} == amounts


LEAK_WORDS = {"unassigned": "unassigned", "first_touch": "at first touch", "no_deal": "converted but no deal",
              "stuck": "stuck in a status", "stalled": "deal stalled past max_days"}


def leaks_of(root: Path, lead_id: int, owner: str | None, status: str, created: str) -> set[str]:
    """Where a lead leaked, from its row, tasks, status history, conversion and its deal's stage history."""
    found = set()
    if owner is None:
        found.add("unassigned")
    due = (datetime.datetime.fromisoformat(created[:16]) + datetime.timedelta(hours=FIRST_TOUCH_HOURS)).isoformat()
    touched = query(root, "SELECT completed_date FROM task WHERE what_object = 'lead' AND what_id = ?", lead_id)
    done = touched[0][0] if touched else None
    if (done and done[:19] > due) or (not done and due < f"{TODAY.isoformat()}T23:59:59"):
        found.add("first_touch")
    moved = query(root, "SELECT max(at) FROM field_history WHERE object = 'lead' AND record = ? AND field = 'status'",
                  lead_id)[0][0]
    if status in ("new", "working", "nurture") and \
            (TODAY - datetime.date.fromisoformat((moved or created)[:10])).days > 14:
        found.add("stuck")
    conversion = query(root, "SELECT deal FROM lead_conversion WHERE lead = ?", lead_id)
    if status == "qualified" and not conversion:
        found.add("no_deal")
    if conversion:
        stage, entered = query(root, "SELECT new, substr(at, 1, 10) FROM field_history WHERE object = 'opportunity' "
                                     "AND field = 'stage' AND record = ? ORDER BY _id DESC LIMIT 1",
                               conversion[0][0])[0]
        if stage in OPEN and (TODAY - datetime.date.fromisoformat(entered)).days > OPEN[stage][1]:
            found.add("stalled")
    return found


def test_trace_follows_the_most_recent_leads_and_finds_their_leaks(seeded: Path) -> None:
    got = report(seeded, "trace", "--leads", "120")
    recent = query(seeded, "SELECT _id, owner, status, created_date FROM lead ORDER BY created_date DESC, _id DESC "
                           "LIMIT 120")
    assert [lead["id"] for lead in got["leads"]] == [str(row[0]) for row in recent]
    expected = {str(row[0]): leaks_of(seeded, *row) for row in recent}
    assert {lead["id"]: {leak["kind"] for leak in lead["leaks"]} for lead in got["leads"]} == expected
    by_kind = Counter(kind for kinds in expected.values() for kind in kinds)
    assert set(by_kind) == set(LEAK_WORDS)
    leaked = sum(1 for kinds in expected.values() if kinds)
    assert got["leaked"] == leaked
    assert got["summary"].startswith(f"{leaked} of 120 leads leaked: ")
    for kind, count in by_kind.items():
        assert f"{count} {LEAK_WORDS[kind]}" in got["summary"]


def test_a_since_after_the_day_reported_is_refused(seeded: Path) -> None:
    result = sos(seeded, "review", "--today", "2026-12-05", "--since", "2026-12-06")
    assert result.exit_code == 1
    assert "error: --since 2026-12-06 is after the report's day 2026-12-05 [usage]" in result.stderr
    assert "fix: pass a --since on or before --today" in result.stderr


class WithoutCloseDateHistory:
    """The seeded sandbox as a CRM whose close date field history is not enabled would answer."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        return self.backend.rows(obj, fields, desired=desired)

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        kept = [f for f in fields if f != "close_date"]
        found = self.backend.changes(obj, kept, since, desired=desired).changes if kept else ()
        return Timeline(found, {"close_date": "field history is not enabled for Close Date"} if "close_date" in
                        fields else {})

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        return self.backend.activities(obj, since)


def test_a_history_the_crm_cannot_give_is_said_not_guessed(seeded: Path) -> None:
    project = load_project(seeded / "sos.yaml")
    history = WithoutCloseDateHistory(LocalBackend(project.target(None), project.root))
    got = review(history, desired_model(project, record=False), target={"name": "prod", "type": "crm"}, today=TODAY,
                 since=SINCE, generated=datetime.datetime(2026, 12, 5, 9, tzinfo=datetime.UTC))
    assert got["unavailable"] == {"close_date": "field history is not enabled for Close Date"}
    assert got["pipelines"][0]["slipped"] == []
    assert "slipped" not in {risk for line in got["pipelines"][0]["talk_about"] for risk in line["risks"]}
    markdown = render_report(got, "markdown")
    assert markdown.splitlines()[2] == "> The CRM cannot say how close_date changed: field history is not enabled " \
                                       "for Close Date."


def test_the_blueprint_gives_the_forecast_its_number(tmp_path: Path) -> None:
    client = seeded_client(tmp_path, deals=40)
    with (client / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write("forecast_target: {quarter: 400000}\n")
    got = report(client, "forecast", "--period", "quarter")
    closed = sum(amount for (amount,) in query(client, "SELECT coalesce(amount, 0) FROM opportunity WHERE stage = "
                                                       "'closed_won' AND close_date BETWEEN '2026-10-01' AND "
                                                       "'2026-12-31'"))
    assert got["quota"] == 400000 and got["left_to_close"] == pytest.approx(400000 - closed)
    assert report(client, "forecast", "--period", "quarter", "--quota", "90000")["quota"] == 90000   # a run's own
    assert report(client, "forecast", "--period", "month")["quota"] is None        # no number for a month
    (client / "blueprint.yaml").write_text((client / "blueprint.yaml").read_text(encoding="utf-8").replace(
        "forecast_target: {quarter: 400000}", "forecast_target: {week: 10}"), encoding="utf-8")
    wrong = sos(client, "validate")
    assert wrong.exit_code == 1 and "forecast_target" in wrong.stderr and "'week'" in wrong.stderr
