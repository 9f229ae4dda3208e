"""The Users page (admins): users, API keys with their expiry and last use, and the audit
log in sentences (`operations.audit_text`), each with the stored entry one click away."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from facegate.server.auth import Role
from facegate.server.deps import DB
from facegate.server.i18n import Translator
from facegate.server.operations import audit_text, events, users
from facegate.server.operations.event_text import N_
from facegate.server.ui.common import language, login_redirect, page, who_of

router = APIRouter(include_in_schema=False)
AUDIT_ROWS = 50


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: DB) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    if not who.allows(Role.ADMIN):
        return page(
            request,
            "message.html",
            who,
            title=N_("Admins only"),
            message=N_("Only an admin can manage users and API keys."),
        )
    entries = events.audit_log(session, limit=AUDIT_ROWS)
    names = audit_text.names_for(session, entries)
    _ = Translator(language(request))
    return page(
        request,
        "users.html",
        who,
        users=users.list_users(session),
        keys=users.list_keys(session),
        audit=[(a, audit_text.describe(a, names, _)) for a in entries],
    )
