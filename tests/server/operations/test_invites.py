"""Self-enrolment operations (`operations.invites`) on SQLite and PostgreSQL: invite links
(hashed, one-time, expiring, revocable, audited), the three photos checked like an upload,
waiting for approval or accepted at once by the site's setting, and the live hints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.engine import FaceEngine
from facegate.server.app import build_state
from facegate.server.db.models import AuditEntry, EnrolInvite, PendingPhoto, Photo, utcnow
from facegate.server.errors import (
    InviteExpired,
    InviteRevoked,
    InviteUnknown,
    InviteUsed,
    PhotoRejected,
)
from facegate.server.operations import invites
from facegate.server.operations.residents import add_photo, create_resident
from facegate.server.schemas import ResidentIn
from facegate.server.state import ServerState
from tests.server.conftest import ADMIN, OPERATOR, jpeg, make_config

SETTINGS = make_config(Path("/tmp"), "sqlite://", Path("/tmp")).server.self_enrolment


def _resident(session: Session, name: str = "Grace Hopper") -> int:
    return create_resident(session, OPERATOR, ResidentIn(name=name)).id


def _three(photos: dict[str, bytes]) -> dict[str, bytes]:
    return {"straight": photos["hopper"], "left": photos["again"], "right": photos["hopper"]}


def _actions(session: Session) -> list[str]:
    session.rollback()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_link_is_stored_hashed_and_audited(session: Session) -> None:
    rid = _resident(session)
    made = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    assert made.path == f"/enrol/{made.token}" and made.status == "open"
    assert timedelta(hours=71.9) < made.expires_at - made.created_at <= timedelta(hours=72)
    row = session.get(EnrolInvite, made.id)
    assert row is not None and row.token_hash == invites.token_hash(made.token)
    assert made.token not in row.token_hash
    assert "invite_create" in _actions(session)
    assert invites.invite_view(session, made.token).resident_name == "Grace Hopper"
    short = invites.create_invite(session, OPERATOR, rid, SETTINGS, ttl_h=1)
    assert short.expires_at - short.created_at <= timedelta(hours=1)


def test_unknown_expired_revoked_and_used_links_are_refused_with_their_codes(
    session: Session, state: ServerState, photos: dict[str, bytes]
) -> None:
    rid = _resident(session)
    with pytest.raises(InviteUnknown) as unknown:
        invites.open_invite(session, "x" * 32)
    assert unknown.value.code == "invite_unknown"

    expired = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    session.get(EnrolInvite, expired.id).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    with pytest.raises(InviteExpired):
        invites.open_invite(session, expired.token)

    revoked = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    assert invites.revoke_invite(session, OPERATOR, revoked.id).status == "revoked"
    with pytest.raises(InviteRevoked) as exc:
        invites.submit_photos(session, state, revoked.token, _three(photos))
    assert exc.value.code == "invite_revoked"
    assert "invite_revoke" in _actions(session)

    once = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    assert invites.submit_photos(session, state, once.token, _three(photos)).status == "pending"
    with pytest.raises(InviteUsed):
        invites.submit_photos(session, state, once.token, _three(photos))
    with pytest.raises(InviteUsed):
        invites.frame_hint(state, session, once.token, photos["hopper"], "straight")
    statuses = {i.id: i.status for i in invites.list_invites(session, rid)}
    assert statuses == {
        expired.id: "expired",
        revoked.id: "revoked",
        once.id: "used",
    }


def test_photos_wait_for_approval_then_enrol_like_an_upload(
    session: Session, state: ServerState, photos: dict[str, bytes]
) -> None:
    rid = _resident(session)
    link = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    out = invites.submit_photos(session, state, link.token, _three(photos))
    assert (out.status, out.photos, out.warnings) == ("pending", 3, [])
    pending = invites.list_pending(session, rid)
    assert [p.pose for p in pending] == ["straight", "left", "right"]
    assert session.scalar(select(Photo.id).where(Photo.resident_id == rid)) is None  # no face yet
    assert invites.pending_thumbnail(session, state, pending[0].id)[:2] == b"\xff\xd8"
    stored = session.get(PendingPhoto, pending[0].id).image
    assert photos["hopper"][100:200] not in stored  # sealed, like enrolled photos

    enrolled = invites.approve_photo(session, state, ADMIN, pending[0].id)
    assert enrolled.photo.filename == "self-enrolment-straight.jpg"
    assert enrolled.resident.photos == 1
    invites.reject_photo(session, ADMIN, pending[1].id)
    assert [p.pose for p in invites.list_pending(session, rid)] == ["right"]
    assert invites.count_pending(session) == 1
    actions = _actions(session)
    for action in ("invite_photos", "photo_add", "pending_approve", "pending_reject"):
        assert action in actions, actions


def test_a_photo_failing_a_check_refuses_the_lot_and_the_link_still_works(
    session: Session, state: ServerState, photos: dict[str, bytes]
) -> None:
    rid = _resident(session)
    link = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    wall = jpeg(np.full((480, 640, 3), 120, np.uint8))
    with pytest.raises(PhotoRejected) as exc:
        invites.submit_photos(session, state, link.token, {**_three(photos), "left": wall})
    assert str(exc.value).startswith("left: no face found") and exc.value.code == "no_face"
    assert invites.list_pending(session, rid) == []
    assert invites.open_invite(session, link.token).used_at is None
    with pytest.raises(PhotoRejected):  # two photos are not the three asked for
        invites.submit_photos(session, state, link.token, {"straight": photos["hopper"]})


def test_another_residents_face_waits_with_a_warning(
    session: Session, state: ServerState, photos: dict[str, bytes]
) -> None:
    """Only the manager can confirm that a face another resident has is this one's."""
    other = _resident(session, "Someone Else")
    add_photo(session, state, OPERATOR, other, "else.jpg", photos["hopper"])
    rid = _resident(session)
    link = invites.create_invite(session, OPERATOR, rid, SETTINGS)
    out = invites.submit_photos(session, state, link.token, _three(photos))
    assert out.status == "pending"
    assert any("already belongs to Someone Else" in w for w in out.warnings), out.warnings
    straight = invites.list_pending(session, rid)[0]
    assert any("already belongs to" in w for w in straight.warnings)
    with pytest.raises(PhotoRejected) as exc:  # refused as an upload would be ...
        invites.approve_photo(session, state, ADMIN, straight.id)
    assert exc.value.code == "face_of_other_resident"
    assert len(invites.list_pending(session, rid)) == 3  # ... and it stays
    invites.approve_photo(session, state, ADMIN, straight.id, confirm_other_resident=True)
    assert len(invites.list_pending(session, rid)) == 2


@pytest.fixture
def auto_state(
    tmp_path: Path, cache_dir: Path, engine: FaceEngine, db_url: str
) -> Iterator[ServerState]:
    cfg = make_config(tmp_path, db_url, cache_dir, self_enrolment={"auto_accept": True})
    s = build_state(cfg, face_engine=engine)
    try:
        yield s
    finally:
        s.journal.close()
        s.db.dispose()


def test_auto_accept_enrols_clean_photos_at_once(
    auto_state: ServerState, photos: dict[str, bytes]
) -> None:
    with auto_state.sessions() as session:
        rid = _resident(session)
        link = invites.create_invite(session, OPERATOR, rid, SETTINGS)
        out = invites.submit_photos(session, auto_state, link.token, _three(photos))
        assert (out.status, out.warnings) == ("enrolled", [])
        assert invites.list_pending(session, rid) == []
        session.rollback()
        names = session.scalars(select(Photo.filename).where(Photo.resident_id == rid)).all()
        assert sorted(names) == [f"self-enrolment-{p}.jpg" for p in ("left", "right", "straight")]
        actors = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "photo_add")
        ).all()
        assert actors == [f"invite:{link.id}"] * 3

        # a warning (here: three photos of two people) makes them wait even so
        rid2 = _resident(session, "Mixed Up")
        link2 = invites.create_invite(session, OPERATOR, rid2, SETTINGS)
        mixed = {**_three(photos), "right": photos["stranger"]}
        out2 = invites.submit_photos(session, auto_state, link2.token, mixed)
        assert out2.status == "pending"
        assert any("do not look like one person" in w for w in out2.warnings), out2.warnings
        assert len(invites.list_pending(session, rid2)) == 3


def test_live_hints_say_what_to_fix(
    session: Session, state: ServerState, hopper: np.ndarray
) -> None:
    rid = _resident(session)
    token = invites.create_invite(session, OPERATOR, rid, SETTINGS).token

    def hint(image: np.ndarray, pose: str = "straight") -> tuple[str, str | None]:
        h = invites.frame_hint(state, session, token, jpeg(image), pose)
        assert h.ok == (h.hint == "ok")
        return h.hint, h.pose_hint

    assert hint(hopper)[0] == "ok"
    assert hint(np.full((480, 640, 3), 120, np.uint8)) == ("no_face", None)
    assert hint(cv2.convertScaleAbs(hopper, alpha=0.12))[0] == "too_dark"
    small = cv2.resize(hopper, None, fx=0.12, fy=0.12)
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    assert hint(canvas)[0] == "too_small"
    assert invites.frame_hint(state, session, token, b"not an image", "left").hint == "bad_file"
    # the same frontal face, asked to turn: advice, not a refusal
    assert hint(hopper, "left") == ("ok", "turn_left")
    assert hint(hopper, "right") == ("ok", "turn_right")
