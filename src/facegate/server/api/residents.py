"""Residents and their enrolment photos. Upload runs `api.enroll`, the function behind
`facegate enroll`: same quality gate, same messages, templates for every recogniser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import cv2
from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from facegate import api
from facegate.errors import FaceGateError
from facegate.gallery.store import NewTemplate, Person
from facegate.imageio import load_image
from facegate.server.api.errors import ApiError, not_found, photo_reason, status_for
from facegate.server.db.database import bump
from facegate.server.db.models import Photo, Resident, Template
from facegate.server.deps import DB, Operator, State, Viewer, audit
from facegate.server.schemas import (
    DB_INT,
    ERRORS,
    EnrolOut,
    PhotoOut,
    ResidentDetail,
    ResidentIn,
    ResidentOut,
    ResidentUpdate,
)
from facegate.server.sql_gallery import GALLERY, SqlGallery, photo_count

router = APIRouter(
    prefix="/residents", tags=["residents"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]
THUMB_PX = 320


def _out(session: Session, r: Resident) -> ResidentOut:
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
    )


def _get(session: Session, resident_id: int) -> Resident:
    r = session.get(Resident, resident_id)
    if r is None:
        raise not_found("resident", resident_id)
    return r


def _name_free(session: Session, name: str, but: int | None = None) -> None:
    q = select(Resident.id).where(func.lower(Resident.name) == name.lower())
    if but is not None:
        q = q.where(Resident.id != but)
    if session.scalar(q) is not None:
        raise ApiError(409, "duplicate_name", f"a resident named {name!r} exists already")


@router.get("", response_model=list[ResidentOut])
def list_residents(
    session: DB,
    who: Viewer,
    q: Annotated[str | None, Query(max_length=200, description="part of name or apartment")] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=DB_INT)] = 0,
) -> list[ResidentOut]:
    stmt = select(Resident).order_by(Resident.name).limit(limit).offset(offset)
    if q:
        like = f"%{q.replace(chr(0), '').lower()}%"
        stmt = stmt.where(
            or_(func.lower(Resident.name).like(like), func.lower(Resident.apartment).like(like))
        )
    if active is not None:
        stmt = stmt.where(Resident.active == active)
    return [_out(session, r) for r in session.scalars(stmt)]


@router.post("", response_model=ResidentOut, status_code=201, responses={409: ERRORS[409]})
def create_resident(body: ResidentIn, session: DB, who: Operator) -> ResidentOut:
    """A resident without photos yet: the door cannot recognise them until one is enrolled."""
    _name_free(session, body.name)
    r = Resident(**body.model_dump())
    session.add(r)
    session.flush()
    bump(session, GALLERY)
    audit(session, who, "resident_create", f"resident:{r.id}", name=r.name)
    session.commit()
    return _out(session, r)


@router.get("/{resident_id}", response_model=ResidentDetail, responses={404: ERRORS[404]})
def get_resident(resident_id: Id, session: DB, who: Viewer) -> ResidentDetail:
    r = _get(session, resident_id)
    return ResidentDetail(
        **_out(session, r).model_dump(), photo_list=[PhotoOut.model_validate(p) for p in r.photos]
    )


@router.patch(
    "/{resident_id}", response_model=ResidentOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def update_resident(
    resident_id: Id, body: ResidentUpdate, session: DB, who: Operator
) -> ResidentOut:
    r = _get(session, resident_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        if not changes["name"]:
            raise ApiError(400, "bad_value", "name must not be blank")
        _name_free(session, changes["name"], but=r.id)
    for k, v in changes.items():
        if k in ("name", "apartment", "notes", "active") and v is None:
            continue
        setattr(r, k, v)
    if r.valid_from and r.valid_until and r.valid_until <= r.valid_from:
        raise ApiError(400, "bad_value", "valid_until must be after valid_from")
    bump(session, GALLERY)
    audit(session, who, "resident_update", f"resident:{r.id}", fields=sorted(changes))
    session.commit()
    return _out(session, r)


@router.delete("/{resident_id}", status_code=204, responses={404: ERRORS[404]})
def delete_resident(resident_id: Id, session: DB, who: Operator) -> None:
    """The resident, their photos and templates: the door forgets the face at once."""
    r = _get(session, resident_id)
    session.execute(delete(Template).where(Template.resident_id == r.id))
    session.execute(delete(Photo).where(Photo.resident_id == r.id))
    audit(session, who, "resident_delete", f"resident:{r.id}", name=r.name)
    session.delete(r)
    bump(session, GALLERY)
    session.commit()


# -- photos --------------------------------------------------------------------------------


def _thumbnail(data: bytes) -> bytes | None:
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
            thumbnail=_thumbnail(self.data),
            also=log,
        )
        return person


def read_upload(file: UploadFile, max_mb: float) -> bytes:
    limit = int(max_mb * 1024 * 1024)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413,
            "upload_too_large",
            f"{file.filename or 'upload'} is larger than {max_mb:g} MB; scale the photo down",
            "bad_file",
        )
    return data


@router.post(
    "/{resident_id}/photos",
    response_model=EnrolOut,
    status_code=201,
    responses={
        404: ERRORS[404],
        413: ERRORS[413],
        422: {"model": ERRORS[400]["model"], "description": "photo rejected; `reason` says why"},
    },
)
def add_photo(
    resident_id: Id,
    file: Annotated[UploadFile, File(description="a photo")],
    session: DB,
    state: State,
    who: Operator,
) -> EnrolOut:
    """Enrol one photo: exactly one clear, large enough face, or a 422 whose `reason` is
    no_face, several_faces, too_small, too_blurry or bad_file."""
    r = _get(session, resident_id)
    name, filename = r.name, (file.filename or "upload")[:255]
    session.rollback()  # no read transaction held across the slow part
    data = read_upload(file, state.config.server.max_upload_mb)
    target = _PhotoTarget(state.gallery, resident_id, filename, data, who.name)
    with state.face_engine() as engine:
        report = api.enroll(engine, target, name, [data])  # type: ignore[arg-type]
    if report.rejected:
        _, exc = report.rejected[0]
        msg = str(exc).replace("upload:", f"{filename}:", 1)
        status = status_for(exc)
        raise ApiError(422 if status == 400 else status, exc.code, msg, photo_reason(exc))
    photo = session.get(Photo, target.photo_id)
    res = _get(session, resident_id)
    assert photo is not None
    return EnrolOut(
        photo=PhotoOut.model_validate(photo),
        resident=_out(session, res),
        sharpness=photo.sharpness,
        models=target.models,
    )


@router.get("/{resident_id}/photos", response_model=list[PhotoOut], responses={404: ERRORS[404]})
def list_photos(resident_id: Id, session: DB, who: Viewer) -> list[Photo]:
    return list(_get(session, resident_id).photos)


def _photo(session: Session, resident_id: int, photo_id: int) -> Photo:
    p = session.get(Photo, photo_id)
    if p is None or p.resident_id != resident_id:
        raise not_found("photo", photo_id)
    return p


@router.get(
    "/{resident_id}/photos/{photo_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def photo_image(resident_id: Id, photo_id: Id, session: DB, who: Viewer) -> Response:
    """A JPEG thumbnail of the enrolled photo."""
    p = _photo(session, resident_id, photo_id)
    if not p.thumbnail:
        raise ApiError(404, "not_found", "no thumbnail kept for this photo")
    return Response(p.thumbnail, media_type="image/jpeg")


@router.delete("/{resident_id}/photos/{photo_id}", status_code=204, responses={404: ERRORS[404]})
def delete_photo(resident_id: Id, photo_id: Id, session: DB, who: Operator) -> None:
    """The photo and its templates."""
    p = _photo(session, resident_id, photo_id)
    session.execute(delete(Template).where(Template.photo_id == p.id))
    audit(session, who, "photo_delete", f"resident:{resident_id}", photo=p.id)
    session.delete(p)
    bump(session, GALLERY)
    session.commit()
