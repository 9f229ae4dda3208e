"""Users, API keys and signing in through `operations.users`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.config import SignInLimits
from facegate.server.auth import Role, principal_for_key, principal_for_token
from facegate.server.db.models import AuditEntry
from facegate.server.errors import BadCredentials, DuplicateName, Forbidden, LastAdmin, NotFound
from facegate.server.operations import users
from facegate.server.schemas import ApiKeyIn, UserIn, UserUpdate
from tests.server.conftest import ADMIN, ADMIN_PASSWORD, OPERATOR

CLIENT = "192.0.2.7"


def sign_in(session: Session, name: str, password: str, ttl_h: float, via: str | None = None):
    return users.sign_in(session, name, password, ttl_h, SignInLimits(), CLIENT, via=via)


def test_a_user_cannot_be_created_twice(session: Session) -> None:
    ann = users.create_user(session, ADMIN, UserIn(username="ann", password="ann-password-1"))
    assert ann.role == Role.VIEWER and ann.active
    with pytest.raises(DuplicateName, match="user 'ann' exists already") as e:
        users.create_user(session, ADMIN, UserIn(username="ann", password="other-password"))
    assert e.value.code == "duplicate_name"
    session.rollback()
    assert [u.username for u in users.list_users(session)] == ["admin", "ann"]
    creates = session.scalars(select(AuditEntry).where(AuditEntry.action == "user_create")).all()
    assert [(a.actor, a.target) for a in creates] == [("user:admin", "user:ann")]


def test_only_admins_manage_users_and_the_last_admin_stays(session: Session) -> None:
    with pytest.raises(Forbidden, match="operator may not do this; needs admin"):
        users.create_user(session, OPERATOR, UserIn(username="eve", password="eve-password"))
    admin = users.list_users(session)[0]
    with pytest.raises(LastAdmin, match="only active admin"):
        users.update_user(session, ADMIN, admin.id, UserUpdate(role=Role.OPERATOR))
    with pytest.raises(LastAdmin, match="cannot delete the only active admin"):
        users.delete_user(session, ADMIN, admin.id)
    session.rollback()
    with pytest.raises(NotFound, match="no user with id 99"):
        users.delete_user(session, ADMIN, 99)
    bob = users.create_user(
        session, ADMIN, UserIn(username="bob", password="bob-password", role=Role.ADMIN)
    )
    users.delete_user(session, ADMIN, admin.id)  # another admin is there now
    assert [u.username for u in users.list_users(session)] == [bob.username]


def test_sign_in_sign_out_and_a_new_password_ends_sessions(session: Session) -> None:
    with pytest.raises(BadCredentials, match="wrong username or password"):
        sign_in(session, "admin", "nope", 1.0)
    with pytest.raises(BadCredentials):
        sign_in(session, "nobody", ADMIN_PASSWORD, 1.0)
    s = sign_in(session, "admin", ADMIN_PASSWORD, 2.0, via="ui")
    assert s.role == Role.ADMIN and s.ttl_h == 2.0
    assert principal_for_token(session, s.token).name == "user:admin"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in")).one()
    assert entry.actor == "user:admin" and entry.detail == {"via": "ui", "client": CLIENT}
    users.sign_out(session, s.token)
    assert principal_for_token(session, s.token) is None

    s = sign_in(session, "admin", ADMIN_PASSWORD, 1.0)
    admin = users.list_users(session)[0]
    users.update_user(session, ADMIN, admin.id, UserUpdate(password="a-new-password"))
    assert principal_for_token(session, s.token) is None
    assert sign_in(session, "admin", "a-new-password", 1.0).token


def test_api_keys_are_shown_once_and_named_once(session: Session) -> None:
    created = users.create_key(session, ADMIN, ApiKeyIn(name="door-app", role=Role.VIEWER))
    assert created.key.startswith(created.prefix)
    assert principal_for_key(session, created.key).name == "key:door-app"
    with pytest.raises(DuplicateName, match="an API key named 'door-app' exists"):
        users.create_key(session, ADMIN, ApiKeyIn(name="door-app"))
    session.rollback()
    listed = users.list_keys(session)
    assert [k.name for k in listed] == ["door-app"] and not hasattr(listed[0], "key")
    users.delete_key(session, ADMIN, created.id)
    assert principal_for_key(session, created.key) is None
