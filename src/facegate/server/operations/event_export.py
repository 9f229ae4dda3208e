"""The event log as CSV, for a spreadsheet: the filtered events, newest first, with the
plain-language sentence (`event_text.describe`, in the reader's language) next to the
engineer's reason, and times in the site's time zone (`server.timezone`).

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a
formula, and names and reasons come from people: such a cell is written with a leading
apostrophe, which spreadsheets show as text (the OWASP "CSV injection" advice).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from facegate.runtime.journal import Journal
from facegate.server.operations.event_text import ENGLISH, Gettext, describe_event
from facegate.server.operations.events import (
    SNAPSHOT_URL,
    EventFilter,
    event_page,
    resolve_resident,
)
from facegate.server.text import strip_bidi

COLUMNS = (
    "time",
    "entrance",
    "decision",
    "what happened",
    "person",
    "reason",
    "scores",
    "time_to_open_ms",
    "snapshot_url",
    "device",
)
MAX_ROWS = 100_000  # a year of a busy door; past it, narrow the dates
_CHUNK = 1000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, never run as a formula by a spreadsheet."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def day_bounds(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[float | None, float | None]:
    """A range of whole days in the site's zone as the journal's epoch seconds: from the
    start of `first` to the end of `last` (both included)."""
    since = datetime.combine(first, time(), zone).timestamp() if first else None
    until = None
    if last:
        until = datetime.combine(last + timedelta(days=1), time(), zone).timestamp() - 1e-6
    return since, until


def local_time(epoch: float, zone: ZoneInfo) -> str:
    """ISO 8601 with the offset, so the file says which zone its times are in."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone).isoformat(timespec="seconds")


def events_csv(
    session: Session,
    journal: Journal,
    f: EventFilter,
    zone: ZoneInfo,
    _: Gettext = ENGLISH,
    resident_id: int | None = None,
    max_rows: int = MAX_ROWS,
) -> Iterator[str]:
    """The CSV text, a chunk at a time (header first; UTF-8 with a byte-order mark when
    encoded, so spreadsheets read non-Latin names). `NotFound` for an unknown
    `resident_id` is raised here, before the first chunk, so the caller can answer 404."""
    f = resolve_resident(session, f, resident_id)
    session.rollback()  # the journal is read with no database transaction open
    return _rows(journal, f, zone, _, max_rows, session.get_bind())  # type: ignore[arg-type]


def _rows(
    journal: Journal,
    f: EventFilter,
    zone: ZoneInfo,
    _: Gettext,
    max_rows: int,
    devices: Engine | None = None,
) -> Iterator[str]:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    yield "\ufeff" + buf.getvalue()
    cursor: str | None = None
    written = 0
    while written < max_rows:
        rows, cursor = event_page(
            journal, f, min(_CHUNK, max_rows - written), cursor, devices=devices
        )
        buf.seek(0)
        buf.truncate()
        for d in rows:
            out.writerow(
                [
                    local_time(d["time"], zone),
                    safe_cell(d["entrance"]),
                    d["decision"],
                    safe_cell(describe_event(d, _)),
                    safe_cell(strip_bidi(d["person"] or "")),
                    safe_cell(strip_bidi(d["reason"])),
                    json.dumps(d["scores"], sort_keys=True) if d["scores"] else "",
                    "" if d["time_to_open_ms"] is None else f"{d['time_to_open_ms']:.0f}",
                    SNAPSHOT_URL + d["snapshot"] if d["snapshot"] else d.get("snapshot_url") or "",
                    safe_cell(d.get("device") or ""),
                ]
            )
        written += len(rows)
        yield buf.getvalue()
        if cursor is None:
            return
