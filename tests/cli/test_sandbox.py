"""sos sandbox seed and load: realistic, repeatable seeded records with dirty data in them, and CSV exports loaded
all or none, with every bad row reported by line."""

from __future__ import annotations

import datetime
import sqlite3
import textwrap
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.backends.local import LocalBackend
from sos.cli import cli
from sos.engine import desired_model
from sos.model.checks import checks_of
from sos.project import load_project

TODAY = "2026-03-02"
OPEN = ["discovery_call", "demo", "quote_sent", "negotiation", "verbal_commit"]
MAX_DAYS = {"discovery_call": 5, "demo": 7, "quote_sent": 7, "negotiation": 7, "verbal_commit": 5}
RECORD_TABLES = ("account", "contact", "lead", "opportunity", "task", "user", "queue", "field_history",
                 "lead_conversion")


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def query(root: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(root / ".sos" / "sandbox.db")) as connection:
        return connection.execute(sql).fetchall()


def records_dump(root: Path) -> list[str]:
    """Every record row, as SQL text: equal dumps are equal records, byte for byte."""
    with closing(sqlite3.connect(root / ".sos" / "sandbox.db")) as connection:
        return [line for line in connection.iterdump()
                if line.startswith(tuple(f'INSERT INTO "{table}"' for table in RECORD_TABLES))]


@pytest.fixture
def applied(project: Path) -> Path:
    assert sos("apply", "--auto-approve").exit_code == 0
    return project


def test_seed_is_repeatable_byte_for_byte(applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = sos("sandbox", "seed", "--deals", "300", "--seed", "5", "--today", TODAY)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Seeded target 'sandbox' in ")
    assert first.stdout.endswith(": 7 users, 2 queues, 75 accounts, 150 contacts, 300 leads, 300 deals, "
                                 f"{len(query(applied, 'SELECT * FROM field_history')):,} history entries, "
                                 f"{len(query(applied, 'SELECT * FROM task')):,} tasks.\n")
    assert first.stderr.splitlines() == ["seeding 300 deals into target 'sandbox' (seed 5)",
                                         "seeded 75 accounts, 150 contacts, 300 leads; writing 300 deals"]
    dump = records_dump(applied)
    assert len(dump) > 1000
    assert sos("sandbox", "seed", "--deals", "300", "--seed", "5", "--today", TODAY).exit_code == 0
    assert records_dump(applied) == dump     # the records are replaced by the same ones
    assert sos("sandbox", "seed", "--deals", "300", "--seed", "6", "--today", TODAY).exit_code == 0
    assert records_dump(applied) != dump


def test_seeded_deals_go_through_the_funnel_with_dirty_data(applied: Path) -> None:
    assert sos("sandbox", "seed", "--deals", "2000", "--today", TODAY).exit_code == 0
    stages = Counter(dict(query(applied, "SELECT stage, count(*) FROM opportunity GROUP BY stage")))
    assert [stages[s] for s in OPEN] == sorted((stages[s] for s in OPEN), reverse=True)  # the funnel narrows
    assert stages["closed_won"] > 200 and stages["closed_lost"] > 300
    open_deals = sum(stages[s] for s in OPEN)

    def share(where: str) -> float:
        return query(applied, f"SELECT count(*) FROM opportunity WHERE {where}")[0][0] / open_deals

    is_open = f"stage IN ({', '.join(repr(s) for s in OPEN)})"
    assert 0.08 < share(f"{is_open} AND next_step IS NULL") < 0.25
    assert 0.10 < share(f"{is_open} AND close_date < '{TODAY}'") < 0.20
    over = " OR ".join(f"(stage = '{stage}' AND julianday('{TODAY}') - julianday(_stage_entered) > {days})"
                       for stage, days in MAX_DAYS.items())
    assert 0.15 < share(over) < 0.30
    assert query(applied, "SELECT count(*) FROM opportunity WHERE amount IS NULL")[0][0] > 0
    owners = {owner for owner, in query(applied, "SELECT DISTINCT owner FROM opportunity")}
    assert {"ae1@example.com", "sdr1@example.com", "partners@example.com"} <= owners
    assert owners == {username for username, in query(applied, 'SELECT username FROM "user"')}
    statuses = dict(query(applied, "SELECT status, count(*) FROM lead GROUP BY status"))
    assert set(statuses) == {"new", "working", "nurture", "qualified", "disqualified"}
    # every deal's stage history ends in the stage it is in, on the day it entered it
    last_moves = query(applied, "SELECT o.stage, h.new, o._stage_entered, substr(h.at, 1, 10) FROM opportunity o "
                                "JOIN field_history h ON h.record = o._id AND h.field = 'stage' AND h._id = "
                                "(SELECT max(_id) FROM field_history WHERE record = o._id AND field = 'stage')")
    assert len(last_moves) == 2000 and all(a == b and c == d for a, b, c, d in last_moves)
    assert query(applied, "SELECT count(*) FROM task WHERE what_object = 'opportunity'")[0][0] > 1000


def test_seeded_data_breaks_every_rule_and_requirement_a_little(applied: Path) -> None:
    assert sos("sandbox", "seed", "--deals", "2000", "--today", TODAY).exit_code == 0
    project = load_project(applied / "sos.yaml")
    checks = [c for c in checks_of(desired_model(project)) if c.object == "opportunity"]
    tallies = LocalBackend(project.target(None), project.root).tally(
        checks, top=0, today=datetime.date.fromisoformat(TODAY))
    found = {str(check.address): tally.total for check, tally in zip(checks, tallies, strict=True)}
    assert all(0 < total < 2000 * 0.3 for total in found.values()), found


def test_seed_needs_an_applied_blueprint(project: Path) -> None:
    result = sos("sandbox", "seed")
    assert result.exit_code == 1
    assert "sos.yaml:7:5: error: nothing is applied to target 'sandbox' yet, so the sandbox has no stages or fields " \
           "for records [sandbox-empty]" in result.stderr
    assert "fix: run `sos apply --target sandbox` first" in result.stderr
    assert not (project / ".sos" / "sandbox.db").exists()


def test_sandbox_refuses_a_target_that_is_not_local(project: Path) -> None:
    (project / "sos.yaml").write_text("sos: 1\nblueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\n"
                                      "  prod: {type: salesforce, org: acme-prod}\ndefault_target: sandbox\n")
    result = sos("sandbox", "seed", "--target", "prod")
    assert result.exit_code == 1
    assert "error: target 'prod' has type 'salesforce': `sos sandbox` seeds and loads local sandboxes only " \
           "[sandbox-only]" in result.stderr
    assert "fix: pass --target sandbox" in result.stderr


DEALS_CSV = """\
Opportunity Name,Stage,Amount,Close Date,Opportunity Owner,Budget confirmed,Next Step,Probability (%),\
Stage Duration,Created By
Acme - New,Quote sent,"$12,500.00",3/31/2026,ana@example.com,Yes,Send the quote,50,12,Jo
Globex - Pilot,discovery_call,800,2026-04-15,bo@example.com,,,10,0,Jo
"Initech, Inc - New",Closed Won,4000,2/27/2026,ana@example.com,true,,100,,Jo
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_maps_columns_by_label_or_key_and_reads_values_by_type(applied: Path) -> None:
    write(applied, "deals.csv", DEALS_CSV)
    result = sos("sandbox", "load", "deals.csv", "--object", "opportunity", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Loaded 3 opportunity records from deals.csv into target 'sandbox'.\n"
    assert result.stderr == "left out the columns no opportunity field takes: Created By (map them with --map)\n"
    assert query(applied, "SELECT name, stage, amount, close_date, owner, budget_confirmed, next_step, probability, "
                          "_stage_entered FROM opportunity ORDER BY _id") == [
        ("Acme - New", "quote_sent", 12500, "2026-03-31", "ana@example.com", 1, "Send the quote", 50, "2026-02-18"),
        ("Globex - Pilot", "discovery_call", 800, "2026-04-15", "bo@example.com", 0, None, 10, TODAY),
        ("Initech, Inc - New", "closed_won", 4000, "2026-02-27", "ana@example.com", 1, None, 100, None),
    ]


def test_map_overrides_the_inferred_mapping(applied: Path) -> None:
    write(applied, "leads.csv", """\
        Last Name,Company,Lead Stage,Rep
        Doe,Doe Plumbing,Working,ana@example.com
        """)
    result = sos("sandbox", "load", "leads.csv", "--object", "lead", "--map", "Lead Stage=status",
                 "--map", "rep=owner")
    assert result.exit_code == 0, result.output
    assert query(applied, "SELECT last_name, company, status, owner FROM lead") == [
        ("Doe", "Doe Plumbing", "working", "ana@example.com")]


def test_a_csv_with_bad_rows_is_reported_by_line_and_nothing_is_loaded(applied: Path) -> None:
    path = write(applied, "deals.csv", """\
        Name,Stage,Amount,Close Date,Budget confirmed
        Acme - New,Quote sent,12500,2026-03-31,yes
        Globex - Pilot,Prospecting,lots,2026-04-15,yes
        Initech - New,demo,400,31/12/2026,maybe

        Hooli - New,demo,400,2026-12-31,no
        Vandelay, Inc - New,demo,400,2026-12-31,no
        """)
    result = sos("sandbox", "load", "deals.csv", "--object", "opportunity")
    assert result.exit_code == 1
    headlines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert headlines == [
        f"{path.name}:3:16: error: Stage: 'Prospecting' is not a stage the blueprint has (discovery_call, demo, "
        "quote_sent, negotiation, verbal_commit, closed_won, closed_lost) [csv-bad-row]",
        f"{path.name}:3:28: error: Amount: 'lots' is not a number [csv-bad-row]",
        f"{path.name}:4:24: error: Close Date: '31/12/2026' is not a date (write 2026-03-31 or 3/31/2026) "
        "[csv-bad-row]",
        f"{path.name}:4:35: error: Budget confirmed: 'maybe' is not a checkbox value (true or false, yes or no, 1 "
        "or 0) [csv-bad-row]",
        f"{path.name}:7:1: error: 6 cells where the header has 5 columns [csv-bad-row]",
        "error: 3 bad rows in deals.csv: nothing was loaded [csv-bad-row]",
    ]
    assert query(applied, "SELECT count(*) FROM opportunity") == [(0,)]


@pytest.mark.parametrize(("mapping", "expected"), [
    pytest.param("Stage=stag", "error: --map maps 'Stage' to 'stag', which is not a field of opportunity "
                               "[csv-column]", id="unknown-field"),
    pytest.param("Stag=stage", "error: --map names the column 'Stag', which deals.csv does not have [csv-column]",
                 id="unknown-column"),
    pytest.param("Stage", "error: --map takes COLUMN=FIELD, not 'Stage' [usage]", id="no-equals"),
    pytest.param("Name=stage", "deals.csv:1:1: error: the columns 'Name' and 'Stage' both map to stage "
                               "[csv-column]", id="mapped-twice"),
])
def test_a_mapping_that_cannot_be_followed_is_refused(applied: Path, mapping: str, expected: str) -> None:
    write(applied, "deals.csv", "Name,Stage\nAcme,demo\n")
    result = sos("sandbox", "load", "deals.csv", "--object", "opportunity", "--map", mapping)
    assert result.exit_code == 1
    assert expected in result.stderr.splitlines()
    assert query(applied, "SELECT count(*) FROM opportunity") == [(0,)]


def test_a_plan_counts_the_open_deals_a_tightened_stage_would_newly_block(applied: Path) -> None:
    # docs/language.md: a stage's `require` holds in it, every later open stage and the won stages; the plan's
    # impact counts open deals only, and for a tightened requirement only those its current version lets through.
    fresh = sos("plan").stdout
    assert "would block" not in fresh and "blocks no" not in fresh          # no records yet: nothing to tell
    assert sos("sandbox", "seed", "--deals", "400", "--seed", "3", "--today", TODAY).exit_code == 0
    blueprint = applied / "blueprint.yaml"
    blueprint.write_text(blueprint.read_text(encoding="utf-8") + textwrap.dedent("""\
        pipelines:
          new_business:
            stages:
              - {key: demo, also_require: [next_step]}
        """), encoding="utf-8")
    deals = LocalBackend(load_project(applied / "sos.yaml").target(None), applied).records(
        "opportunity", today=datetime.date.fromisoformat(TODAY))
    newly = [d for d in deals if d["stage"] in OPEN[1:] and d["demo_date"] is not None
             and d["decision_maker"] is not None and d["next_step"] is None]
    assert newly, "the seeded deals should include some the tightened stage blocks"
    plan = sos("plan")
    assert plan.exit_code == 0
    lines = plan.stdout.splitlines()
    at = lines.index(next(line for line in lines if "~ stage_requirement.new_business.demo " in line))
    owners = len({d["owner"] for d in newly})
    expected = f"      # would block the next stage move of {len(newly)} more open deals ({owners} owners)"
    assert expected in lines[at:at + 6]


def test_seeded_records_are_as_of_the_sandboxs_day_after_a_tick(applied: Path) -> None:
    # `sos sandbox tick` moves the sandbox's clock, which audits and cadences read: records seeded afterwards are as
    # of that day, the same records as seeding with --today set to it.
    ticked = sos("sandbox", "tick", "--days", "10")
    day = ticked.stdout.split(" is now at ")[1][:10]
    assert sos("sandbox", "seed", "--deals", "40", "--seed", "3").exit_code == 0
    as_of_the_sandbox = records_dump(applied)
    assert sos("sandbox", "seed", "--deals", "40", "--seed", "3", "--today", day).exit_code == 0
    assert records_dump(applied) == as_of_the_sandbox
