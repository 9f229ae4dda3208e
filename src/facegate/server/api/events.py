"""Door events, read from the runtime journal the entrances write (one journal per server),
a page at a time (`operations.events`, which the UI's event log uses too), and the audit
log of administrative changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from facegate.runtime.events import Decision
from facegate.server.deps import DB, State, Viewer
from facegate.server.i18n import COOKIE as LANG_COOKIE
from facegate.server.i18n import Translator, negotiate
from facegate.server.operations import event_export, events
from facegate.server.schemas import DB_INT, ERRORS, AuditOut, EventPage

router = APIRouter(tags=["events"], responses={k: ERRORS[k] for k in (401, 403, 503)})
MAX_PAGE = 1000


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
    f = events.EventFilter(
        entrance=entrance,
        person=person,
        decision=decision,
        since=events.epoch(since),
        until=events.epoch(until),
    )
    items, next_cursor = events.list_events(
        session, state.journal, f, limit, cursor, resident_id=resident_id
    )
    nxt = None
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        nxt = f"{url.path}?{url.query}"
    return EventPage(items=items, limit=limit, next_cursor=next_cursor, next=nxt)


@router.get(
    "/events.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 404: ERRORS[404]},
)
def events_csv(
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
) -> StreamingResponse:
    """The events `GET /events` would list with these filters, all of them (up to
    100,000, newest first) as CSV: times in the site's zone (`server.timezone`) with their
    offset, a plain-language `what happened` in the language of `Accept-Language` (or the
    UI's language cookie), and the engineer's `reason` and `scores`. Cells that start with
    = + - @ are prefixed with an apostrophe, so a spreadsheet never runs them."""
    f = events.EventFilter(
        entrance=entrance,
        person=person,
        decision=decision,
        since=events.epoch(since),
        until=events.epoch(until),
    )
    lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
    zone = ZoneInfo(state.config.server.timezone)
    chunks = event_export.events_csv(
        session, state.journal, f, zone, Translator(lang), resident_id=resident_id
    )
    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        (c.encode() for c in chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="facegate-events-{stamp}.csv"'},
    )


@router.get(
    "/snapshots/{year}/{month}/{day}/{name}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def snapshot(
    year: Annotated[str, Path(max_length=4)],
    month: Annotated[str, Path(max_length=2)],
    day: Annotated[str, Path(max_length=2)],
    name: Annotated[str, Path(max_length=40)],
    state: State,
    who: Viewer,
) -> Response:
    """The best-shot JPEG of an event (`snapshot_url` of the event)."""
    jpeg = events.snapshot_jpeg(state.journal, f"{year}/{month}/{day}/{name}")
    return Response(jpeg, media_type="image/jpeg")


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    session: DB,
    who: Viewer,
    actor: Annotated[str | None, Query(max_length=160)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """Every administrative change, newest first."""
    return events.audit_log(session, actor, action, limit)
