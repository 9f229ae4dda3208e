"""The dashboard: a card per entrance (its camera's newest frame, its state in words,
today's opens, refusals and unknown visitors, its last visitor), alerts for entrances that
need someone, and the last events. The page is rendered once; `static/app.js` then
refreshes the pictures every ~2 s (`GET /api/v1/entrances/{id}/frame.jpg`) and polls
`/dashboard.json` (the same `operations.dashboard.dashboard`, the last events as the
page's own HTML) every 5 s, so nothing reloads the page. Events edge devices sent up are
shown with the journal's (`operations.events.latest_events`), each with its device."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from facegate.server.deps import DB, State
from facegate.server.i18n import Translator
from facegate.server.operations import dashboard as dash
from facegate.server.operations import events, invites
from facegate.server.operations.event_text import describe_event
from facegate.server.ui.common import language, login_redirect, page, site_zone, templates, who_of

router = APIRouter(include_in_schema=False)
LAST_EVENTS = 10


def _last_events(state, _: Translator) -> list:
    """The newest events of the journal and of edge devices, merged as on the event log."""
    rows = events.latest_events(state.journal, LAST_EVENTS, devices=state.db)
    return [(e, describe_event(e, _)) for e in rows]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DB, state: State) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    _ = Translator(language(request))
    d = dash.dashboard(session, state, site_zone(request), _)
    pending = invites.count_pending(session)  # self-enrolment photos to approve
    return page(request, "dashboard.html", who, d=d, events=_last_events(state, _), pending=pending)


@router.get("/dashboard.json")
def dashboard_json(request: Request, session: DB, state: State) -> Response:
    who = who_of(request, session)
    if who is None:
        return JSONResponse({"error": "not_signed_in", "message": "sign in again"}, 401)
    _ = Translator(language(request))
    zone = site_zone(request)
    body = dash.dashboard(session, state, zone, _).to_dict()
    body["events_html"] = templates.env.get_template("_events.html").render(
        events=_last_events(state, _), _=_, tz=zone
    )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
