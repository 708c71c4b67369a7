"""The weekly reports' HTML page opened in the real headless chromium the audit dashboard's tests drive, the
network shut: the charts and tables it shows are read back from the DOM and compared with figures recomputed here
from the seeded sandbox's SQLite file (or, for the hostile-text check, with the report itself)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from sos.render.reports_html import render_html
from tests.render.browser import chromium, open_html
from tests.render.test_audit_html import HOSTILE, chart, texts
from tests.reports.seeded import OPEN, query, report, seeded_client

LABELS = {"discovery_call": "Discovery call", "demo": "Demo", "quote_sent": "Quote sent",
          "negotiation": "Negotiation", "verbal_commit": "Verbal commit"}     # blueprints/smb-bant.yaml


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_client(tmp_path_factory.mktemp("page"))


def test_the_review_page_draws_the_funnel_and_every_table_from_the_records(browser: Browser, seeded: Path) -> None:
    got = report(seeded, "review")
    opened = open_html(browser, render_html(got))
    assert opened.troubles() == []
    counts = dict(query(seeded, "SELECT stage, count(*) FROM opportunity GROUP BY stage"))
    assert chart(opened.page, "open deals by stage (funnel)") == {LABELS[s]: counts[s] for s in OPEN if counts.get(s)}
    moved = chart(opened.page, "week over week")
    assert sum(moved.values()) == len(query(seeded, "SELECT DISTINCT record FROM field_history WHERE field = 'stage' "
                                                    "AND object = 'opportunity' AND at >= '2026-11-28'"))
    # every deal past its limit is listed, not only the first rows the terminal shows
    aging = opened.page.locator("section", has=opened.page.locator("h2", has_text="past their stage's max_days"))
    assert aging.locator("tbody tr").count() == len(got["pipelines"][0]["aging"]) > 15
    amounts = query(seeded, f"SELECT coalesce(sum(amount), 0) FROM opportunity WHERE stage IN ({', '.join('?' * 5)})",
                    *OPEN)
    assert texts(opened.page, "#closing") == [f"{sum(counts[s] for s in OPEN):,} open deals worth "
                                              f"{amounts[0][0]:,.0f}; 10 to talk about."]


def test_the_forecast_page_stacks_each_owners_categories(browser: Browser, seeded: Path) -> None:
    opened = open_html(browser, render_html(report(seeded, "forecast")))
    assert opened.troubles() == []
    drawn: dict[tuple[str, str], float] = {}
    for bar in opened.page.locator("figure.stacked g.bar").all():
        for segment in bar.locator("rect").all():
            drawn[(str(bar.get_attribute("data-owner")), str(segment.get_attribute("data-category")))] = \
                float(str(segment.get_attribute("data-value")))
    expected: Counter[tuple[str, str]] = Counter()
    for owner, stage, amount, category in query(seeded, "SELECT owner, stage, coalesce(amount, 0), forecast_category "
                                                        "FROM opportunity WHERE close_date BETWEEN '2026-10-01' AND "
                                                        "'2026-12-31'"):
        if stage == "closed_won":
            expected[(owner, "closed_won")] += amount
        elif stage in OPEN and category in ("commit", "best_case", "pipeline"):
            expected[(owner, category)] += amount
    assert {key: value for key, value in drawn.items() if value} == {k: v for k, v in expected.items() if v}


def test_the_trace_page_shows_hostile_text_as_text_and_loads_nothing(browser: Browser, seeded: Path) -> None:
    got: dict[str, Any] = copy.deepcopy(report(seeded, "trace"))
    got["leads"][0]["name"] = HOSTILE
    got["leads"][0]["events"][0]["detail"] = HOSTILE
    opened = open_html(browser, render_html(got))
    assert opened.troubles() == [] and opened.page.title().startswith("Trace of 10 leads")
    assert texts(opened.page, "h2")[:2] == ["Charts", f"Lead {got['leads'][0]['id']}: {HOSTILE} "
                                                      f"({got['leads'][0]['company']}), {got['leads'][0]['owner']}, "
                                                      f"{got['leads'][0]['status']}"]
    assert HOSTILE in texts(opened.page, "section.check tbody td")
    assert opened.page.locator("img").count() == 0
    assert chart(opened.page, "Where the leads leaked") == {
        {"first_touch": "at first touch", "stuck": "stuck in a status", "unassigned": "unassigned",
         "no_deal": "converted but no deal", "stalled": "deal stalled past max_days"}[kind]: count
        for kind, count in got["by_leak"].items()}
