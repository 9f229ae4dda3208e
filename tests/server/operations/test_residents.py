"""Residents and photos through `operations.residents`, with no HTTP in between."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.errors import NoFaceError
from facegate.server.db.models import AuditEntry, Photo, Template
from facegate.server.errors import DuplicateName, Forbidden, Invalid, NotFound, PhotoRejected
from facegate.server.operations import residents
from facegate.server.schemas import ResidentIn, ResidentUpdate
from facegate.server.state import ServerState
from tests.server.conftest import OPERATOR, VIEWER, jpeg


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_duplicate_name_conflicts_in_any_case(session: Session) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann Lee"))
    bob = residents.create_resident(session, OPERATOR, ResidentIn(name="Bob Stone"))
    with pytest.raises(DuplicateName, match="a resident named 'ann lee' exists already") as e:
        residents.create_resident(session, OPERATOR, ResidentIn(name="ann lee"))
    assert e.value.code == "duplicate_name"
    session.rollback()
    with pytest.raises(DuplicateName):
        residents.update_resident(session, OPERATOR, bob.id, ResidentUpdate(name="ANN LEE"))
    session.rollback()
    # renaming to its own name (another case) is no conflict
    same = residents.update_resident(session, OPERATOR, ann.id, ResidentUpdate(name="ANN LEE"))
    assert same.name == "ANN LEE"
    assert [r.name for r in residents.list_residents(session)] == ["ANN LEE", "Bob Stone"]
    assert _actions(session) == ["resident_create", "resident_create", "resident_update"]


def test_changes_are_checked_and_audited(session: Session) -> None:
    with pytest.raises(Forbidden, match="viewer may not do this; needs operator"):
        residents.create_resident(session, VIEWER, ResidentIn(name="Eve"))
    r = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann", apartment="7C"))
    with pytest.raises(Invalid, match="name must not be blank"):
        residents.update_resident(
            session, OPERATOR, r.id, ResidentUpdate(name="  ")
        )  # blank once stripped
    session.rollback()
    upd = ResidentUpdate(valid_from="2026-02-01T00:00:00", valid_until="2026-03-01T00:00:00")
    changed = residents.update_resident(session, OPERATOR, r.id, upd)
    assert changed.valid_until > changed.valid_from and changed.apartment == "7C"
    assert [x.name for x in residents.list_residents(session, q="7c")] == ["Ann"]
    assert residents.list_residents(session, active=False) == []
    with pytest.raises(NotFound, match="no resident with id 424242"):
        residents.get_resident(session, 424242)
    with pytest.raises(NotFound):  # no database column holds this id: still just not found
        residents.get_resident(session, 2**40)


def test_deleting_a_resident_removes_their_photos_and_templates(
    session: Session, state: ServerState, photos: dict[str, bytes]
) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Grace Hopper"))
    other = residents.create_resident(session, OPERATOR, ResidentIn(name="Someone Else"))
    one = residents.add_photo(session, state, OPERATOR, ann.id, "a.jpg", photos["hopper"])
    residents.add_photo(session, state, OPERATOR, ann.id, "b.jpg", photos["again"])
    residents.add_photo(session, state, OPERATOR, other.id, "c.jpg", photos["stranger"])
    assert one.resident.photos == 1 and set(one.models) == {"sface", "reid"}
    assert residents.get_resident(session, ann.id).photos == 2
    jpeg = residents.photo_thumbnail(session, state.gallery.vault, ann.id, one.photo.id)
    assert jpeg[:2] == b"\xff\xd8"  # a JPEG
    before = _count(session, Template)

    residents.delete_resident(session, state.journal, OPERATOR, ann.id)
    left = session.scalars(select(Template.resident_id)).all()
    assert set(left) == {other.id} and len(left) == before // 3  # only the other's
    assert set(session.scalars(select(Photo.resident_id))) == {other.id}
    assert state.gallery.templates("sface").person_ids.tolist() == [other.id]
    with pytest.raises(NotFound):
        residents.list_photos(session, ann.id)
    assert _actions(session).count("photo_add") == 3
    assert _actions(session)[-1] == "resident_delete"


def test_a_refused_photo_says_why_and_stores_nothing(session: Session, state: ServerState) -> None:
    r = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann"))
    blank = jpeg(np.full((300, 300, 3), 128, np.uint8))
    with pytest.raises(PhotoRejected) as e:
        residents.add_photo(session, state, OPERATOR, r.id, "wall.jpg", blank)
    assert e.value.code == "no_face" and isinstance(e.value.cause, NoFaceError)
    assert str(e.value).startswith("wall.jpg:")
    assert _count(session, Photo) == 0 and _count(session, Template) == 0
    assert "photo_add" not in _actions(session)


def test_an_upload_is_read_only_for_a_resident_that_exists(
    session: Session, state: ServerState
) -> None:
    def read() -> bytes:
        raise AssertionError("read although there is no such resident")

    with pytest.raises(NotFound, match="no resident with id 7"):
        residents.add_photo(session, state, OPERATOR, 7, "x.jpg", read)
