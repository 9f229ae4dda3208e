"""Sign-in: OAuth2 password form -> bearer token (the UI keeps the same token in a cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from facegate.server.auth import Principal
from facegate.server.deps import DB, State, Viewer, get_principal
from facegate.server.operations import users
from facegate.server.schemas import ERRORS, Me, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"], responses={401: ERRORS[401]})


@router.post("/token", response_model=TokenOut)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DB, state: State
) -> TokenOut:
    """Exchange a username and password for a bearer token."""
    s = users.sign_in(session, form.username, form.password, state.config.server.token_ttl_h)
    return TokenOut(access_token=s.token, expires_in=int(s.ttl_h * 3600), role=s.role)


@router.post("/logout", status_code=204)
def logout(
    request: Request, session: DB, who: Annotated[Principal, Depends(get_principal)]
) -> None:
    """End this token's session (API keys stay valid)."""
    auth = request.headers.get("authorization", "")
    value = (
        auth[7:] if auth.lower().startswith("bearer ") else request.cookies.get("facegate_token")
    )
    if value:
        users.sign_out(session, value)


@router.get("/me", response_model=Me)
def me(who: Viewer) -> Me:
    """Who the token or key belongs to, and its role."""
    return Me(name=who.name, role=who.role)
