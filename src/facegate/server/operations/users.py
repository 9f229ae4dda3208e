"""Users, API keys and signing in. Managing users and keys is for admins only (operators
cannot); signing in and out is for everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facegate.config import SignInLimits
from facegate.server.auth import (
    Principal,
    Role,
    authenticate,
    digest,
    find_user,
    hash_password,
    issue_token,
    new_api_key,
    revoke_token,
)
from facegate.server.db.models import ApiKey, AuthToken, User, utcnow
from facegate.server.errors import BadCredentials, DuplicateName, Invalid, LastAdmin
from facegate.server.operations import throttle
from facegate.server.operations.common import audit, fetch, require
from facegate.server.passwords import require_strong
from facegate.server.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    UserIn,
    UserOut,
    UserUpdate,
)

# -- signing in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    token: str
    role: Role
    ttl_h: float


def sign_in(
    session: Session,
    username: str,
    password: str,
    ttl_h: float,
    limits: SignInLimits,
    client: str,
    via: str | None = None,
) -> SignedIn:
    """A bearer token (the UI keeps it in a cookie) for a right username (any case) and
    password, else `BadCredentials`; `TooManyAttempts` without looking at the password while
    this client has failed too often (`operations.throttle`). Successes and failures are
    audited with the name tried as actor (never the password), `client` (the IP address)
    and `via` ("ui"); the failure that starts a lock says `locked`."""
    throttle.check(session, limits, username, client)
    user = authenticate(session, username, password)
    if user is None:
        locked = throttle.record_failure(session, limits, username, client)
        tried = throttle.account_key(username)[: 160 - len("user:")]
        audit(
            session,
            f"user:{tried}",
            "sign_in_failed",
            client=client,
            via=via,
            locked=locked or None,
        )
        session.commit()
        raise BadCredentials("wrong username or password")
    throttle.forget(session, username, client)
    token = issue_token(session, user, ttl_h)
    audit(session, f"user:{user.username}", "sign_in", client=client, via=via)
    session.commit()
    return SignedIn(token, Role(user.role), ttl_h)


def sign_out(session: Session, token: str) -> None:
    """End the session of this token (API keys stay valid)."""
    revoke_token(session, token)
    session.commit()


# -- users -----------------------------------------------------------------------------------


def list_users(session: Session) -> list[UserOut]:
    return [
        UserOut.model_validate(u) for u in session.scalars(select(User).order_by(User.username))
    ]


def create_user(session: Session, who: Principal, body: UserIn) -> UserOut:
    require(who, Role.ADMIN)
    clash = find_user(session, body.username)
    if clash is not None:
        raise DuplicateName(
            f"user {clash.username!r} exists already (usernames ignore case)"
            if clash.username != body.username
            else f"user {body.username!r} exists already"
        )
    require_strong(body.password, body.username)
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
    return UserOut.model_validate(user)


def _last_admin(session: Session, user: User) -> bool:
    admins = session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active)
    )
    return user.role == Role.ADMIN.value and user.active and (admins or 0) <= 1


def update_user(session: Session, who: Principal, user_id: int, body: UserUpdate) -> UserOut:
    """A new password ends the user's sessions; the only active admin stays one."""
    require(who, Role.ADMIN)
    user = fetch(session, User, user_id, "user")
    demotes = (body.role not in (None, Role.ADMIN)) or body.active is False
    if demotes and _last_admin(session, user):
        raise LastAdmin("this is the only active admin; make another admin first")
    changed = []
    if body.password is not None:
        require_strong(body.password, user.username)
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
    return UserOut.model_validate(user)


def delete_user(session: Session, who: Principal, user_id: int) -> None:
    require(who, Role.ADMIN)
    user = fetch(session, User, user_id, "user")
    if _last_admin(session, user):
        raise LastAdmin("cannot delete the only active admin")
    audit(session, who, "user_delete", f"user:{user.username}")
    session.delete(user)
    session.commit()


# -- API keys --------------------------------------------------------------------------------


def list_keys(session: Session) -> list[ApiKeyOut]:
    return [
        ApiKeyOut.model_validate(k) for k in session.scalars(select(ApiKey).order_by(ApiKey.name))
    ]


def create_key(session: Session, who: Principal, body: ApiKeyIn) -> ApiKeyCreated:
    """A key for an integration; the key itself is in the result only (its hash is kept)."""
    require(who, Role.ADMIN)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == body.name)) is not None:
        raise DuplicateName(f"an API key named {body.name!r} exists")
    now = utcnow()
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if body.ttl_days is not None:
        expires = now + timedelta(days=body.ttl_days)
    if expires is not None and expires <= now:
        raise Invalid("expires_at is in the past: the key would never work")
    key = new_api_key()
    row = ApiKey(
        name=body.name,
        key_hash=digest(key),
        prefix=key[:8],
        role=body.role.value,
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        who,
        "api_key_create",
        f"key:{row.name}",
        role=body.role.value,
        expires_at=expires.isoformat() if expires else None,
    )
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


def delete_key(session: Session, who: Principal, key_id: int) -> None:
    require(who, Role.ADMIN)
    row = fetch(session, ApiKey, key_id, "API key")
    audit(session, who, "api_key_delete", f"key:{row.name}")
    session.delete(row)
    session.commit()
