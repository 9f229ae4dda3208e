"""Sign-in: OAuth2 password form -> bearer token (the UI keeps the same token in a cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from facegate.server.auth import Principal
from facegate.server.deps import DB, State, Viewer, client_address, get_principal
from facegate.server.operations import users
from facegate.server.schemas import ERRORS, Me, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"], responses={401: ERRORS[401]})


@router.post("/token", response_model=TokenOut, responses={429: ERRORS[429]})
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DB,
    state: State,
) -> TokenOut:
    """Exchange a username (any case) and password for a bearer token. After too many
    failures: 429 with Retry-After (`server.sign_in`), the password not even checked."""
    sc = state.config.server
    s = users.sign_in(
        session, form.username, form.password, sc.token_ttl_h, sc.sign_in, client_address(request)
    )
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
