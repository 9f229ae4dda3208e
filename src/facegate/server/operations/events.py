"""Door events, read from the runtime journal the entrances write (one journal per server),
a page at a time, and the audit log of administrative changes."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from facegate.runtime.events import Decision
from facegate.runtime.journal import Journal
from facegate.server.db.models import AuditEntry, Resident
from facegate.server.errors import BadCursor, NotFound
from facegate.server.operations import audit_text, device_events
from facegate.server.operations.event_text import describe_event
from facegate.server.schemas import AuditOut, EventOut

SNAPSHOT = re.compile(r"^\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.jpg$")
SNAPSHOT_URL = "/api/v1/snapshots/"  # where the API serves `snapshot_path`


def event_out(d: dict[str, Any]) -> EventOut:
    """A journal row as the API shows it, with its plain-language `summary`."""
    return EventOut(
        id=d["id"],
        time=datetime.fromtimestamp(d["time"], UTC),
        entrance=d["entrance"],
        decision=d["decision"],
        person=d["person"],
        person_id=d["person_id"],
        reason=d["reason"],
        summary=describe_event(d),
        track=d["track"],
        scores=d["scores"],
        liveness=d["liveness"],
        time_to_open_ms=d["time_to_open_ms"],
        door=d.get("door"),
        snapshot_url=SNAPSHOT_URL + d["snapshot"] if d["snapshot"] else d.get("snapshot_url"),
        device=d.get("device"),
    )


@dataclass(frozen=True)
class EventFilter:
    """The event log's filters (times as epoch seconds, as the journal keeps them)."""

    entrance: str | None = None
    person: str | None = None
    decision: Decision | None = None
    since: float | None = None
    until: float | None = None


def epoch(d: datetime | None) -> float | None:
    """A filter time as the journal's epoch seconds; a naive time is UTC."""
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def _key(event: dict[str, Any]) -> tuple[float, int, int]:
    """An event's place in the merged log: (time, source, id), source 0 for the journal
    and 1 for device events (`operations.device_events`)."""
    return float(event["time"]), int(event.get("source", 0)), int(event["id"])


def encode_cursor(event: dict[str, Any]) -> str:
    """The position after `event` in newest-first order: its exact time, source and id."""
    t, source, ident = _key(event)
    raw = f"{t!r}/{source}/{ident}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int, int]:
    """(time, source, id); a cursor of an older server (time/id) is a journal position."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("/")
        if len(parts) == 2:
            parts.insert(1, "0")
        t, s, i = parts
        when, source, ident = float(t), int(s), int(i)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadCursor(
            "the cursor is not one this server handed out; start again from the first page"
        ) from None
    if when != when or when in (float("inf"), float("-inf")) or source not in (0, 1):
        raise BadCursor("the cursor is not one this server handed out")
    return when, source, ident


def event_page(
    journal: Journal,
    f: EventFilter,
    limit: int,
    cursor: str | None = None,
    devices: Engine | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of events, newest first, older than `cursor`, and the next page's cursor.

    The journal's events and, with `devices` (the server database), those edge devices
    sent up are merged on (time, source, id) descending; the page continues strictly
    after the cursor's position, so events that arrive meanwhile, or share a time, are
    neither repeated nor skipped, in either source.
    """
    after = decode_cursor(cursor) if cursor else None
    rows = _journal_rows(journal, f, limit + 1, after)
    if devices is not None:
        rows = sorted(
            rows + device_events.page(devices, f, limit + 1, after), key=_key, reverse=True
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def _journal_rows(
    journal: Journal, f: EventFilter, limit: int, position: tuple[float, int, int] | None
) -> list[dict[str, Any]]:
    """Up to `limit` journal events strictly after `position` in the merged order (at
    one time, device events come first: a device position has every journal event of
    its time still ahead)."""
    after = None
    if position is not None:
        t, source, ident = position
        after = (t, ident if source == 0 else float("inf"))
    until = f.until
    if after is not None:
        until = after[0] if until is None else min(until, after[0])
    skip = 0
    while True:
        want = limit + 1 + skip
        rows = journal.query(
            entrance=f.entrance,
            person=f.person,
            decision=f.decision,
            since=f.since,
            until=until,
            limit=want,
        )
        # rows at the cursor's very time that it already covered come first: drop them
        drop = 0
        if after is not None:
            while drop < len(rows) and (rows[drop]["time"], rows[drop]["id"]) >= after:
                drop += 1
        if len(rows) < want or len(rows) - drop >= limit:
            break
        skip = drop  # > the previous skip: every round fetches more, so this ends
    return rows[drop:][:limit]


def resolve_resident(session: Session, f: EventFilter, resident_id: int | None) -> EventFilter:
    """`f` filtered by the resident's current name (`NotFound` when there is none)."""
    if resident_id is None:
        return f
    name = session.scalar(select(Resident.name).where(Resident.id == resident_id))
    if name is None:
        raise NotFound.of("resident", resident_id)
    return EventFilter(f.entrance, name, f.decision, f.since, f.until)


def list_events(
    session: Session,
    journal: Journal,
    f: EventFilter,
    limit: int,
    cursor: str | None = None,
    resident_id: int | None = None,
) -> tuple[list[EventOut], str | None]:
    """`event_page` as response models; `resident_id` filters by that resident's name (the
    journal keeps names as enrolled), `NotFound` when there is no such resident."""
    f = resolve_resident(session, f, resident_id)
    session.rollback()  # the journal is read with no database transaction open
    rows, next_cursor = event_page(journal, f, limit, cursor, devices=session.get_bind())
    return [event_out(d) for d in rows], next_cursor


def latest_events(journal: Journal, n: int, devices: Engine | None = None) -> list[EventOut]:
    """The `n` newest events, with `devices` (the server database) those of edge devices
    merged in as on the event log (`event_page`): the dashboard's "last events"."""
    rows, _ = event_page(journal, EventFilter(), n, None, devices=devices)
    return [event_out(d) for d in rows]


def snapshot_jpeg(journal: Journal, rel: str) -> bytes:
    """The best-shot JPEG of an event, by the path after `SNAPSHOT_URL`, opened by the
    journal's vault (the file on disk is sealed)."""
    if not SNAPSHOT.match(rel):
        raise NotFound("no such snapshot (deleted by retention?)")
    try:
        return journal.read_snapshot(rel)
    except OSError:
        raise NotFound("no such snapshot (deleted by retention?)") from None


def audit_log(
    session: Session, actor: str | None = None, action: str | None = None, limit: int = 200
) -> list[AuditOut]:
    """Every administrative change, newest first, each with its sentence (`summary`, in
    English: the UI says it again in the reader's language with `audit_text.describe`)."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        q = q.where(AuditEntry.action == action)
    entries = [AuditOut.model_validate(a) for a in session.scalars(q)]
    names = audit_text.names_for(session, entries)
    return [e.model_copy(update={"summary": audit_text.describe(e, names)}) for e in entries]
