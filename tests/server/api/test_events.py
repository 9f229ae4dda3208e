"""The event log a page at a time (`/api/v1/events`)."""

from __future__ import annotations

import time

from tests.server.conftest import Api, record_events


def test_events_come_a_page_at_a_time_without_gaps_or_repeats(api: Api) -> None:
    c, h = api.client, api.viewer
    start = time.time() - 3600
    record_events(api, 11, start)  # times tie in threes: pages must still not overlap
    record_events(api, 4, start, entrance="garage")
    everything = c.get("/api/v1/events?entrance=main&limit=1000", headers=h).json()
    assert everything["next"] is None and everything["next_cursor"] is None
    newest_first = [e["id"] for e in everything["items"]]
    assert len(newest_first) == 11

    seen, url, pages = [], "/api/v1/events?entrance=main&limit=2", 0
    while url:
        page = c.get(url, headers=h).json()
        assert page["limit"] == 2 and len(page["items"]) <= 2
        assert {e["entrance"] for e in page["items"]} == {"main"}  # the filter is kept
        seen += [e["id"] for e in page["items"]]
        url, pages = page["next"], pages + 1
        if pages == 1:  # a new event arriving meanwhile does not shift the older pages
            record_events(api, 1, time.time(), tie_every=0)
    assert seen == newest_first and pages == 6

    page = c.get("/api/v1/events?entrance=main&limit=4", headers=h).json()
    again = c.get(
        f"/api/v1/events?entrance=main&limit=4&cursor={page['next_cursor']}", headers=h
    ).json()
    assert [e["id"] for e in again["items"]] == newest_first[3:7]  # the new one is first
    r = c.get("/api/v1/events?cursor=not-a-cursor", headers=h)
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"
    assert c.get("/api/v1/events?limit=1001", headers=h).status_code == 422
    assert c.get("/api/v1/events?limit=0", headers=h).status_code == 422
