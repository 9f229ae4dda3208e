"""Users and API keys (`operations.users`): admins only (operators cannot manage users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from facegate.server.deps import DB, Admin
from facegate.server.operations import users
from facegate.server.schemas import (
    DB_INT,
    ERRORS,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    UserIn,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["users"], responses={k: ERRORS[k] for k in (401, 403)})
Id = Annotated[int, Path(ge=1, le=DB_INT)]


@router.get("/users", response_model=list[UserOut])
def list_users(session: DB, who: Admin) -> list[UserOut]:
    return users.list_users(session)


@router.post("/users", response_model=UserOut, status_code=201, responses={409: ERRORS[409]})
def create_user(body: UserIn, session: DB, who: Admin) -> UserOut:
    return users.create_user(session, who, body)


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def update_user(user_id: Id, body: UserUpdate, session: DB, who: Admin) -> UserOut:
    return users.update_user(session, who, user_id, body)


@router.delete("/users/{user_id}", status_code=204, responses={404: ERRORS[404], 409: ERRORS[409]})
def delete_user(user_id: Id, session: DB, who: Admin) -> None:
    users.delete_user(session, who, user_id)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_keys(session: DB, who: Admin) -> list[ApiKeyOut]:
    return users.list_keys(session)


@router.post(
    "/api-keys", response_model=ApiKeyCreated, status_code=201, responses={409: ERRORS[409]}
)
def create_key(body: ApiKeyIn, session: DB, who: Admin) -> ApiKeyCreated:
    """A key for an integration; the key itself is in this response only."""
    return users.create_key(session, who, body)


@router.delete("/api-keys/{key_id}", status_code=204, responses={404: ERRORS[404]})
def delete_key(key_id: Id, session: DB, who: Admin) -> None:
    users.delete_key(session, who, key_id)
