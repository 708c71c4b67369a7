"""A page opened in Debian's chromium, headless, with the network shut: the page itself is served from memory and
every other request is refused and recorded, as are console errors, uncaught exceptions and dialogs.

The tests of the audit dashboard use it, and so does `make dashboard-screenshot` (python -m tests.render.browser).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# The page's own address: served from memory by the route below, never looked up (.invalid cannot resolve).
PAGE_URL = "http://dashboard.invalid/"

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPORT = ROOT / "tests" / "render" / "audit_report.json"
SCREENSHOT = ROOT / "docs" / "audit-dashboard.png"


@dataclass
class Opened:
    page: Page
    refused: list[str] = field(default_factory=list)    # every request other than the page itself
    errors: list[str] = field(default_factory=list)     # console errors, uncaught exceptions, dialogs

    def troubles(self) -> list[str]:
        return [f"request: {url}" for url in self.refused] + self.errors


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_html(browser: Browser, html: str, *, javascript: bool = True, width: int = 1100) -> Opened:
    """`html` loaded as a page at PAGE_URL in a fresh context."""
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    opened = Opened(context.new_page())

    def serve(route: Route) -> None:
        if route.request.url == PAGE_URL:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        else:
            opened.refused.append(route.request.url)
            route.abort()

    context.route("**/*", serve)
    opened.page.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.page.on("pageerror", lambda error: opened.errors.append(f"exception: {error}"))
    opened.page.on("dialog", lambda dialog: (opened.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    opened.page.goto(PAGE_URL, wait_until="load")
    return opened


def screenshot() -> None:
    """docs/audit-dashboard.png: the sample report's dashboard, whole page."""
    from sos.render.audit_html import render_html

    html = render_html(json.loads(SAMPLE_REPORT.read_text(encoding="utf-8")))
    with chromium() as browser:
        opened = open_html(browser, html, width=1040)
        opened.page.screenshot(path=str(SCREENSHOT), full_page=True)
        if opened.troubles():
            sys.exit("\n".join(opened.troubles()))
    print(f"wrote {SCREENSHOT.relative_to(ROOT)}")


if __name__ == "__main__":
    screenshot()
