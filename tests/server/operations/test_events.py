"""The event log and the audit log through `operations.events`."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from facegate.server.errors import BadCursor, NotFound
from facegate.server.operations import events, residents
from facegate.server.schemas import ResidentIn
from facegate.server.state import ServerState
from tests.server.conftest import OPERATOR, record_events


def test_pages_follow_each_other_without_gaps_or_repeats(state: ServerState) -> None:
    record_events(state, 10, 1_700_000_000.0)  # times tie in threes
    record_events(state, 3, 1_700_000_000.0, entrance="garage")
    f = events.EventFilter(entrance="main")
    everything, last = events.event_page(state.journal, f, 100)
    assert len(everything) == 10 and last is None
    seen, cursor = [], None
    while True:
        rows, cursor = events.event_page(state.journal, f, 4, cursor)
        seen += [r["id"] for r in rows]
        if cursor is None:
            break
    assert seen == [r["id"] for r in everything]
    with pytest.raises(BadCursor, match="not one this server handed out"):
        events.event_page(state.journal, f, 4, "forged")


def test_a_resident_filter_needs_the_resident(session: Session, state: ServerState) -> None:
    with pytest.raises(NotFound, match="no resident with id 5"):
        events.list_events(session, state.journal, events.EventFilter(), 10, resident_id=5)
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann"))
    items, cursor = events.list_events(
        session, state.journal, events.EventFilter(), 10, resident_id=ann.id
    )
    assert items == [] and cursor is None


def test_the_audit_log_is_newest_first_and_filtered(session: Session) -> None:
    for name in ("Ann", "Bob"):
        residents.create_resident(session, OPERATOR, ResidentIn(name=name))
    log = events.audit_log(session, action="resident_create")
    assert [a.detail["name"] for a in log] == ["Bob", "Ann"]
    assert events.audit_log(session, actor="user:nobody") == []
    assert len(events.audit_log(session, limit=1)) == 1
