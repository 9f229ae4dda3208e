"""Every kind of change an edge device must hear about leaves a `fleet_changes` row in the
same commit as the change (and none when it rolls back), whatever the write path."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from facegate.gallery.store import NewTemplate
from facegate.server.db import fleet_capture
from facegate.server.db.database import transaction
from facegate.server.db.fleet_models import FleetChange
from facegate.server.db.models import AccessRuleRow, Entrance, Resident, Template
from facegate.server.operations import entrances, residents, rules
from facegate.server.operations.privacy import erase_resident
from facegate.server.schemas import EntranceIn, ResidentIn, ResidentUpdate, RuleIn
from facegate.server.state import ServerState
from tests.server.conftest import ADMIN, OPERATOR


def _changes(state: ServerState) -> list[tuple[str, int | None]]:
    with state.sessions() as s:
        return [
            (c.kind, c.subject_id) for c in s.scalars(select(FleetChange).order_by(FleetChange.seq))
        ]


def _since(state: ServerState, before: int) -> list[tuple[str, int | None]]:
    return _changes(state)[before:]


def _templates(n: int = 2) -> list[NewTemplate]:
    rng = np.random.default_rng(1)
    return [
        NewTemplate("arcface", "v1", rng.standard_normal(8).astype(np.float32)) for _ in range(n)
    ]


def test_resident_changes_each_leave_one_row(state: ServerState, session: Session) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann Lee"))
    assert _changes(state)[-1] == ("resident", ann.id)
    n = len(_changes(state))
    # a photo with its templates: one change for the resident, not one per row
    _, photo_id = state.gallery.add_photo(ann.id, _templates())
    assert _since(state, n) == [("resident", ann.id)]
    n += 1
    residents.update_resident(session, OPERATOR, ann.id, ResidentUpdate(active=False))
    assert _since(state, n) == [("resident", ann.id)]
    n += 1
    # what no device holds is no change
    residents.update_resident(session, OPERATOR, ann.id, ResidentUpdate(notes="new phone"))
    assert _since(state, n) == []
    residents.delete_photo(session, OPERATOR, ann.id, photo_id)
    assert _since(state, n) == [("resident", ann.id)]
    n += 1
    residents.delete_resident(session, state.journal, OPERATOR, ann.id)  # the erasure path
    assert _since(state, n) == [("resident", ann.id)]


def test_cli_gallery_paths_and_erasure_are_captured(state: ServerState, session: Session) -> None:
    person = state.gallery.add_person("Bob Stone", _templates(1))  # `facegate enrol` path
    kinds = _changes(state)
    assert kinds[-1] == ("resident", person.id)
    n = len(kinds)
    assert state.gallery.remove_person("Bob Stone")
    assert _since(state, n) == [("resident", person.id)]
    carol = residents.create_resident(session, OPERATOR, ResidentIn(name="Carol"))
    state.gallery.add_photo(carol.id, _templates(1))
    n = len(_changes(state))
    erase_resident(session, state.journal, ADMIN, carol.id)
    assert _since(state, n) == [("resident", carol.id)]


def test_bulk_statements_are_captured_and_reseals_are_not(state: ServerState) -> None:
    with transaction(state.sessions) as s:
        r = Resident(name="Dan")
        s.add(r)
    state.gallery.add_photo(r.id, _templates(1))
    n = len(_changes(state))
    with transaction(state.sessions) as s:  # a key rotation seals blobs again: no change
        s.execute(update(Template).where(Template.resident_id == r.id).values(embedding=b"x"))
    assert _since(state, n) == []
    with transaction(state.sessions) as s:
        s.execute(update(Resident).where(Resident.id == r.id).values(active=False))
    assert _since(state, n) == [("resident", r.id)]
    with transaction(state.sessions) as s:
        s.execute(delete(Template).where(Template.resident_id == r.id))
    assert _since(state, n + 1) == [("resident", r.id)]


def test_a_rolled_back_change_leaves_no_row(state: ServerState) -> None:
    n = len(_changes(state))
    with pytest.raises(RuntimeError), transaction(state.sessions) as s:
        s.add(Resident(name="Eve"))
        s.flush()
        raise RuntimeError("the request failed after the flush")
    assert _since(state, n) == []
    with state.sessions() as s:
        assert s.scalar(select(Resident).where(Resident.name == "Eve")) is None


def test_rules_and_entrances_carry_what_they_touched(state: ServerState, session: Session) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann Lee"))
    bob = residents.create_resident(session, OPERATOR, ResidentIn(name="Bob Stone"))
    main = session.scalar(select(Entrance.id).where(Entrance.name == "main"))
    side = entrances.create_entrance(session, state, ADMIN, EntranceIn(name="side"))
    assert _changes(state)[-1] == ("entrance", side.id)
    rule = rules.create_rule(
        session, OPERATOR, RuleIn(name="r", resident_ids=[ann.id], entrance_ids=[main])
    )
    with state.sessions() as s:
        last = s.scalars(select(FleetChange).order_by(FleetChange.seq.desc())).first()
        assert (last.kind, last.subject_id) == ("rules", rule.id)
        assert last.scope == {"residents": [ann.id], "entrances": [main]}
    rules.replace_rule(
        session, OPERATOR, rule.id, RuleIn(name="r", resident_ids=[bob.id], entrance_ids=[side.id])
    )
    with state.sessions() as s:
        last = s.scalars(select(FleetChange).order_by(FleetChange.seq.desc())).first()
        # the old and the new residents and entrances: both may need telling
        assert last.scope == {"residents": [ann.id, bob.id], "entrances": [main, side.id]}
    n = len(_changes(state))
    with transaction(state.sessions) as s:  # a guest pass used at a door: no change
        s.execute(update(AccessRuleRow).values(uses=AccessRuleRow.uses + 1))
    assert _since(state, n) == []
    rules.delete_rule(session, OPERATOR, rule.id)
    assert _since(state, n) == [("rules", rule.id)]
    entrances.delete_entrance(session, state, ADMIN, side.id)
    assert _since(state, n + 1) == [("entrance", side.id)]


def test_a_bulk_insert_of_templates_names_its_resident(state: ServerState) -> None:
    with transaction(state.sessions) as s:
        r = Resident(name="Fay")
        s.add(r)
    n = len(_changes(state))
    with transaction(state.sessions) as s:
        s.execute(
            insert(Template),
            [
                {
                    "resident_id": r.id,
                    "model": "m",
                    "model_version": "1",
                    "dim": 1,
                    "embedding": b"x",
                }
                for _ in range(3)
            ],
        )
    assert _since(state, n) == [("resident", r.id)]


def test_a_rule_edit_in_place_names_only_whom_it_moves(
    state: ServerState, session: Session
) -> None:
    """Same entrances, still active: only the residents added or dropped move (the others
    are granted there as before); a change of entrances concerns all of them."""
    ann, bob, cat = (
        residents.create_resident(session, OPERATOR, ResidentIn(name=n)).id
        for n in ("Ann Lee", "Bob Stone", "Cat Ray")
    )
    main = session.scalar(select(Entrance.id).where(Entrance.name == "main"))
    side = entrances.create_entrance(session, state, ADMIN, EntranceIn(name="side")).id
    rule = rules.create_rule(
        session, OPERATOR, RuleIn(name="r", resident_ids=[ann, bob], entrance_ids=[main])
    )

    def scope_after(body: RuleIn) -> dict:
        rules.replace_rule(session, OPERATOR, rule.id, body)
        with state.sessions() as s:
            return s.scalars(select(FleetChange).order_by(FleetChange.seq.desc())).first().scope

    got = scope_after(RuleIn(name="r", resident_ids=[ann, bob, cat], entrance_ids=[main]))
    assert got == {"residents": [cat], "entrances": [main]}
    got = scope_after(RuleIn(name="r", resident_ids=[bob, cat], entrance_ids=[main]))
    assert got == {"residents": [ann], "entrances": [main]}
    got = scope_after(RuleIn(name="r2", resident_ids=[bob, cat], entrance_ids=[main]))
    assert got == {"residents": [], "entrances": [main]}  # the rule set only
    got = scope_after(RuleIn(name="r2", resident_ids=[bob, cat], entrance_ids=[side]))
    assert got == {"residents": [bob, cat], "entrances": [main, side]}
    got = scope_after(RuleIn(name="r2", resident_ids=None, entrance_ids=[side]))
    assert got == {"residents": None, "entrances": [side]}


def test_a_commit_that_recorded_a_change_wakes_the_publisher(state: ServerState) -> None:
    woken: list[int] = []
    stop = fleet_capture.on_commit(state.sessions, lambda: woken.append(1))
    try:
        with transaction(state.sessions) as s:
            s.add(Resident(name="Ann Ray", apartment="", notes=""))
        assert woken == [1]
        with transaction(state.sessions) as s:
            s.execute(update(Resident).values(apartment="12"))  # not a device's business
        assert woken == [1]
        with pytest.raises(RuntimeError), transaction(state.sessions) as s:
            s.execute(update(Resident).values(name="Ann Lee"))
            raise RuntimeError("rolled back")
        assert woken == [1]
        with transaction(state.sessions) as s:
            s.execute(update(Resident).values(name="Ann Lee"))
        assert woken == [1, 1]
    finally:
        stop()
