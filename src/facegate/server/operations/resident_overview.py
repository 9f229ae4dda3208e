"""What a manager looks for about residents: a page of a search (with each one's thumbnail),
and for one resident the rules that let them in and what the doors saw of them lately."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from facegate.runtime.journal import Journal
from facegate.server.db.models import AccessRuleRow, Resident
from facegate.server.operations.common import fetch, resident_out
from facegate.server.operations.events import EventFilter, list_events
from facegate.server.operations.rules import rule_out
from facegate.server.resident_schemas import ResidentOverview, ResidentPage


def search_residents(
    session: Session,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ResidentPage:
    """By name; `q` is part of a name or apartment in any case, matched by the database (a
    building of thousands is never loaded whole), with the number of matches for paging."""
    where = []
    if q:
        like = f"%{q.replace(chr(0), '').strip().lower()}%"
        where.append(
            or_(func.lower(Resident.name).like(like), func.lower(Resident.apartment).like(like))
        )
    if active is not None:
        where.append(Resident.active == active)
    total = session.scalar(select(func.count()).select_from(Resident).where(*where)) or 0
    rows = session.scalars(
        select(Resident).where(*where).order_by(Resident.name).limit(limit).offset(offset)
    )
    items = [resident_out(session, r) for r in rows]
    return ResidentPage(items=items, total=total, limit=limit, offset=offset)


def resident_overview(
    session: Session, journal: Journal, resident_id: int, events: int = 10
) -> ResidentOverview:
    """The rules naming this resident (or everyone), whether no active rule exists at all
    (then every active resident may open, as `DbAccessPolicy` does), and their latest
    events (matched by their current name, as the event log's resident filter is)."""
    fetch(session, Resident, resident_id, "resident")
    all_rules = list(session.scalars(select(AccessRuleRow).order_by(AccessRuleRow.id)))
    mine = [
        rule_out(r)
        for r in all_rules
        if r.resident_ids is None or resident_id in (r.resident_ids or [])
    ]
    everyone = not any(r.active for r in all_rules)
    latest, _ = list_events(session, journal, EventFilter(), events, resident_id=resident_id)
    return ResidentOverview(rules=mine, everyone_may_open=everyone, events=latest)
