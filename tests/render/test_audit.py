"""The audit report's renderings, made from one report: what each shows of the counts and the worst deals."""

from __future__ import annotations

import csv
import io
import json

from sos.render.audit import render_audit


def test_the_report_counts_and_labels(audited: dict) -> None:
    assert audited["found"] == 3
    assert audited["stages"]["opportunity"]["negotiation"] == "Negotiation"
    assert audited["stages"]["lead"]["working"] == "Working"
    proposal = next(c for c in audited["checks"] if c["address"] == "stage_requirement.new_business.proposal")
    assert list(proposal["by_owner"]) == ["ana@acme.com", "=cmd|' /C calc'!A0"]     # most first
    assert json.loads(render_audit(audited, "json")) == audited


def test_the_summary_names_the_broken_checks_with_labels_not_keys(audited: dict) -> None:
    text = render_audit(audited, "text")
    assert text.splitlines()[0] == ("Audit of sandbox (local) as of 2026-12-04: 120 deals, 40 leads looked at.")
    assert "3  Proposal needs: Amount, Mutual action plan, Champion tested." in text
    assert "by stage: Proposal 2 · Negotiation 1" in text
    assert "Globex | renewal, 48,000, ana@acme.com, Proposal" in text
    assert "not checked: two fields compared" in text
    assert text.rstrip().endswith(f"Found 3 problems: 1 of {len(audited['checks'])} checks are broken.")


def test_csv_has_a_row_per_listed_deal_and_cannot_run_formulas(audited: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(render_audit(audited, "csv"))))
    listed = [r for r in rows if r["check"] == "stage_requirement.new_business.proposal"]
    assert [(r["record_id"], r["record"], r["owner"], r["stage"], r["amount"]) for r in listed] == [
        ("D1", "Globex | renewal", "ana@acme.com", "Proposal", "48000.0"),
        ("D2", "'@SUM(1+1)", "'=cmd|' /C calc'!A0", "Negotiation", ""),
    ]
    assert len(rows) == len(audited["checks"]) + 1     # one row for each other check, two for the broken one
    assert rows[0]["broken_records"] == ""             # not checked is not zero


def test_markdown_keeps_table_cells_whole(audited: dict) -> None:
    markdown = render_audit(audited, "markdown")
    assert "| Globex \\| renewal | ana@acme.com | Proposal | 48,000 |" in markdown
    assert "| [@SUM(1+1)](https://crm.example/D2) |" in markdown


def test_a_target_without_records_is_not_called_clean(audited: dict) -> None:
    empty = {**audited, "found": 0, "records": {"opportunity": 0, "lead": 0},
             "checks": [{**check, "count": 0} for check in audited["checks"]]}
    assert render_audit(empty, "text").rstrip().splitlines()[-1] == (
        f"Nothing to audit: the target holds no records for the {len(audited['checks'])} checks.")
