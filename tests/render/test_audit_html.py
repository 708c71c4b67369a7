"""The audit dashboard opened in a real headless browser (Debian's chromium, driven by playwright), the network shut:
what it shows is read back from the DOM and compared with figures the test computes from the report."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from sos.render.audit import render_audit
from sos.render.audit_html import render_html
from tests.render.browser import SAMPLE_REPORT, Opened, chromium, open_html

HOSTILE = '<script>document.title = "pwned"</script><img src="http://evil.invalid/x.png">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def sample() -> dict[str, Any]:
    return json.loads(SAMPLE_REPORT.read_text(encoding="utf-8"))


def opened(browser: Browser, report: dict[str, Any], *, javascript: bool = True) -> Opened:
    return open_html(browser, render_html(report), javascript=javascript)


def texts(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def column(page: Page, table: str, index: int) -> list[str]:
    return texts(page, f"{table} tbody tr td:nth-child({index})")


def chart(page: Page, title: str) -> dict[str, int]:
    """A chart's bars, read from the SVG: each bar's full label (its tooltip) and the number drawn beside it."""
    figure = page.locator("figure.chart", has=page.locator("figcaption", has_text=title))
    bars = figure.locator("g.bar")
    return {(bars.nth(i).locator("title").text_content() or "").rsplit(": ", 1)[0]:
            int(bars.nth(i).locator("text.value").text_content() or "")
            for i in range(bars.count())}


def summary_cell(check: dict[str, Any]) -> str:
    if check["unsupported"] is not None:
        return "Not checked"
    return f"{check['count']:,}" if check["count"] else "✓ Passing"


def test_the_page_shows_the_reports_counts(browser: Browser) -> None:
    report = sample()
    page = (dashboard := opened(browser, report)).page
    checks = report["checks"]

    assert page.inner_text("h1") == report["target"]["name"]
    assert "4 December 2026" in page.inner_text("header .meta")
    assert page.inner_text("#records-total") == f"{sum(report['records'].values()):,}"
    assert page.inner_text("#found") == f"{sum(c['count'] for c in checks):,}" == f"{report['found']:,}"
    assert page.inner_text("#checks-total") == str(len(checks))
    rows = dict(zip(column(page, "#summary", 1), column(page, "#summary", 4), strict=True))
    assert rows == {c["title"]: summary_cell(c) for c in checks}

    owners = sum((Counter(c["by_owner"]) for c in checks), Counter())
    assert chart(page, "Problems by owner") == dict(owners)
    labels = report["stages"]["opportunity"]
    stages = sum((Counter(c["by_stage"]) for c in checks if c["object"] == "opportunity"), Counter())
    assert chart(page, "Problems by deal stage") == {labels[key]: n for key, n in stages.items()}
    assert list(chart(page, "Problems by deal stage")) == [labels[key] for key in labels if key in stages]

    for check in checks:
        section = page.locator("section.check", has=page.locator("h2", has_text=check["title"]))
        names = section.locator("tbody td:nth-child(1)").all_inner_texts()
        assert names == [o["name"] for o in check["worst"]]
        assert section.locator("tbody td:nth-child(3)").all_inner_texts() == [
            labels[o["stage"]] for o in check["worst"]]
        assert section.locator("tbody td:nth-child(4)").all_inner_texts() == [
            f"{o['amount']:,.0f}" for o in check["worst"]]
        assert [section.locator("tbody td:nth-child(1) a").nth(i).get_attribute("href")
                for i in range(len(check["worst"]))] == [o["url"] for o in check["worst"]]
    assert dashboard.troubles() == []


def test_clicking_a_header_sorts_the_rows_and_says_so(browser: Browser) -> None:
    report = sample()
    report["checks"][0]["worst"] = [
        {"id": "1", "name": "globex renewal", "owner": "cy@acme.com", "stage": "negotiation", "amount": 120000.0,
         "url": None},
        {"id": "2", "name": "Initech pilot", "owner": "ana@acme.com", "stage": "proposal", "amount": 48000.0,
         "url": None},
        {"id": "3", "name": "Hooli expansion", "owner": "bo@acme.com", "stage": "discovery", "amount": 9000.0,
         "url": None},
        {"id": "4", "name": "Acme small", "owner": "Dee@acme.com", "stage": "proposal", "amount": None, "url": None}]
    page = (dashboard := opened(browser, report)).page
    counts = {c["title"]: -1 if c["unsupported"] else c["count"] for c in report["checks"]}

    def records_order() -> list[int]:
        return [counts[title] for title in column(page, "#summary", 1)]

    header = page.locator("#summary th", has_text="Records")
    assert header.get_attribute("aria-sort") == "descending"
    assert records_order() == sorted(counts.values(), reverse=True)
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert records_order() == sorted(counts.values())
    page.locator("#summary th", has_text="Check").click()
    assert column(page, "#summary", 1) == sorted(counts, key=str.casefold)
    assert page.locator("#summary th", has_text="Check").get_attribute("aria-sort") == "ascending"
    assert header.get_attribute("aria-sort") == "none"

    offenders = "#check-1 table"
    amount = page.locator(f"{offenders} th", has_text="Amount")
    amount.click()   # largest first as rendered, so the first click turns it round
    assert (amount.get_attribute("aria-sort"), column(page, offenders, 4)) == (
        "ascending", ["—", "9,000", "48,000", "120,000"])
    amount.click()
    assert column(page, offenders, 4) == ["120,000", "48,000", "9,000", "—"]
    page.locator(f"{offenders} th", has_text="Owner").click()
    assert column(page, offenders, 2) == ["ana@acme.com", "bo@acme.com", "cy@acme.com", "Dee@acme.com"]
    page.locator(f"{offenders} th", has_text="Stage").click()   # pipeline order, not A to Z
    assert column(page, offenders, 3) == ["Discovery", "Proposal", "Proposal", "Negotiation"]
    page.locator(f"{offenders} th", has_text="Deal").click()
    assert column(page, offenders, 1) == ["Acme small", "globex renewal", "Hooli expansion", "Initech pilot"]
    assert dashboard.troubles() == []


def test_hostile_text_shows_as_text_and_loads_nothing(browser: Browser) -> None:
    report = sample()
    report["target"]["name"] = '"><svg onload=alert(1)>'
    check = report["checks"][0]
    check["title"] = "</table><script>alert(2)</script>"
    check["by_owner"] = {"<b>bo</b>": check["count"]}
    check["worst"] = [{"id": "1", "name": HOSTILE, "owner": "<b>bo</b>", "stage": "<i>x</i>", "amount": 1.0,
                       "url": "javascript:alert(3)"}]
    page = (dashboard := opened(browser, report)).page

    assert page.inner_text("h1") == '"><svg onload=alert(1)>'
    assert page.title().startswith('Pipeline hygiene audit: "><svg onload=alert(1)>')
    assert column(page, "#summary", 1)[0] == "</table><script>alert(2)</script>"
    assert column(page, "#check-1 table", 1) == [HOSTILE]
    assert column(page, "#check-1 table", 2) == ["<b>bo</b>"]
    assert column(page, "#check-1 table", 3) == ["<i>x</i>"]
    assert page.locator("#check-1 table a").count() == 0     # a javascript: URL is never a link
    assert page.locator("img, b, i, body script").count() == 1     # the page's own sorting script
    assert chart(page, "Problems by owner")["<b>bo</b>"] == check["count"]
    assert dashboard.troubles() == []


def test_a_clean_report_shows_every_check_passing(browser: Browser) -> None:
    report = sample()
    for check in report["checks"]:
        check.update(count=0, by_owner={}, by_stage={}, worst=[], unsupported=None)
    report["found"] = 0
    page = (dashboard := opened(browser, report)).page

    assert page.inner_text("#found") == "0"
    assert set(column(page, "#summary", 4)) == {"✓ Passing"}
    assert texts(page, "section.check p.status") == [
        f"✓ Passing: no {'leads' if c['object'] == 'lead' else 'deals'} break it." for c in report["checks"]]
    assert page.locator("figure.chart").count() == 0
    assert dashboard.troubles() == []


def test_the_page_reads_the_same_without_script(browser: Browser) -> None:
    report = sample()
    page = (dashboard := opened(browser, report, javascript=False)).page

    assert page.inner_text("#found") == f"{report['found']:,}"
    assert sorted(column(page, "#summary", 1)) == sorted(c["title"] for c in report["checks"])
    assert page.locator("th button").count() == 0
    owners = sum((Counter(c["by_owner"]) for c in report["checks"]), Counter())
    assert chart(page, "Problems by owner") == dict(owners)
    assert dashboard.troubles() == []


def test_a_chart_sums_its_smallest_bars_into_one() -> None:
    report = sample()
    check = copy.deepcopy(report["checks"][0])
    check["by_owner"] = {f"rep{i:02d}@acme.com": 30 - i for i in range(20)}
    report["checks"] = [check]
    html = render_html(report)
    assert "rep10@acme.com: 20</title>" in html and "rep11@acme.com" not in html
    assert f"9 other owners: {sum(30 - i for i in range(11, 20))}</title>" in html


def test_a_lead_check_lists_leads_by_status_without_amounts(browser: Browser) -> None:
    report = sample()
    lead = next(c for c in report["checks"] if c["object"] == "lead")
    lead.update(count=3, by_owner={"bo@acme.com": 3}, by_stage={"working": 1, "new": 2},
                worst=[{"id": "00Q1", "name": "Jo Park", "owner": None, "stage": "working", "amount": None,
                        "url": None}])
    report["found"] += 3
    page = (dashboard := opened(browser, report)).page
    section = page.locator("section.check", has=page.locator("h2", has_text=lead["title"]))

    assert section.locator("p", has_text="break it").inner_text() == "3 leads break it. The first 1 by name:"
    assert section.locator("th").all_inner_texts() == ["Lead", "Owner", "Status"]
    assert section.locator("tbody td").all_inner_texts() == ["Jo Park", "(no owner)", "Working"]
    assert chart(page, "Problems by lead status") == {"New": 2, "Working": 1}
    assert page.inner_text("#found") == f"{sum(c['count'] for c in report['checks']):,}"
    assert dashboard.troubles() == []


def test_one_offender_reads_as_one() -> None:
    report = sample()
    check = report["checks"][2]
    check.update(count=1, by_owner={"ana@acme.com": 1}, by_stage={"discovery": 1}, worst=check["worst"][:1])
    assert '<strong class="count">1</strong> deal breaks it.</p>' in render_html(report)



def test_the_page_shows_a_report_made_by_sos_audit(browser: Browser, audited: dict[str, Any]) -> None:
    html = render_audit(audited, "html")
    assert html == render_html(audited)
    page = (dashboard := open_html(browser, html)).page

    assert page.inner_text("#found") == f"{sum(c['count'] for c in audited['checks']):,}"
    assert page.inner_text("#checks-total") == str(len(audited["checks"]))
    rows = dict(zip(column(page, "#summary", 1), column(page, "#summary", 4), strict=True))
    assert rows == {c["title"]: summary_cell(c) for c in audited["checks"]}
    [broken] = [c for c in audited["checks"] if c["count"]]
    labels = audited["stages"]["opportunity"]
    assert chart(page, "Problems by deal stage") == {labels[key]: n for key, n in broken["by_stage"].items()}
    assert column(page, "#check-1 table", 1) == [o["name"] for o in broken["worst"]]
    assert column(page, "#check-1 table", 3) == [labels[o["stage"]] for o in broken["worst"]]
    assert column(page, "#check-1 table", 4) == [f"{o['amount']:,.0f}" if o["amount"] else "—"
                                                for o in broken["worst"]]
    assert dashboard.troubles() == []
