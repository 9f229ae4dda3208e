"""The event log in plain language: sentences with the detail one click away, times in the
site's zone, date filters, and the CSV link keeping the filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD

T0 = datetime(2026, 3, 10, 7, 42, 5, tzinfo=UTC).timestamp()  # 10:42:05 in Moscow (UTC+3)


def record(api, decision, reason, t, person=None, entrance="main", **kw) -> None:
    api.state.journal.record(DoorEvent(decision, entrance, reason, t, person=person, **kw))


def test_events_read_as_sentences_in_the_site_zone(make_api) -> None:
    api = make_api(timezone="Europe/Moscow")
    record(
        api,
        Decision.UNKNOWN,
        "no resident matched at FMR 1e-05; closest Lin-Manuel Miranda -0.042 < 0.509",
        T0,
        scores={"sface": -0.042},
    )
    record(api, Decision.OPEN, "Ann Lee matched in 3 shots", T0 + 60, person="Ann Lee")
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/events")
    assert page.status_code == 200
    text = page.text
    assert "Unknown visitor" in text and "Recognised Ann Lee; door opened" in text
    # the engineer's wording is still there, inside <details>
    details = re.findall(r"<details>(.*?)</details>", text, re.S)
    assert any("closest Lin-Manuel Miranda -0.042 &lt; 0.509" in d for d in details)
    assert "2026-03-10 10:42:05" in text  # Moscow, not 07:42 UTC
    assert "Europe/Moscow" in text  # the header says which zone


def test_date_filter_and_csv_link(make_api) -> None:
    api = make_api(timezone="Europe/Moscow")
    day = 86400.0
    for k in range(3):  # 10, 11 and 12 March, 10:42 Moscow time
        record(api, Decision.UNKNOWN, f"visit {k}", T0 + k * day)
    # 23:30 on 11 March in Moscow is 20:30 UTC: the 11th there
    late = datetime(2026, 3, 11, 20, 30, tzinfo=UTC).timestamp()
    record(api, Decision.DENY, "presentation attack suspected (motion)", late, person="Ann Lee")
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/events?start=2026-03-11&end=2026-03-11")
    assert page.status_code == 200
    assert page.text.count('<tr class="event">') == 2
    assert "visit 1" in page.text and "visit 0" not in page.text and "visit 2" not in page.text
    assert "Photo or screen suspected: door stayed closed" in page.text
    link = re.search(r'<a id="export" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    csv = ui.get(link)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3  # the header and the same two events
    assert lines[1].startswith("2026-03-11T23:30:00+03:00,")
    bad = ui.get("/events?start=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_snapshot_opens_full_size(make_api) -> None:
    import numpy as np

    api = make_api()
    record(
        api,
        Decision.OPEN,
        "Ann Lee matched in 2 shots",
        T0,
        person="Ann Lee",
        snapshot=np.full((64, 64, 3), 128, np.uint8),
    )
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/events").text
    m = re.search(r'<a href="(/api/v1/snapshots/[^"]+)"[^>]*><img class="snap"', page)
    assert m, page
    assert ui.get(m.group(1)).headers["content-type"] == "image/jpeg"
