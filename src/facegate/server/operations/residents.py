"""Residents and their enrolment photos. Enrolling a photo runs `api.enroll`, the function
behind `facegate enroll`: same quality gate, same messages, templates for every recogniser."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from facegate import api
from facegate.errors import FaceGateError
from facegate.gallery.store import NewTemplate, Person, TemplateSet
from facegate.imageio import load_image
from facegate.runtime.journal import Journal
from facegate.server.auth import Principal, Role
from facegate.server.db.database import bump
from facegate.server.db.models import Photo, Resident, Template
from facegate.server.errors import DuplicateName, Invalid, NotFound, PhotoRejected
from facegate.server.operations.common import audit, fetch, require, resident_out
from facegate.server.operations.privacy import erase_resident
from facegate.server.schemas import (
    DB_INT,
    EnrolOut,
    PhotoOut,
    ResidentDetail,
    ResidentIn,
    ResidentOut,
    ResidentUpdate,
)
from facegate.server.sql_gallery import GALLERY, SqlGallery
from facegate.server.state import ServerState
from facegate.vault import Vault

THUMB_PX = 320


def _name_free(session: Session, name: str, but: int | None = None) -> None:
    q = select(Resident.id).where(func.lower(Resident.name) == name.lower())
    if but is not None:
        q = q.where(Resident.id != but)
    if session.scalar(q) is not None:
        raise DuplicateName(f"a resident named {name!r} exists already")


def list_residents(
    session: Session,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ResidentOut]:
    """By name; `q` is part of a name or apartment, in any case."""
    stmt = select(Resident).order_by(Resident.name).limit(limit).offset(offset)
    if q:
        like = f"%{q.replace(chr(0), '').lower()}%"
        stmt = stmt.where(
            or_(func.lower(Resident.name).like(like), func.lower(Resident.apartment).like(like))
        )
    if active is not None:
        stmt = stmt.where(Resident.active == active)
    return [resident_out(session, r) for r in session.scalars(stmt)]


def count_residents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Resident)) or 0


def resident_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Resident.id, Resident.name)).all())


def get_resident(session: Session, resident_id: int) -> ResidentDetail:
    r = fetch(session, Resident, resident_id, "resident")
    return ResidentDetail(
        **resident_out(session, r).model_dump(),
        photo_list=[PhotoOut.model_validate(p) for p in r.photos],
    )


def create_resident(session: Session, who: Principal, body: ResidentIn) -> ResidentOut:
    """A resident without photos yet: the door cannot recognise them until one is enrolled.
    Names are unique regardless of case."""
    require(who, Role.OPERATOR)
    _name_free(session, body.name)
    r = Resident(**body.model_dump())
    session.add(r)
    session.flush()
    bump(session, GALLERY)
    audit(session, who, "resident_create", f"resident:{r.id}", name=r.name)
    session.commit()
    return resident_out(session, r)


def update_resident(
    session: Session, who: Principal, resident_id: int, body: ResidentUpdate
) -> ResidentOut:
    """The given fields; a null name, apartment, notes or active leaves it as it is."""
    require(who, Role.OPERATOR)
    r = fetch(session, Resident, resident_id, "resident")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        if not changes["name"]:
            raise Invalid("name must not be blank")
        _name_free(session, changes["name"], but=r.id)
    for k, v in changes.items():
        if k in ("name", "apartment", "notes", "active") and v is None:
            continue
        setattr(r, k, v)
    if r.valid_from and r.valid_until and r.valid_until <= r.valid_from:
        raise Invalid("valid_until must be after valid_from")
    bump(session, GALLERY)
    audit(session, who, "resident_update", f"resident:{r.id}", fields=sorted(changes))
    session.commit()
    return resident_out(session, r)


def delete_resident(session: Session, journal: Journal, who: Principal, resident_id: int) -> None:
    """The resident, their photos and templates (the door forgets the face at once), and
    their face and name in the journal and the audit log: `privacy.erase_resident`."""
    erase_resident(session, journal, who, resident_id)


# -- photos --------------------------------------------------------------------------------


def thumbnail_jpeg(data: bytes) -> bytes | None:
    """The JPEG kept of a photo (at most THUMB_PX on its long side); None if undecodable."""
    try:
        img = load_image(data)
    except FaceGateError:
        return None
    s = THUMB_PX / max(img.shape[:2])
    if s < 1:
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


class _PhotoTarget:
    """The `GalleryStore` `api.enroll` writes to for one upload: the photo row, its
    templates and the audit entry land in one transaction."""

    def __init__(
        self, gallery: SqlGallery, resident_id: int, filename: str, data: bytes, actor: str
    ) -> None:
        self.gallery, self.resident_id = gallery, resident_id
        self.filename, self.data, self.actor = filename, data, actor
        self.photo_id: int | None = None
        self.models: list[str] = []

    def templates(self, model: str) -> TemplateSet:
        """Everyone's templates: enrolment checks a new face against the whole gallery."""
        return self.gallery.templates(model)

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        self.models = sorted({t.model for t in templates})

        def log(session: Session, photo_id: int) -> None:
            audit(
                session,
                self.actor,
                "photo_add",
                f"resident:{self.resident_id}",
                photo=photo_id,
                filename=self.filename,
                models=self.models,
            )

        person, self.photo_id = self.gallery.add_photo(
            self.resident_id,
            templates,
            filename=self.filename,
            thumbnail=thumbnail_jpeg(self.data),
            also=log,
        )
        return person


def add_photo(
    session: Session,
    state: ServerState,
    who: Principal,
    resident_id: int,
    filename: str,
    data: bytes | Callable[[], bytes],
    confirm_other_resident: bool = False,
) -> EnrolOut:
    """Enrol one photo: exactly one clear, large enough face, else `PhotoRejected` with the
    engine's reason (its message names `filename`) and nothing stored. A face that already
    belongs to another resident is refused the same way unless `confirm_other_resident`;
    a face unlike the resident's other photos is enrolled with a warning. `data` may be a
    function that reads the upload: it is called once the resident is known to exist, with
    no transaction open (an unknown resident is `NotFound` before an upload is too large)."""
    require(who, Role.OPERATOR)
    name = fetch(session, Resident, resident_id, "resident").name
    filename = filename[:255]
    session.rollback()  # no read transaction held across the slow part
    if callable(data):
        data = data()
    target = _PhotoTarget(state.gallery, resident_id, filename, data, who.name)
    with state.face_engine() as engine:
        report = api.enroll(
            engine, target, name, [data], confirm_other_person=confirm_other_resident
        )
    if report.rejected:
        _, exc = report.rejected[0]
        raise PhotoRejected(str(exc).replace("upload:", f"{filename}:", 1), exc)
    photo = session.get(Photo, target.photo_id)
    res = fetch(session, Resident, resident_id, "resident")
    assert photo is not None
    return EnrolOut(
        photo=PhotoOut.model_validate(photo),
        resident=resident_out(session, res),
        sharpness=photo.sharpness,
        models=target.models,
        warnings=[w.replace("upload:", f"{filename}:", 1) for w in report.warnings],
        warning_codes=[warning_code(w) for w in report.warnings],
    )


def warning_code(warning: str) -> str:
    """The kind of an enrolment warning of `api.enroll`, for a UI to explain it in words."""
    if "already belongs to" in warning:
        return "face_of_other_resident"
    if "does not look like" in warning:
        return "photo_mismatch"
    return "unchecked"


def list_photos(session: Session, resident_id: int) -> list[PhotoOut]:
    r = fetch(session, Resident, resident_id, "resident")
    return [PhotoOut.model_validate(p) for p in r.photos]


def _photo(session: Session, resident_id: int, photo_id: int) -> Photo:
    p = session.get(Photo, photo_id) if 1 <= photo_id <= DB_INT else None
    if p is None or p.resident_id != resident_id:
        raise NotFound.of("photo", photo_id)
    return p


def photo_thumbnail(session: Session, vault: Vault, resident_id: int, photo_id: int) -> bytes:
    """The JPEG thumbnail kept of an enrolled photo (stored sealed)."""
    p = _photo(session, resident_id, photo_id)
    if not p.thumbnail:
        raise NotFound("no thumbnail kept for this photo")
    return vault.open(p.thumbnail)


def delete_photo(session: Session, who: Principal, resident_id: int, photo_id: int) -> None:
    """The photo and its templates."""
    require(who, Role.OPERATOR)
    p = _photo(session, resident_id, photo_id)
    session.execute(delete(Template).where(Template.photo_id == p.id))
    audit(session, who, "photo_delete", f"resident:{resident_id}", photo=p.id)
    session.delete(p)
    bump(session, GALLERY)
    session.commit()
