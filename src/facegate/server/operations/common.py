"""What every operation module uses: the audit log, role checks, fetching a row by id."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from facegate.server.auth import Principal, Role
from facegate.server.db.models import AuditEntry, Base
from facegate.server.errors import Forbidden, NotFound
from facegate.server.schemas import DB_INT

RowT = TypeVar("RowT", bound=Base)


def audit(
    session: Session, who: Principal | str, action: str, target: str = "", **detail: object
) -> None:
    """Log a change in the same transaction as the change itself: both land or neither."""
    actor = who if isinstance(who, str) else who.name
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target=target[:255],
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )


def require(who: Principal, role: Role) -> None:
    """Refuse a caller below `role`: the API's and the UI's checks come first, with their
    own wording; this makes sure no caller of an operation goes without one."""
    if not who.allows(role):
        raise Forbidden(f"{who.role.value} may not do this; needs {role.value}")


def fetch(session: Session, model: type[RowT], ident: int, what: str) -> RowT:
    """The row with this id, or `NotFound` (also for ids no database column could hold)."""
    row = session.get(model, ident) if 1 <= ident <= DB_INT else None
    if row is None:
        raise NotFound.of(what, ident)
    return row
