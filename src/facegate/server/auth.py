"""Who is calling: users with roles (password sign-in -> bearer token or UI cookie) and API
keys for integrations. Tokens and keys are random and stored only as SHA-256, so a copy of
the database opens no door; passwords are argon2id hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from facegate.errors import ConfigError
from facegate.server.db.models import ApiKey, AuthToken, User, utcnow
from facegate.server.passwords import password_problem

COOKIE = "facegate_token"
_hasher = PasswordHasher()


class Role(StrEnum):
    """admin: everything; operator: all but users and API keys; viewer: read only."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]


@dataclass(frozen=True)
class Principal:
    """The caller of one request, as named in the audit log."""

    name: str  # "user:ann" or "key:door-app"
    role: Role
    user_id: int | None = None

    def allows(self, needed: Role) -> bool:
        return self.role.rank >= needed.rank


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def find_user(session: Session, username: str) -> User | None:
    """The user of this name, whatever its case ("Ann" signs in as "ann"): usernames are
    unique regardless of case (revision 0003)."""
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = find_user(session, username)
    if user is None or not user.active:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return None
    return user if check_password(user.password_hash, password) else None


def issue_token(session: Session, user: User, ttl_h: float) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(AuthToken).where(AuthToken.expires_at < now))
    session.add(
        AuthToken(
            token_hash=digest(token), user_id=user.id, expires_at=now + timedelta(hours=ttl_h)
        )
    )
    return token


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == digest(token)))


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.execute(
        select(User, AuthToken.expires_at)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(AuthToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    user, expires = row
    if expires < utcnow() or not user.active:
        return None
    return Principal(f"user:{user.username}", Role(user.role), user.id)


KEY_USE_RESOLUTION = timedelta(minutes=1)


def principal_for_key(session: Session, key: str) -> Principal | None:
    """The key's caller, or None for an unknown or expired key. Notes when the key was used,
    at most once a minute per key (a conditional UPDATE, so replicas do not pile up writes):
    a request with a key stays a read almost always. A busy database skips the note."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key)))
    if row is None:
        return None
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    stale = now - KEY_USE_RESOLUTION
    if row.last_used_at is None or row.last_used_at < stale:
        try:
            session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == row.id,
                    or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale),
                )
                .values(last_used_at=now)
            )
            session.commit()
        except OperationalError:
            session.rollback()
    return Principal(f"key:{row.name}", Role(row.role))


def new_api_key() -> str:
    return "fg_" + secrets.token_urlsafe(30)


def ensure_admin(session: Session, username: str, password: str | None) -> str | None:
    """Create the first admin when there are no users; returns a generated password to print
    once (None when one was given or users exist)."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    problem = None if generated else password_problem(password, username)
    if problem:  # refuse to start rather than open the server with a guessable admin
        raise ConfigError(f"server.admin_password ($FACEGATE_ADMIN_PASSWORD) is refused: {problem}")
    session.add(
        User(
            username=username,
            password_hash=hash_password(password),
            role=Role.ADMIN.value,
            active=True,
        )
    )
    return generated
