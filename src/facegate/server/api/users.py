"""Users and API keys: admins only (operators cannot manage users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import delete, func, select

from facegate.server.api.errors import ApiError, not_found
from facegate.server.auth import Role, digest, hash_password, new_api_key
from facegate.server.db.models import ApiKey, AuthToken, User
from facegate.server.deps import DB, Admin, audit
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
def list_users(session: DB, who: Admin) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("/users", response_model=UserOut, status_code=201, responses={409: ERRORS[409]})
def create_user(body: UserIn, session: DB, who: Admin) -> User:
    if session.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise ApiError(409, "duplicate_name", f"user {body.username!r} exists already")
    user = User(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role.value,
        active=True,
    )
    session.add(user)
    session.flush()
    audit(session, who, "user_create", f"user:{user.username}", role=body.role.value)
    session.commit()
    return user


def _last_admin(session: DB, user: User) -> bool:
    admins = session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active)
    )
    return user.role == Role.ADMIN.value and user.active and admins <= 1


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def update_user(user_id: Id, body: UserUpdate, session: DB, who: Admin) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    demotes = (body.role not in (None, Role.ADMIN)) or body.active is False
    if demotes and _last_admin(session, user):
        raise ApiError(409, "last_admin", "this is the only active admin; make another admin first")
    changed = []
    if body.password is not None:
        user.password_hash = hash_password(body.password)
        session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
        changed.append("password")
    if body.role is not None:
        user.role = body.role.value
        changed.append("role")
    if body.active is not None:
        user.active = body.active
        changed.append("active")
    audit(
        session,
        who,
        "user_update",
        f"user:{user.username}",
        fields=changed,
        role=body.role.value if body.role else None,
        active=body.active,
    )
    session.commit()
    return user


@router.delete("/users/{user_id}", status_code=204, responses={404: ERRORS[404], 409: ERRORS[409]})
def delete_user(user_id: Id, session: DB, who: Admin) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    if _last_admin(session, user):
        raise ApiError(409, "last_admin", "cannot delete the only active admin")
    audit(session, who, "user_delete", f"user:{user.username}")
    session.delete(user)
    session.commit()


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_keys(session: DB, who: Admin) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


@router.post(
    "/api-keys", response_model=ApiKeyCreated, status_code=201, responses={409: ERRORS[409]}
)
def create_key(body: ApiKeyIn, session: DB, who: Admin) -> ApiKeyCreated:
    """A key for an integration; the key itself is in this response only."""
    if session.scalar(select(ApiKey.id).where(ApiKey.name == body.name)) is not None:
        raise ApiError(409, "duplicate_name", f"an API key named {body.name!r} exists")
    key = new_api_key()
    row = ApiKey(name=body.name, key_hash=digest(key), prefix=key[:8], role=body.role.value)
    session.add(row)
    session.flush()
    audit(session, who, "api_key_create", f"key:{row.name}", role=body.role.value)
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete("/api-keys/{key_id}", status_code=204, responses={404: ERRORS[404]})
def delete_key(key_id: Id, session: DB, who: Admin) -> None:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("API key", key_id)
    audit(session, who, "api_key_delete", f"key:{row.name}")
    session.delete(row)
    session.commit()
