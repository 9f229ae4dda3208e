"""Server-rendered pages (Jinja2) with a little JS that calls the same REST API.

Pages read through the DB like the API does; every change goes through the API with the
sign-in cookie, so the UI can do nothing an API client with the same role could not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from facegate.server.api.entrances import entrance_out
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

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def _who(request: Request, session: DB) -> Principal | None:
    token = request.cookies.get(COOKIE)
    who = principal_for_token(session, token) if token else None
    session.rollback()
    return who


def _page(request: Request, name: str, who: Principal, **ctx: object) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, "Role": Role, **ctx})


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"who": None, "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: DB, state: State,
          username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          ) -> Response:
    user = authenticate(session, username, password)
    if user is None:
        return templates.TemplateResponse(
            request, "login.html", {"who": None, "error": "Wrong username or password."},
            status_code=401)
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
    ents = [entrance_out(state, e) for e in session.scalars(select(Entrance).order_by(
        Entrance.id))]
    evs = [event_out(d) for d in state.journal.query(limit=10)]
    residents = len(list(session.scalars(select(Resident.id))))
    return _page(request, "dashboard.html", who, entrances=ents, events=evs,
                 residents=residents)


@router.get("/residents", response_class=HTMLResponse)
def residents_page(request: Request, session: DB, q: str = "") -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    stmt = select(Resident).order_by(Resident.name)
    if q:
        like = f"%{q.replace(chr(0), '').lower()}%"
        from sqlalchemy import func, or_

        stmt = stmt.where(or_(func.lower(Resident.name).like(like),
                              func.lower(Resident.apartment).like(like)))
    rows = [resident_out(session, r) for r in session.scalars(stmt.limit(500))]
    return _page(request, "residents.html", who, residents=rows, q=q)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_page(request: Request, resident_id: int, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    r = session.get(Resident, resident_id) if 1 <= resident_id < 2**31 else None
    if r is None:
        return _page(request, "message.html", who, title="Not found",
                     message=f"No resident with id {resident_id}.")
    return _page(request, "resident.html", who, r=resident_out(session, r),
                 photos=list(r.photos))


@router.get("/entrances", response_class=HTMLResponse)
def entrances_page(request: Request, session: DB, state: State) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    ents = [entrance_out(state, e) for e in session.scalars(select(Entrance).order_by(
        Entrance.id))]
    return _page(request, "entrances.html", who, entrances=ents)


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    from facegate.server.db.models import AccessRuleRow

    rules = [rule_out(r) for r in session.scalars(select(AccessRuleRow).order_by(
        AccessRuleRow.id))]
    residents = dict(session.execute(select(Resident.id, Resident.name)).all())
    ents = dict(session.execute(select(Entrance.id, Entrance.name)).all())
    return _page(request, "rules.html", who, rules=rules, residents=residents, entrances=ents)


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, session: DB, state: State, entrance: str = "",
                person: str = "", decision: str = "") -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    from facegate.runtime.events import Decision

    dec = decision if decision in {d.value for d in Decision} else None
    evs = [event_out(d) for d in state.journal.query(
        entrance=entrance or None, person=person or None, decision=dec, limit=200)]
    ents = list(session.scalars(select(Entrance.name).order_by(Entrance.name)))
    return _page(request, "events.html", who, events=evs, entrances=ents,
                 decisions=[d.value for d in Decision],
                 f={"entrance": entrance, "person": person, "decision": decision})


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: DB) -> Response:
    who = _who(request, session)
    if who is None:
        return _login_redirect()
    if not who.allows(Role.ADMIN):
        return _page(request, "message.html", who, title="Admins only",
                     message="Only an admin can manage users and API keys.")
    users = list(session.scalars(select(User).order_by(User.username)))
    keys = list(session.scalars(select(ApiKey).order_by(ApiKey.name)))
    log = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)))
    return _page(request, "users.html", who, users=users, keys=keys, audit=log)
