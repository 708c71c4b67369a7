"""The sandbox's History (rows, changes, activities) on records made through its API, as a CRM's users make them:
a lead routed by the blueprint's routes with its first-touch task (smb-bant's first_touch cadence: due in 4 hours),
then converted into a deal with `sos sandbox convert`; and `sos trace` following that lead. The expected values
come from blueprints/smb-bant.yaml (routing: demo_requests is a round robin starting at ae1@example.com)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from sos.backends.local import LocalBackend
from sos.project import load_project
from tests.reports.seeded import TODAY, query, report, sos

NOW = datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def client(tmp_path: Path) -> Path:
    assert sos(tmp_path, "init", "acme", "--starter", "smb-bant").exit_code == 0
    assert sos(tmp_path / "acme", "apply", "--auto-approve").exit_code == 0
    return tmp_path / "acme"


def sandbox(root: Path) -> LocalBackend:
    project = load_project(root / "sos.yaml")
    return LocalBackend(project.target(None), project.root)


def test_history_reads_a_routed_and_converted_lead(client: Path) -> None:
    backend = sandbox(client)
    lead = backend.create_record("lead", {"last_name": "Okafor", "company": "Globex Dental", "country": "Canada",
                                          "employees": 12, "request_type": "Demo request", "lead_source": "Web"},
                                 now=NOW)
    converted = NOW + datetime.timedelta(days=1)
    deal = backend.convert_lead(lead, deal_values={"amount": 5000, "close_date": "2026-12-30"}, now=converted)
    assert query(client, "SELECT lead, deal, at FROM lead_conversion") == [(lead, deal, "2026-12-04T09:00:00Z")]

    [row] = backend.rows("lead", ["name", "status", "owner", "created_date", "employees"])
    assert row == {"id": str(lead), "url": None, "name": None, "status": "qualified", "owner": "ae1@example.com",
                   "created_date": NOW, "employees": 12.0, "converted_deal": str(deal)}
    changes = backend.changes("lead", ["owner", "status"], NOW).changes
    assert [(c.field, c.old, c.new, c.who) for c in changes] == [   # created in the default status, then routed
        ("status", None, "new", "sos"), ("owner", None, "ae1@example.com", "route.lead.demo_requests"),
        ("status", "new", "qualified", "sos")]
    assert [c.at for c in changes] == [NOW, NOW, converted]
    assert backend.changes("lead", ["owner"], NOW + datetime.timedelta(seconds=1)).changes == ()
    [deal_row] = backend.rows("opportunity", ["stage", "amount", "close_date", "owner"])
    assert deal_row["stage"] == "discovery_call" and deal_row["amount"] == 5000.0
    assert deal_row["close_date"] == datetime.date(2026, 12, 30) and deal_row["owner"] == "ae1@example.com"
    # the day a deal entered its stage, which the sandbox stamps (it keeps no time of day): its creation, until a
    # save changes the stage; a save that leaves the stage leaves it
    def stage_entered() -> object:
        return next(backend.rows("opportunity", ["stage_entered"]))["stage_entered"]
    assert stage_entered() == datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
    backend.update_record("opportunity", deal, {"amount": 6000}, now=converted + datetime.timedelta(days=1))
    assert stage_entered() == datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
    backend.update_record("opportunity", deal, {"stage": "closed_lost", "loss_reason": "Price"},
                          now=converted + datetime.timedelta(days=2))
    assert stage_entered() == datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
    [task] = backend.activities("lead", NOW)
    assert (task.record, task.owner, task.cadence, task.created, task.completed) == \
        (str(lead), "ae1@example.com", "cadence.lead.first_touch", NOW, None)
    assert task.due == NOW.date()
    assert list(backend.activities("lead", NOW + datetime.timedelta(seconds=1))) == []


def test_trace_follows_a_lead_through_routing_and_conversion(client: Path) -> None:
    backend = sandbox(client)
    lead = backend.create_record("lead", {"last_name": "Okafor", "company": "Globex Dental", "employees": 12,
                                          "request_type": "Demo request", "lead_source": "Web"}, now=NOW)
    deal = backend.convert_lead(lead, deal_values={"amount": 5000}, now=NOW + datetime.timedelta(days=1))
    got = report(client, "trace", str(lead))
    [traced] = got["leads"]
    assert [(e["at"][:16], e["what"], e["detail"]) for e in traced["events"]] == [
        ("2026-12-03T09:00", "created", "source: Web"),
        ("2026-12-03T09:00", "routed", "to ae1@example.com by route.lead.demo_requests"),
        ("2026-12-03T13:00", "first touch", "not done; due 2026-12-03 13:00 UTC"),   # NOW + 4 hours
        ("2026-12-04T09:00", "status", "New → Qualified"),     # the statuses' labels
        ("2026-12-04T09:00", "converted", f"into deal {deal} Globex Dental - New"),
        ("2026-12-04T09:00", "stage", f"Discovery call: {(TODAY - datetime.date(2026, 12, 4)).days} days")]
    assert traced["leaks"] == [{"kind": "first_touch", "where": "never done"}]
    assert got["summary"] == "1 of 1 lead leaked: 1 at first touch."


def test_trace_names_a_lead_the_target_does_not_hold(client: Path) -> None:
    result = sos(client, "trace", "41", "--today", TODAY.isoformat())
    assert result.exit_code == 1
    assert "error: the target holds no lead '41' [lead-missing]" in result.stderr
    assert "fix: run `sos trace` without ids to see the most recent leads' ids" in result.stderr


def test_sandbox_convert_makes_the_deal_or_says_why_not(client: Path) -> None:
    lead = sandbox(client).create_record("lead", {"last_name": "Novak", "company": "Initech"}, now=NOW)
    wrong = sos(client, "sandbox", "convert", str(lead), "--stage", "demoo")
    assert wrong.exit_code == 1
    assert "error: the blueprint has no stage 'demoo' [bad-record]" in wrong.stderr
    assert "did you mean 'demo'?" in wrong.stderr
    assert query(client, "SELECT count(*) FROM opportunity") == [(0,)]
    refused = sos(client, "sandbox", "convert", str(lead), "--stage", "demo")    # Demo requires a demo date
    assert refused.exit_code == 1
    assert "error: the sandbox refused to save a new opportunity: Demo needs: Demo date, Decision maker. " \
           "[record-refused]" in refused.stderr
    assert query(client, "SELECT count(*) FROM opportunity") == [(0,)]
    assert query(client, "SELECT status FROM lead") == [("new",)]     # as created: nothing half-written
    assert query(client, "SELECT * FROM lead_conversion") == []
    done = sos(client, "sandbox", "convert", str(lead), "--amount", "900")
    assert done.exit_code == 0, done.output
    assert done.stdout == f"Converted lead {lead} into deal 1 in target 'sandbox'.\n"
    assert query(client, "SELECT stage, amount, name FROM opportunity") == [("discovery_call", 900, "Initech - New")]
    assert query(client, "SELECT status FROM lead") == [("qualified",)]
    again = sos(client, "sandbox", "convert", str(lead))
    assert again.exit_code == 1 and f"error: lead {lead} is already converted [bad-record]" in again.stderr
    assert query(client, "SELECT count(*) FROM opportunity") == [(1,)]

