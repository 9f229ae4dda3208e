"""The event log: filtered by dates (in the site's zone), entrance, person and decision, a
page at a time (`operations.events.list_events`, as `GET /api/v1/events`), each event as a
sentence with the engineer's detail one click away, and a link to the same events as CSV
(`GET /api/v1/events.csv`, the same filters)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from facegate.runtime.events import Decision
from facegate.server.deps import DB, State
from facegate.server.errors import BadCursor
from facegate.server.i18n import Translator
from facegate.server.operations import entrances, events, residents
from facegate.server.operations.event_export import day_bounds
from facegate.server.operations.event_text import describe_event
from facegate.server.ui.common import language, login_redirect, page, site_zone, who_of

router = APIRouter(include_in_schema=False)
EVENTS_PER_PAGE = 50


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


def decision_names(_: Translator) -> dict[str, str]:
    """The decision filter's choices, in words."""
    return {
        Decision.OPEN.value: _("Door opened"),
        Decision.OPEN_FAILED.value: _("Door did not open"),
        Decision.DENY.value: _("Recognised, not let in"),
        Decision.UNKNOWN.value: _("Unknown visitor"),
        Decision.SOURCE_LOST.value: _("Camera lost"),
        Decision.SOURCE_RESTORED.value: _("Camera back"),
        Decision.DOOR_ERROR.value: _("Door error"),
    }


@router.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    session: DB,
    state: State,
    entrance: str = "",
    person: str = "",
    decision: str = "",
    start: str = "",
    end: str = "",
    cursor: str = "",
) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    _ = Translator(language(request))
    zone = site_zone(request)
    dec = Decision(decision) if decision in {d.value for d in Decision} else None
    first, last = _day(start), _day(end)
    since, until = day_bounds(first, last, zone)
    f = events.EventFilter(
        entrance=entrance or None,
        person=person or None,
        decision=dec,
        since=since,
        until=until,
    )
    error = None
    if (start and first is None) or (end and last is None):
        error = _("Dates are written as YYYY-MM-DD.")
    try:
        rows, next_cursor = events.list_events(
            session, state.journal, f, EVENTS_PER_PAGE, cursor or None
        )
    except BadCursor as exc:  # a hand-edited page link
        rows, next_cursor, error = [], None, str(exc)
    filters = {
        "start": first.isoformat() if first else "",
        "end": last.isoformat() if last else "",
        "entrance": entrance,
        "person": person,
        "decision": dec.value if dec else "",
    }
    kept = {k: v for k, v in filters.items() if v}
    older = f"/events?{urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None
    newest = f"/events?{urlencode(kept)}" if cursor else None
    api_filters = {
        "entrance": f.entrance,
        "person": f.person,
        "decision": dec.value if dec else None,
        "since": _iso(since),
        "until": _iso(until),
    }
    csv_url = "/api/v1/events.csv?" + urlencode({k: v for k, v in api_filters.items() if v})
    return page(
        request,
        "events.html",
        who,
        400 if error else 200,
        events=[(e, describe_event(e, _)) for e in rows],
        entrances=entrances.sorted_names(session),
        people=sorted(residents.resident_names(session).values()),
        decisions=decision_names(_),
        f=filters,
        older=older,
        newest=newest,
        csv_url=csv_url,
        error=error,
    )
