"""Server-rendered pages (Jinja2) with a little JS that calls the same REST API.

Pages read through the DB like the API does. Changes either go through the API from JS with
the sign-in cookie, or (the entrance settings forms, which work without JS and show their
errors in place) post to this router, which checks the same role and calls the same service
functions as the API (`facegate.server.services`). Either way the UI can do nothing an API
client with the same role could not, and nothing differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from facegate.errors import FaceGateError
from facegate.runtime.events import Decision
from facegate.server import services
from facegate.server.api.entrances import entrance_out
from facegate.server.api.errors import ApiError
from facegate.server.api.events import event_out
from facegate.server.api.residents import _out as resident_out
from facegate.server.api.rules import rule_out
from facegate.server.auth import (
    COOKIE,
    Principal,
    Role,
    authenticate,
    issue_token,
    principal_for_token,
    revoke_token,
)
from facegate.server.db.models import ApiKey, AuditEntry, Entrance, Resident, User
from facegate.server.deps import DB, State, audit
from facegate.server.state import ServerState
from facegate.server.ui.forms import (
    CONFIRM_BY,
    DOOR_KINDS,
    LIVENESS_CHOICES,
    PACES,
    UNDECIDED,
    EntranceForm,
    FormError,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def _who(request: Request, session: DB) -> Principal | None:
    token = request.cookies.get(COOKIE)
    who = principal_for_token(session, token) if token else None
    session.rollback()
    return who


def _page(
    request: Request, name: str, who: Principal, status_code: int = 200, **ctx: object
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"who": who, "Role": Role, **ctx}, status_code=status_code
    )


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


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
    user = authenticate(session, username, password)
    if user is None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"who": None, "error": "Wrong username or password."},
            status_code=401,
        )
    ttl = state.config.server.token_ttl_h
    token = issue_token(session, user, ttl)
    audit(session, f"user:{user.username}", "sign_in", via="ui")
    session.commit()
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(COOKIE, token, max_age=int(ttl * 3600), httponly=True, samesite="strict")
    return resp


@router.get("/logout")
def logout(request: Request, session: DB) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        revoke_token(session, token)
        session.commit()
    resp = _login_redirect()
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DB, state: State) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    ents = [entrance_out(state, e) for e in session.scalars(select(Entrance).order_by(Entrance.id))]
    evs = [event_out(d) for d in state.journal.query(limit=10)]
    residents = len(list(session.scalars(select(Resident.id))))
    return _page(request, "dashboard.html", who, entrances=ents, events=evs, residents=residents)


@router.get("/residents", response_class=HTMLResponse)
def residents_page(request: Request, session: DB, q: str = "") -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    stmt = select(Resident).order_by(Resident.name)
    if q:
        like = f"%{q.replace(chr(0), '').lower()}%"
        from sqlalchemy import func, or_

        stmt = stmt.where(
            or_(func.lower(Resident.name).like(like), func.lower(Resident.apartment).like(like))
        )
    rows = [resident_out(session, r) for r in session.scalars(stmt.limit(500))]
    return _page(request, "residents.html", who, residents=rows, q=q)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_page(request: Request, resident_id: int, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    r = session.get(Resident, resident_id) if 1 <= resident_id < 2**31 else None
    if r is None:
        return _page(
            request,
            "message.html",
            who,
            title="Not found",
            message=f"No resident with id {resident_id}.",
        )
    return _page(request, "resident.html", who, r=resident_out(session, r), photos=list(r.photos))


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
    ents = [entrance_out(state, e) for e in session.scalars(select(Entrance).order_by(Entrance.id))]
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


def _refusal(exc: Exception) -> tuple[int, list[str]]:
    """Why a change was refused, for the form: never a 500 page for a person's input."""
    if isinstance(exc, FormError):
        return 422, exc.messages
    if isinstance(exc, ApiError):
        return exc.status, [exc.message]
    if isinstance(exc, IntegrityError):
        return 409, ["that name is in use by another entrance"]
    if isinstance(exc, OperationalError):
        return 503, ["the database is busy or unavailable; nothing was changed, try again"]
    assert isinstance(exc, FaceGateError)
    return 400, [str(exc)]


_REFUSED = (FormError, ApiError, IntegrityError, OperationalError, FaceGateError)


@router.post("/entrances", response_class=HTMLResponse)
def add_entrance(
    request: Request, session: DB, state: State, form: Annotated[EntranceForm, Form()]
) -> Response:
    """The add form: `services.create_entrance`, as `POST /api/v1/entrances`."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.OPERATOR):
        return _page(
            request,
            "message.html",
            who,
            403,
            title="Operators only",
            message="Only an operator or an admin can add or change entrances.",
        )
    try:
        row = services.create_entrance(session, state, who, form.create_body(state.config.runtime))
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
    """An entrance's settings form: `services.update_entrance`, as `PATCH` in the API; the
    runtime restarts with the new settings."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.OPERATOR):
        return _page(
            request,
            "message.html",
            who,
            403,
            title="Operators only",
            message="Only an operator or an admin can add or change entrances.",
        )
    row = session.get(Entrance, entrance_id) if 1 <= entrance_id < 2**31 else None
    if row is None:
        return _page(
            request,
            "message.html",
            who,
            404,
            title="Not found",
            message=f"No entrance with id {entrance_id}.",
        )
    try:
        body = form.update_body(entrance_out(state, row))
        services.update_entrance(session, state, who, entrance_id, body)
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


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    from facegate.server.db.models import AccessRuleRow

    rules = [rule_out(r) for r in session.scalars(select(AccessRuleRow).order_by(AccessRuleRow.id))]
    residents = dict(session.execute(select(Resident.id, Resident.name)).all())
    ents = dict(session.execute(select(Entrance.id, Entrance.name)).all())
    return _page(request, "rules.html", who, rules=rules, residents=residents, entrances=ents)


EVENTS_PER_PAGE = 50


@router.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    session: DB,
    state: State,
    entrance: str = "",
    person: str = "",
    decision: str = "",
    cursor: str = "",
) -> Response:
    """The event log a page at a time (`services.event_page`, as `GET /api/v1/events`)."""
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    dec = Decision(decision) if decision in {d.value for d in Decision} else None
    f = services.EventFilter(entrance=entrance or None, person=person or None, decision=dec)
    error = None
    try:
        rows, next_cursor = services.event_page(state.journal, f, EVENTS_PER_PAGE, cursor or None)
    except ApiError as exc:  # a hand-edited page link
        rows, next_cursor, error = [], None, exc.message
    ents = list(session.scalars(select(Entrance.name).order_by(Entrance.name)))
    filters = {"entrance": entrance, "person": person, "decision": decision}
    kept = {k: v for k, v in filters.items() if v}
    older = f"/events?{urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None
    newest = f"/events?{urlencode(kept)}" if cursor else None
    return _page(
        request,
        "events.html",
        who,
        400 if error else 200,
        events=[event_out(d) for d in rows],
        entrances=ents,
        decisions=[d.value for d in Decision],
        f=filters,
        older=older,
        newest=newest,
        error=error,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.ADMIN):
        return _page(
            request,
            "message.html",
            who,
            title="Admins only",
            message="Only an admin can manage users and API keys.",
        )
    users = list(session.scalars(select(User).order_by(User.username)))
    keys = list(session.scalars(select(ApiKey).order_by(ApiKey.name)))
    log = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)))
    return _page(request, "users.html", who, users=users, keys=keys, audit=log)
