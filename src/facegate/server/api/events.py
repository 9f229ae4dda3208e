"""Door events, read from the runtime journal the entrances write (one journal per server),
a page at a time (`services.event_page`, which the UI's event log uses too), and the audit
log of administrative changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from facegate.runtime.events import Decision
from facegate.server.api.errors import ApiError
from facegate.server.db.models import AuditEntry, Resident
from facegate.server.deps import DB, State, Viewer
from facegate.server.schemas import DB_INT, ERRORS, AuditOut, EventOut, EventPage
from facegate.server.services import EventFilter, epoch, event_page

router = APIRouter(tags=["events"], responses={k: ERRORS[k] for k in (401, 403, 503)})
SNAPSHOT = re.compile(r"^\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.jpg$")
PREFIX = "/api/v1/snapshots/"
MAX_PAGE = 1000


def event_out(d: dict) -> EventOut:
    return EventOut(
        id=d["id"],
        time=datetime.fromtimestamp(d["time"], UTC),
        entrance=d["entrance"],
        decision=d["decision"],
        person=d["person"],
        person_id=d["person_id"],
        reason=d["reason"],
        track=d["track"],
        scores=d["scores"],
        liveness=d["liveness"],
        time_to_open_ms=d["time_to_open_ms"],
        snapshot_url=PREFIX + d["snapshot"] if d["snapshot"] else None,
    )


@router.get("/events", response_model=EventPage, responses={400: ERRORS[400], 404: ERRORS[404]})
def list_events(
    request: Request,
    state: State,
    session: DB,
    who: Viewer,
    entrance: Annotated[str | None, Query(max_length=128)] = None,
    person: Annotated[str | None, Query(max_length=200, description="name as enrolled")] = None,
    resident_id: Annotated[int | None, Query(ge=1, le=DB_INT)] = None,
    decision: Decision | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="events per page")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> EventPage:
    """Newest first, every given filter applied (times are ISO 8601; naive = UTC), one page
    at a time: follow `next` (or pass `next_cursor` as `cursor`) for older events."""
    if resident_id is not None:
        name = session.scalar(select(Resident.name).where(Resident.id == resident_id))
        if name is None:
            raise ApiError(404, "not_found", f"no resident with id {resident_id}")
        person = name
    session.rollback()
    f = EventFilter(
        entrance=entrance, person=person, decision=decision, since=epoch(since), until=epoch(until)
    )
    rows, next_cursor = event_page(state.journal, f, limit, cursor)
    nxt = None
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        nxt = f"{url.path}?{url.query}"
    return EventPage(
        items=[event_out(d) for d in rows], limit=limit, next_cursor=next_cursor, next=nxt
    )


@router.get(
    "/snapshots/{year}/{month}/{day}/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def snapshot(
    year: Annotated[str, Path(max_length=4)],
    month: Annotated[str, Path(max_length=2)],
    day: Annotated[str, Path(max_length=2)],
    name: Annotated[str, Path(max_length=40)],
    state: State,
    who: Viewer,
) -> FileResponse:
    """The best-shot JPEG of an event (`snapshot_url` of the event)."""
    rel = f"{year}/{month}/{day}/{name}"
    path = state.journal.snapshot_dir / rel
    if not SNAPSHOT.match(rel) or not path.is_file():
        raise ApiError(404, "not_found", "no such snapshot (deleted by retention?)")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    session: DB,
    who: Viewer,
    actor: Annotated[str | None, Query(max_length=160)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntry]:
    """Every administrative change, newest first."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(session.scalars(q))
