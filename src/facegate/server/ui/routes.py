"""Server-rendered pages (Jinja2) with a little JS that calls the same REST API.

Pages read through the same operations as the API (`facegate.server.operations`). Changes
either go through the API from JS with the sign-in cookie, or (the entrance settings forms,
which work without JS and show their errors in place) post to this router, which checks the
same role and calls the same operations as the API. Either way the UI can do nothing an API
client with the same role could not, and nothing differently. A refusal
(`facegate.server.errors`) becomes a message next to the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError

from facegate.errors import FaceGateError
from facegate.server.auth import COOKIE, Principal, Role
from facegate.server.deps import DB, State, client_address
from facegate.server.errors import BadCredentials, Conflict, Forbidden, NotFound, TooManyAttempts
from facegate.server.operations import entrances, users
from facegate.server.operations.event_text import N_
from facegate.server.state import ServerState
from facegate.server.ui.common import login_redirect, page, templates, who_of
from facegate.server.ui.door_fields import DOOR_FIELDS, KIND_WORDS
from facegate.server.ui.forms import (
    CONFIRM_BY,
    DOOR_KINDS,
    LIVENESS_CHOICES,
    PACES,
    UNDECIDED,
    EntranceForm,
    FormError,
)
from facegate.server.ui.pages import dashboard, language
from facegate.server.ui.pages import devices as devices_pages
from facegate.server.ui.pages import events as events_pages
from facegate.server.ui.pages import residents as residents_pages
from facegate.server.ui.pages import rules as rules_pages
from facegate.server.ui.pages import users as users_pages
from facegate.server.ui.presets import PRESETS
from facegate.server.ui.presets import SOURCE as PRESET_SOURCE

router = APIRouter(include_in_schema=False)
_who, _page, _login_redirect = who_of, page, login_redirect


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"who": None, "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DB,
    state: State,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    sc = state.config.server
    client = client_address(request)
    try:
        s = users.sign_in(session, username, password, sc.token_ttl_h, sc.sign_in, client, via="ui")
    except BadCredentials:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"who": None, "error": N_("Wrong username or password.")},
            status_code=401,
        )
    except TooManyAttempts as exc:  # the password was not checked
        return templates.TemplateResponse(
            request,
            "login.html",
            {"who": None, "error": N_("Sign-in refused: {why}."), "args": {"why": str(exc)}},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    resp = RedirectResponse("/", status_code=303)
    # Secure when the browser came over TLS (behind a proxy: uvicorn --proxy-headers)
    resp.set_cookie(
        COOKIE,
        s.token,
        max_age=int(s.ttl_h * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return resp


@router.get("/logout", response_class=HTMLResponse)
def logout_page(request: Request, session: DB) -> Response:
    """A page with the sign-out button, and nothing else: a GET changes no state, so an
    <img src=/logout> on another site cannot sign anyone out (the sign-out is the POST)."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    return _page(request, "logout.html", who)


@router.post("/logout")
def logout(request: Request, session: DB) -> Response:
    """Revokes the session token and drops the cookie. A POST with the cookie passes the
    Origin check of `web_security` like every other change, so only this server's own
    pages (the header's button) can sign a browser out."""
    token = request.cookies.get(COOKIE)
    if token:
        users.sign_out(session, token)
    resp = _login_redirect()
    resp.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return resp


def _entrances_page(
    request: Request,
    session: DB,
    state: ServerState,
    who: Principal,
    *,
    key: str | None = None,
    form: EntranceForm | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
    saved: int | None = None,
) -> HTMLResponse:
    """Every entrance with its settings form, and the add form; `key` ("new" or an id) is
    the form that was just submitted, shown again with what was typed and its errors."""
    session.rollback()  # a refused change leaves nothing behind
    ents = entrances.list_entrances(session, state)
    forms = {str(e.id): EntranceForm.of(e) for e in ents}
    forms["new"] = EntranceForm.new(state.config.runtime)
    if key is not None and form is not None:
        forms[key] = form
    return _page(
        request,
        "entrances.html",
        who,
        status_code,
        entrances=ents,
        forms=forms,
        errors={key: errors} if key and errors else {},
        saved=saved,
        door_kinds=DOOR_KINDS,
        door_fields=DOOR_FIELDS,
        kind_words=KIND_WORDS,
        presets=PRESETS,
        preset_source=PRESET_SOURCE,
        paces=PACES,
        liveness_choices=LIVENESS_CHOICES,
        confirm_by=CONFIRM_BY,
        undecided=UNDECIDED,
    )


@router.get("/entrances", response_class=HTMLResponse)
def entrances_page(
    request: Request,
    session: DB,
    state: State,
    saved: int | None = None,
) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    return _entrances_page(request, session, state, who, saved=saved)


_STATUS = ((NotFound, 404), (Conflict, 409), (Forbidden, 403))  # the page's; else 400


def _refusal(exc: Exception) -> tuple[int, list[str]]:
    """Why a change was refused, for the form: never a 500 page for a person's input."""
    if isinstance(exc, FormError):
        return 422, exc.messages
    if isinstance(exc, IntegrityError):
        return 409, ["that name is in use by another entrance"]
    if isinstance(exc, OperationalError):
        return 503, ["the database is busy or unavailable; nothing was changed, try again"]
    assert isinstance(exc, FaceGateError)
    return next((s for kind, s in _STATUS if isinstance(exc, kind)), 400), [str(exc)]


_REFUSED = (FormError, IntegrityError, OperationalError, FaceGateError)


@router.post("/entrances", response_class=HTMLResponse)
def add_entrance(
    request: Request, session: DB, state: State, form: Annotated[EntranceForm, Form()]
) -> Response:
    """The add form: `operations.entrances.create_entrance`, as `POST /api/v1/entrances`."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.OPERATOR):
        return _page(
            request,
            "message.html",
            who,
            403,
            title=N_("Operators only"),
            message=N_("Only an operator or an admin can add or change entrances."),
        )
    try:
        row = entrances.create_entrance(session, state, who, form.create_body(state.config.runtime))
    except _REFUSED as exc:
        status, errors = _refusal(exc)
        return _entrances_page(
            request, session, state, who, key="new", form=form, errors=errors, status_code=status
        )
    return RedirectResponse(f"/entrances?saved={row.id}#entrance-{row.id}", status_code=303)


@router.post("/entrances/{entrance_id}", response_class=HTMLResponse)
def edit_entrance(
    request: Request,
    entrance_id: int,
    session: DB,
    state: State,
    form: Annotated[EntranceForm, Form()],
) -> Response:
    """An entrance's settings form: `operations.entrances.update_entrance`, as `PATCH` in the
    API; the runtime restarts with the new settings."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.OPERATOR):
        return _page(
            request,
            "message.html",
            who,
            403,
            title=N_("Operators only"),
            message=N_("Only an operator or an admin can add or change entrances."),
        )
    try:
        stored = entrances.get_entrance(session, state, entrance_id)
    except NotFound:
        return _page(
            request,
            "message.html",
            who,
            404,
            title=N_("Not found"),
            message=N_("No entrance with id {id}."),
            args={"id": entrance_id},
        )
    try:
        body = form.update_body(stored)
        entrances.update_entrance(session, state, who, entrance_id, body)
    except _REFUSED as exc:
        status, errors = _refusal(exc)
        return _entrances_page(
            request,
            session,
            state,
            who,
            key=str(entrance_id),
            form=form,
            errors=errors,
            status_code=status,
        )
    return RedirectResponse(
        f"/entrances?saved={entrance_id}#entrance-{entrance_id}", status_code=303
    )


for _pages in (
    dashboard.router,
    events_pages.router,
    language.router,
    residents_pages.router,
    rules_pages.router,
    users_pages.router,
    devices_pages.router,
):
    router.include_router(_pages)
