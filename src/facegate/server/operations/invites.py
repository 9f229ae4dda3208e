"""Residents enrol themselves: a manager creates an invite link for one resident, the
resident opens it on a phone, the page takes three guided photos (look straight, turn a
little left, a little right) with live hints, and the photos wait for a manager's approval
(or are enrolled at once when `server.self_enrolment.auto_accept` is on and every check
passed without a warning).

Why it is built this way:
- The link is the only credential its holder has. Its token is 192 random bits, stored as
  SHA-256 (a database backup cannot hand out links), usable once, until it expires
  (`invite_ttl_h`, 72 h by default) or a manager revokes it; every refusal has its own code
  (`invite_unknown`, `invite_expired`, `invite_used`, `invite_revoked`).
- The photos pass the same checks as a manager's upload (`api.enroll`: one clear face,
  large, lit and sharp enough, not another resident's, like the resident's other photos),
  when sent and again when approved (the gallery may have changed meanwhile). A photo
  failing a quality check is refused at once, so the resident can take it again; a face
  that matches another resident is kept for the manager with that warning, since only
  the manager can confirm it.
- Nothing a resident sends becomes a template without either a manager's approval or the
  site's explicit auto-accept setting; with any warning it always waits (fail closed).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta

import cv2
import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from facegate import api
from facegate.config import SelfEnrolment
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError, FaceQualityError, ImageError, OtherResidentFaceError
from facegate.gallery.store import NewTemplate, Person, TemplateSet
from facegate.imageio import load_image
from facegate.server.auth import Principal, Role
from facegate.server.db.models import EnrolInvite, PendingPhoto, Resident, utcnow
from facegate.server.errors import (
    InviteExpired,
    InviteRevoked,
    InviteUnknown,
    InviteUsed,
    PhotoRejected,
)
from facegate.server.invite_schemas import (
    POSES,
    HintOut,
    InviteCreated,
    InviteOut,
    InviteView,
    PendingPhotoOut,
    SubmitOut,
)
from facegate.server.operations import residents
from facegate.server.operations.common import audit, fetch, require
from facegate.server.schemas import EnrolOut
from facegate.server.sql_gallery import SqlGallery
from facegate.server.state import ServerState

TOKEN_BYTES = 24  # 192 bits: guessing one is hopeless even without the rate limits
THUMB_PX = 320
#: the nose's offset from the eyes' midline, in eye distances, below which a head counts
#: as not turned (advice only: `frontalness` in the quality gate decides what is refused)
TURN = 0.08


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _status(inv: EnrolInvite) -> str:
    if inv.revoked_at is not None:
        return "revoked"
    if inv.used_at is not None:
        return "used"
    return "expired" if inv.expires_at <= utcnow() else "open"


def _out(inv: EnrolInvite) -> InviteOut:
    return InviteOut(
        id=inv.id,
        resident_id=inv.resident_id,
        created_by=inv.created_by,
        created_at=inv.created_at,
        expires_at=inv.expires_at,
        used_at=inv.used_at,
        revoked_at=inv.revoked_at,
        status=_status(inv),  # type: ignore[arg-type]
    )


# -- the manager's side ---------------------------------------------------------------------


def create_invite(
    session: Session,
    who: Principal,
    resident_id: int,
    settings: SelfEnrolment,
    ttl_h: float | None = None,
) -> InviteCreated:
    """A new link for one resident; the token is in the answer only (shown once).
    Earlier open links of the resident stay valid until they expire or are revoked."""
    require(who, Role.OPERATOR)
    fetch(session, Resident, resident_id, "resident")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    hours = ttl_h if ttl_h is not None else settings.invite_ttl_h
    now = utcnow()
    inv = EnrolInvite(
        resident_id=resident_id,
        token_hash=token_hash(token),
        created_by=who.name[:160],
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(inv)
    session.flush()
    audit(
        session,
        who,
        "invite_create",
        f"resident:{resident_id}",
        invite=inv.id,
        expires_at=inv.expires_at.isoformat(timespec="minutes"),
    )
    session.commit()
    return InviteCreated(**_out(inv).model_dump(), token=token, path=f"/enrol/{token}")


def list_invites(session: Session, resident_id: int | None = None) -> list[InviteOut]:
    """Newest first; a resident's, or everyone's."""
    q = select(EnrolInvite).order_by(EnrolInvite.id.desc()).limit(500)
    if resident_id is not None:
        q = q.where(EnrolInvite.resident_id == resident_id)
    return [_out(i) for i in session.scalars(q)]


def revoke_invite(session: Session, who: Principal, invite_id: int) -> InviteOut:
    """The link stops working at once (its photos already sent stay pending)."""
    require(who, Role.OPERATOR)
    inv = fetch(session, EnrolInvite, invite_id, "invite")
    if inv.revoked_at is None:
        inv.revoked_at = utcnow()
        audit(session, who, "invite_revoke", f"resident:{inv.resident_id}", invite=inv.id)
        session.commit()
    return _out(inv)


# -- the link's holder ----------------------------------------------------------------------


def open_invite(session: Session, token: str) -> EnrolInvite:
    """The usable invite with this token, or why not (revoked before used before expired:
    the most useful thing to tell its holder)."""
    inv = None
    if 16 <= len(token) <= 64:
        inv = session.scalar(select(EnrolInvite).where(EnrolInvite.token_hash == token_hash(token)))
    if inv is None:
        raise InviteUnknown("this enrolment link is not known: check that it was copied whole")
    if inv.revoked_at is not None:
        raise InviteRevoked("this enrolment link was withdrawn; ask for a new one")
    if inv.used_at is not None:
        raise InviteUsed("the photos of this enrolment link were sent already")
    if inv.expires_at <= utcnow():
        raise InviteExpired("this enrolment link has expired; ask for a new one")
    return inv


def invite_view(session: Session, token: str) -> InviteView:
    inv = open_invite(session, token)
    name = session.get(Resident, inv.resident_id)
    assert name is not None  # the invite goes with its resident (ON DELETE CASCADE)
    return InviteView(resident_name=name.name, expires_at=inv.expires_at)


QUALITY_HINTS = {"too_small", "too_dark", "too_bright", "too_blurry", "looking_away"}


def _hint_for(exc: FaceGateError) -> str:
    """The hint code of a failed check (the `reason` a refused upload carries)."""
    if isinstance(exc, FaceQualityError):
        reason = getattr(exc, "reason", "")
        return reason if reason in QUALITY_HINTS else "too_small"
    if isinstance(exc, ImageError):
        return "bad_file"
    return "several_faces" if exc.code == "several_faces" else "no_face"


def pose_hint(engine: FaceEngine, image: np.ndarray, pose: str) -> str | None:
    """Advice for the step's pose from the landmarks: the nose's offset from the eyes'
    midline. The camera's picture is not mirrored, so a head turned to its owner's left
    moves the nose to the picture's right (a positive offset)."""
    faces = engine.detect(image)
    if not faces:
        return None
    le, re, nose = (np.asarray(p, float) for p in faces[0].landmarks[:3])
    eye = float(np.linalg.norm(re - le))
    if eye < 1e-3:
        return None
    turn = (nose[0] - (le[0] + re[0]) / 2) / eye
    if pose == "straight" and abs(turn) > TURN:
        return "look_straight"
    if pose == "left" and turn < TURN:
        return "turn_left"
    if pose == "right" and turn > -TURN:
        return "turn_right"
    return None


def frame_hint(state: ServerState, session: Session, token: str, data: bytes, pose: str) -> HintOut:
    """The live hint for one preview frame: would a photo taken now pass the enrolment
    checks (`api.enrolment_face`: the same face, size, light, sharpness and frontal
    checks), and is the head turned as this step asks."""
    open_invite(session, token)
    session.rollback()
    with state.face_engine() as engine:
        try:
            image = load_image(data, max_pixels=engine.config.max_image_pixels)
            api.enrolment_face(engine, image, "frame")
        except FaceGateError as exc:
            return HintOut(ok=False, hint=_hint_for(exc), message=str(exc))  # type: ignore[arg-type]
        return HintOut(
            ok=True,
            hint="ok",
            pose_hint=pose_hint(engine, image, pose),  # type: ignore[arg-type]
            message="a photo taken now would pass the enrolment checks",
        )


class _Checked:
    """The `GalleryStore` `api.enroll` checks a sent photo against: everyone's templates
    for the identity checks, and the new templates kept here instead of written."""

    def __init__(self, gallery: SqlGallery) -> None:
        self.gallery = gallery
        self.templates_added: list[NewTemplate] = []

    def templates(self, model: str) -> TemplateSet:
        return self.gallery.templates(model)

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        self.templates_added = list(templates)
        return Person(0, name, 0)


def _check_photos(
    engine: FaceEngine, gallery: SqlGallery, name: str, photos: Mapping[str, bytes]
) -> list[tuple[set[str], str]]:
    """The warnings of the sent photos, each with the poses it is about; `PhotoRejected`
    (its message starting with the pose) for one that
    fails a quality check. Each photo alone against the gallery, then the photos against
    each other: three photos of two people are the manager's question too."""
    warnings: list[tuple[set[str], str]] = []
    embeddings: dict[str, np.ndarray] = {}
    model = engine.config.model
    for pose, data in photos.items():
        store = _Checked(gallery)
        report = api.enroll(engine, store, name, [data])
        for _, exc in report.rejected:
            if isinstance(exc, OtherResidentFaceError):
                warnings.append(({pose}, f"{pose}: {str(exc).split(': ', 1)[-1]}"))
                continue
            raise PhotoRejected(str(exc).replace("upload:", f"{pose}:", 1), exc)
        warnings += [({pose}, w.replace("upload:", f"{pose}:", 1)) for w in report.warnings]
        if not report.rejected:
            embeddings[pose] = next(t.embedding for t in store.templates_added if t.model == model)
        else:  # refused as another resident's face: embed it for the comparison anyway
            image = load_image(data, max_pixels=engine.config.max_image_pixels)
            face = api.enrolment_face(engine, image, pose).face
            embeddings[pose] = engine.embed(image, face, model=model)
    same = engine.threshold(model, api.MISMATCH_FMR)
    poses = list(embeddings)
    for i, a in enumerate(poses):
        for b in poses[i + 1 :]:
            score = float(embeddings[a] @ embeddings[b])
            if score < same:
                text = (
                    f"{a} and {b}: the photos do not look like one person ({model} "
                    f"{score:.3f} < {same:.3f})"
                )
                warnings.append(({a, b}, text))
    return warnings


def _thumbnail(image: np.ndarray) -> bytes | None:
    s = THUMB_PX / max(image.shape[:2])
    if s < 1:
        image = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


def submit_photos(
    session: Session, state: ServerState, token: str, photos: Mapping[str, bytes]
) -> SubmitOut:
    """The three photos of one link: checked (a quality failure refuses them all, nothing
    stored, the link still usable), then kept sealed as pending and the link used up, in
    one transaction; with `auto_accept` and no warning, enrolled at once."""
    if sorted(photos) != sorted(POSES):
        raise PhotoRejected(
            "send three photos: straight, left and right",
            ImageError("three photos are needed: straight, left and right"),
        )
    inv = open_invite(session, token)
    invite_id, resident_id = inv.id, inv.resident_id
    name = fetch(session, Resident, resident_id, "resident").name
    session.rollback()  # no transaction held across the face checks
    with state.face_engine() as engine:
        warnings = _check_photos(engine, state.gallery, name, photos)
    vault = state.gallery.vault
    used = session.execute(
        update(EnrolInvite)
        .where(
            EnrolInvite.id == invite_id,
            EnrolInvite.used_at.is_(None),
            EnrolInvite.revoked_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # sent twice at once, or revoked meanwhile: the first one wins
        session.rollback()
        open_invite(session, token)
        raise InviteUsed("the photos of this enrolment link were sent already")
    rows = []
    for pose in POSES:
        thumb = _thumbnail(load_image(photos[pose]))  # decodable: it passed the checks
        row = PendingPhoto(
            resident_id=resident_id,
            invite_id=invite_id,
            pose=pose,
            image=vault.seal(photos[pose]),
            thumbnail=vault.seal(thumb) if thumb else None,
            warnings=[text for poses, text in warnings if pose in poses],
            created_at=utcnow(),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    ids = [r.id for r in rows]
    audit(
        session,
        f"invite:{invite_id}",
        "invite_photos",
        f"resident:{resident_id}",
        invite=invite_id,
        photos=len(ids),
        warnings=len(warnings),
    )
    session.commit()
    texts = [text for _, text in warnings]
    if not state.config.server.self_enrolment.auto_accept or warnings:
        return SubmitOut(status="pending", photos=len(ids), warnings=texts)
    resident = Principal(f"invite:{invite_id}", Role.OPERATOR)  # the site's setting vouches
    try:
        for pid in ids:
            approve_photo(session, state, resident, pid)
    except FaceGateError as exc:  # the gallery changed meanwhile: the rest waits
        session.rollback()
        return SubmitOut(status="pending", photos=len(ids), warnings=[str(exc)])
    return SubmitOut(status="enrolled", photos=len(ids))


# -- approval -------------------------------------------------------------------------------


def _pending_out(session: Session, p: PendingPhoto) -> PendingPhotoOut:
    r = session.get(Resident, p.resident_id)
    return PendingPhotoOut(
        id=p.id,
        resident_id=p.resident_id,
        resident_name=r.name if r else "",
        invite_id=p.invite_id,
        pose=p.pose,
        warnings=list(p.warnings or []),
        created_at=p.created_at,
    )


def list_pending(session: Session, resident_id: int | None = None) -> list[PendingPhotoOut]:
    """Oldest first: the order they were sent in."""
    q = select(PendingPhoto).order_by(PendingPhoto.id).limit(500)
    if resident_id is not None:
        q = q.where(PendingPhoto.resident_id == resident_id)
    return [_pending_out(session, p) for p in session.scalars(q)]


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PendingPhoto)) or 0


def pending_thumbnail(session: Session, state: ServerState, pending_id: int) -> bytes:
    p = fetch(session, PendingPhoto, pending_id, "pending photo")
    return state.gallery.vault.open(p.thumbnail or p.image)


def approve_photo(
    session: Session,
    state: ServerState,
    who: Principal,
    pending_id: int,
    confirm_other_resident: bool = False,
) -> EnrolOut:
    """Enrol a pending photo as an upload would be (`residents.add_photo`: every check
    again, audited as `photo_add` by `who`), then drop it from the waiting list. Refused
    as an upload would be (e.g. another resident's face, unless confirmed): it stays."""
    require(who, Role.OPERATOR)
    p = fetch(session, PendingPhoto, pending_id, "pending photo")
    data = state.gallery.vault.open(p.image)
    resident_id, pose = p.resident_id, p.pose
    session.rollback()
    out = residents.add_photo(
        session,
        state,
        who,
        resident_id,
        f"self-enrolment-{pose}.jpg",
        data,
        confirm_other_resident,
    )
    p = session.get(PendingPhoto, pending_id)
    if p is not None:
        session.delete(p)
        audit(
            session,
            who,
            "pending_approve",
            f"resident:{resident_id}",
            pending=pending_id,
            photo=out.photo.id,
        )
        session.commit()
    return out


def reject_photo(session: Session, who: Principal, pending_id: int) -> None:
    """The photo is deleted; nothing of it is kept."""
    require(who, Role.OPERATOR)
    p = fetch(session, PendingPhoto, pending_id, "pending photo")
    audit(session, who, "pending_reject", f"resident:{p.resident_id}", pending=p.id, pose=p.pose)
    session.delete(p)
    session.commit()


# -- rate limits of the public endpoints ---------------------------------------------------


def limit(state: ServerState, token: str, client: str, kind: str) -> None:
    """Count one public request against its link and its client address (`TooManyAttempts`
    beyond `server.self_enrolment`'s limits): `view` and `check` share the per-minute
    budget, `submit` has its own per hour. Unknown tokens count too (guessing costs)."""
    cfg = state.config.server.self_enrolment
    link = token_hash(token)[:16]
    if kind == "submit":
        keys = [f"submit:link:{link}", f"submit:ip:{client}"]
        state.limits.hit(keys, cfg.submits_per_hour, 3600, "photo submissions")
    else:
        keys = [f"check:link:{link}", f"check:ip:{client}"]
        state.limits.hit(keys, cfg.checks_per_minute, 60, "requests")
