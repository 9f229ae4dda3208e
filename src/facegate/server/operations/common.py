"""What every operation module uses: the audit log, role checks, fetching a row by id, a
resident as the API shows it."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.server.auth import Principal, Role
from facegate.server.db.models import AuditEntry, Base, Photo, Resident
from facegate.server.errors import Forbidden, NotFound
from facegate.server.schemas import DB_INT, ResidentOut
from facegate.server.sql_gallery import photo_count

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


def resident_out(session: Session, r: Resident) -> ResidentOut:
    thumb = session.scalar(
        select(func.min(Photo.id)).where(Photo.resident_id == r.id, Photo.thumbnail.is_not(None))
    )
    return ResidentOut(
        id=r.id,
        name=r.name,
        apartment=r.apartment,
        notes=r.notes,
        active=r.active,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        created_at=r.created_at,
        photos=photo_count(session, r.id),
        thumbnail_url=f"/api/v1/residents/{r.id}/photos/{thumb}/image" if thumb else None,
    )
