"""The web UI in a real browser (Debian's chromium driven by Playwright): sign in, add a
resident, enrol a photo and read the verdict, be told why an entrance form was refused,
point the entrance at a video, and watch the runtime's "open" event for that resident
arrive in the event log."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from facegate.demo import grace_hopper_path
from tests.server.conftest import ADMIN_PASSWORD, jpeg, walk_up_video

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


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def test_sign_in_enrol_and_watch_the_door(
    browser, live_server, tmp_path: Path, hopper: np.ndarray
) -> None:
    srv = live_server(run_entrances=True)
    page = browser.new_page()
    page.set_default_timeout(60_000)

    page.goto(f"{srv.url}/")
    assert page.url.endswith("/login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong")
    page.click("#signin")
    assert "Wrong username or password" in page.inner_text("#login-error")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#signin")
    page.wait_for_selector("text=Last events")

    page.goto(f"{srv.url}/residents")
    page.fill("#new-name", "Grace Hopper")
    page.fill("#new-apartment", "12")
    page.click("#add")
    page.wait_for_url("**/residents/*")

    blank = tmp_path / "wall.jpg"
    blank.write_bytes(jpeg(np.full((240, 320, 3), 120, np.uint8)))
    page.set_input_files("#photo-file", str(blank))
    page.click("#upload-btn")
    page.wait_for_selector("#upload-result.bad")
    assert "wall.jpg: no face found" in page.inner_text("#upload-result")

    page.set_input_files("#photo-file", str(grace_hopper_path()))
    page.click("#upload-btn")
    page.wait_for_selector("#upload-result.ok >> text=Enrolled")
    # the sentence resident.html shows for an accepted photo (T.enrolled)
    assert "Enrolled grace_hopper.jpg: the door knows this face now." in page.inner_text(
        "#upload-result"
    )
    page.wait_for_selector("img.thumb")  # the page reloads with the enrolled photo

    video = walk_up_video(tmp_path / "visit.avi", hopper)
    page.goto(f"{srv.url}/entrances")
    add = page.locator("#add-entrance")
    add.locator("input[name=name]").fill("main")
    add.locator("input[name=uri]").fill(str(tmp_path / "no-such-visit.avi"))
    add.locator("#add-entrance-btn").click()
    errors = page.locator("#add-entrance ul.errors").inner_text()
    assert "no such file, folder or camera" in errors, errors
    assert page.locator("#add-entrance input[name=name]").input_value() == "main"  # kept

    form = page.locator("form.settings").first
    form.locator("input[name=uri]").fill(str(video))
    form.locator("select[name=pace]").select_option("fast")  # every frame, on any CPU
    form.locator("details.advanced > summary").click()  # thresholds and liveness: Advanced
    form.locator("input[name=preset][value=custom]").check()
    form.locator("details.custom > summary").click()
    form.locator("input[name=confirm]").uncheck()  # fast model alone (see test_runtime_server)
    # a photo carried to the camera is what the motion check refuses (test_runtime_server)
    form.locator("select[name=live_checks]").select_option("off")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("p.saved")  # saved: the page reloads with the new status
    assert str(video) in page.locator("form.settings input[name=uri]").first.input_value()
    assert "Liveness is off" in page.locator(".entrance p.liveness").first.inner_text()

    deadline = time.monotonic() + 180
    while True:
        page.goto(f"{srv.url}/events?decision=open")
        rows = page.locator("tr.event").all_inner_texts()
        if any("Grace Hopper" in r for r in rows):
            break
        assert time.monotonic() < deadline, f"no open event; rows: {rows}"
        time.sleep(1)
    assert page.locator("tr.event img.snap").count() >= 1  # the best shot is shown
    page.goto(f"{srv.url}/")
    assert "Grace Hopper" in page.inner_text("#last-events")
