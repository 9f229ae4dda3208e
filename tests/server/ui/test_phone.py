"""The web UI on a phone (390 px wide, in Debian's chromium driven by Playwright; skipped
when either is missing): no page scrolls sideways (the navigation wraps, tables scroll
inside themselves or reflow, long reasons and URLs break), and keyboard focus is visible."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason="no chromium browser: apt-get install -y chromium"
    ),
]
PAGES = ["/", "/events", "/residents", "/entrances", "/rules", "/users", "/lang/ru?next=/"]


def test_no_sideways_scrolling_at_390px_and_visible_focus(live_server) -> None:
    from playwright.sync_api import sync_playwright

    srv = live_server(timezone="Europe/Moscow")
    journal = srv.app.state.fg.journal
    long_reason = "door webhook failed: HTTP 500 from http://relay.example/" + "x" * 80
    journal.record(DoorEvent(Decision.DOOR_ERROR, "main", long_reason, time.time()))
    for k in range(5):
        journal.record(
            DoorEvent(
                Decision.UNKNOWN,
                "main",
                "no resident matched at FMR 1e-05; closest Lin-Manuel Miranda -0.042 < 0.509",
                time.time() - 60 * k,
                scores={"sface": -0.042},
                snapshot=np.full((120, 120, 3), 90, np.uint8),
            )
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(30_000)
            page.goto(f"{srv.url}/login")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#signin")
            page.wait_for_url(f"{srv.url}/")
            for path in PAGES:
                page.goto(srv.url + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
            page.goto(f"{srv.url}/events")
            page.keyboard.press("Tab")  # the first link of the header
            outline = page.evaluate(
                "(() => { const s = getComputedStyle(document.activeElement);"
                " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
            )
            # the browser's default ring is dark blue: invisible on the dark header
            assert outline == ["A", "solid", "3px"], outline
        finally:
            browser.close()
