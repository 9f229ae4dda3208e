"""The event log as CSV (`GET /api/v1/events.csv`, `operations.event_export`): a header,
one row per filtered event, times in the site's zone, names with commas and quotes kept
whole, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from facegate.runtime.events import Decision, DoorEvent
from facegate.server.operations.event_export import COLUMNS, safe_cell

T0 = datetime(2026, 3, 10, 7, 42, 5, tzinfo=UTC).timestamp()


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # spreadsheets read the UTF-8 names
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_of_the_filtered_events(make_api) -> None:
    api = make_api(timezone="America/New_York")
    j = api.state.journal
    name = 'Lee, Ann "Annie"'
    j.record(
        DoorEvent(
            Decision.OPEN,
            "main",
            f"{name} matched in 3 shots",
            T0,
            person=name,
            scores={"sface": 0.71},
            time_to_open_ms=840.4,
        )
    )
    j.record(DoorEvent(Decision.UNKNOWN, "main", "no resident matched at FMR 1e-05", T0 + 1))
    j.record(DoorEvent(Decision.UNKNOWN, "garage", "elsewhere", T0 + 2))
    r = api.client.get("/api/v1/events.csv?entrance=main", headers=api.viewer)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="facegate-events-')
    rows = rows_of(r.content)
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 3  # the garage's event is filtered out
    newest, opened = (dict(zip(COLUMNS, row, strict=True)) for row in rows[1:])
    assert newest["what happened"] == "Unknown visitor"
    assert opened == {
        "time": "2026-03-10T03:42:05-04:00",  # New York, with its offset
        "entrance": "main",
        "decision": "open",
        "what happened": f"Recognised {name}; door opened",
        "person": name,  # the comma and the quotes survive
        "reason": f"{name} matched in 3 shots",
        "scores": '{"sface": 0.71}',
        "time_to_open_ms": "840",
        "snapshot_url": "",
        "device": "",  # decided in the server, not by an edge device
    }
    since = api.client.get(
        "/api/v1/events.csv", params={"since": "2026-03-10T07:42:06Z"}, headers=api.viewer
    )
    assert len(rows_of(since.content)) == 3  # header, the unknown and the garage's
    assert api.client.get("/api/v1/events.csv").status_code == 401
    assert api.client.get("/api/v1/events.csv?resident_id=999", headers=api.viewer).status_code == (
        404
    )


def test_no_cell_runs_as_a_formula(make_api) -> None:
    api = make_api()
    evil = '=HYPERLINK("http://x","click")'
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "manual open by user:bob: +SUM(1,2)", T0, person=evil)
    )
    api.state.journal.record(DoorEvent(Decision.DOOR_ERROR, "main", "@cmd|' /C calc'!A0", T0 + 1))
    api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", "-2+3", T0 + 2))
    rows = rows_of(api.client.get("/api/v1/events.csv", headers=api.viewer).content)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_decision = {r[2]: dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    assert by_decision["open"]["person"] == "'" + evil
    assert by_decision["door_error"]["reason"] == "'@cmd|' /C calc'!A0"
    assert by_decision["unknown"]["reason"] == "'-2+3"


def test_safe_cell() -> None:
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", None, 3)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
        "a=1",
        "",
        "3",
    ]
