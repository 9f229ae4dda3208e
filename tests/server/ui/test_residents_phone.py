"""The residents' pages in Debian's chromium (Playwright; skipped when either is missing), on a
phone: a bulk import through the form (a CSV and a zip chosen with the file inputs), its
report, the list with thumbnails and a resident's page, none scrolling sideways at 390 px."""

from __future__ import annotations

import importlib.util
import io
import shutil
import zipfile
from pathlib import Path

import pytest

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


def test_import_on_a_phone(live_server, photos: dict, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    csv = tmp_path / "people.csv"
    csv.write_text(
        "name;apartment;photo\nGrace Hopper With A Rather Long Name Indeed;12;hopper.jpg\n"
        "Eileen Collins;14;collins.png\nNobody Here;15;missing-photo-with-a-long-name.jpg\n",
        encoding="utf-8-sig",
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hopper.jpg", photos["hopper"])
        z.writestr("collins.png", photos["stranger"])
    archive = tmp_path / "photos.zip"
    archive.write_bytes(buf.getvalue())
    srv = live_server()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(60_000)
            page.goto(f"{srv.url}/login")
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#signin")
            page.wait_for_url(f"{srv.url}/")
            page.goto(f"{srv.url}/residents/import")
            page.set_input_files("#import-csv", str(csv))
            page.set_input_files("#import-zip", str(archive))
            page.click("#import-btn")
            page.wait_for_selector("#import-report")
            report = page.inner_text("#import-report")
            assert "2 residents added" in report and "1 row skipped" in report
            assert "photo not found in the zip" in report
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.goto(f"{srv.url}/residents")
            assert page.locator("img.avatar").count() == 2
            # the thumbnails really load (the cookie is sent with them)
            page.wait_for_function(
                "[...document.querySelectorAll('img.avatar')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.focus("#q")
            page.keyboard.type("14")
            page.keyboard.press("Enter")
            page.wait_for_url("**/residents?q=14")
            assert page.locator("li.resident").count() == 1
            page.click("li.resident a")
            page.wait_for_selector("#access")
            assert "Eileen Collins" in page.inner_text("h2")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()
