"""FastAPI dependencies: the app's state, a DB session per request, the caller and role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from facegate.server.auth import COOKIE, Principal, Role, principal_for_key, principal_for_token
from facegate.server.state import ServerState

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_state(request: Request) -> ServerState:
    return request.app.state.fg


State = Annotated[ServerState, Depends(get_state)]


def client_address(request: Request) -> str:
    """The caller's IP address, as sign-in throttling counts it (behind a reverse proxy,
    uvicorn's --proxy-headers makes this the real client's; see docs/deploy.md)."""
    return request.client.host if request.client else "unknown"


def get_session(state: State) -> Iterator[Session]:
    """One session per request; routes commit explicitly, anything else rolls back."""
    with state.sessions() as session:
        yield session


DB = Annotated[Session, Depends(get_session)]


def get_principal(
    request: Request,
    session: DB,
    token: Annotated[str | None, Security(oauth2)] = None,
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> Principal:
    """Bearer token, X-API-Key, or the web UI's cookie; 401 with a reason otherwise."""
    found = None
    if token and token.startswith("fg_") and not key:  # an API key sent as a bearer token
        found = principal_for_key(session, token)
    if found is None and key:
        found = principal_for_key(session, key)
        if found is None:
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    token = None if found is not None else token or request.cookies.get(COOKIE)
    if found is None and token:
        found = principal_for_token(session, token)
        if found is None:
            raise HTTPException(
                401,
                "token expired or invalid; sign in again",
                headers={"WWW-Authenticate": "Bearer"},
            )
    if found is None:
        raise HTTPException(
            401,
            "not signed in: send a bearer token or X-API-Key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    session.rollback()  # end the read transaction: SQLite writers must not wait for it
    return found


def require(role: Role) -> Callable[..., Principal]:
    def check(p: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not p.allows(role):
            raise HTTPException(403, f"{p.role.value} may not do this; needs {role.value}")
        return p

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
