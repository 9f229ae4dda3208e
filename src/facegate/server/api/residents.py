"""Residents and their enrolment photos (`operations.residents`). Upload runs `api.enroll`,
the function behind `facegate enroll`: same quality gate, same messages, templates for every
recogniser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile

from facegate.server.api.uploads import read_upload
from facegate.server.deps import DB, Operator, State, Viewer
from facegate.server.operations import privacy, resident_import, residents
from facegate.server.operations.import_files import ImportLimits
from facegate.server.privacy_schemas import ResidentExport
from facegate.server.resident_schemas import ImportReport
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

router = APIRouter(
    prefix="/residents", tags=["residents"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]


@router.get("", response_model=list[ResidentOut])
def list_residents(
    session: DB,
    who: Viewer,
    q: Annotated[str | None, Query(max_length=200, description="part of name or apartment")] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=DB_INT)] = 0,
) -> list[ResidentOut]:
    return residents.list_residents(session, q, active, limit, offset)


@router.post("", response_model=ResidentOut, status_code=201, responses={409: ERRORS[409]})
def create_resident(body: ResidentIn, session: DB, who: Operator) -> ResidentOut:
    """A resident without photos yet: the door cannot recognise them until one is enrolled."""
    return residents.create_resident(session, who, body)


@router.post(
    "/import",
    response_model=ImportReport,
    responses={400: ERRORS[400], 413: ERRORS[413]},
)
def import_residents(
    csv: Annotated[
        UploadFile, File(description="UTF-8 CSV: name, apartment, photo (file names), notes")
    ],
    session: DB,
    state: State,
    who: Operator,
    photos: Annotated[UploadFile | None, File(description="a zip of the photos named")] = None,
) -> ImportReport:
    """Add residents from a CSV (and their photos from a zip); the answer says for every row
    whether it was added or skipped and why (duplicate, bad_row, no_photo_accepted with each
    photo's reason). One row's refusal never stops the others. A 400 `bad_import` (nothing
    changed) when a file as a whole is unusable: not UTF-8, no name column, not a zip, over
    the limits of docs/server.md#bulk-import."""
    limits = ImportLimits()
    csv_data = read_upload(csv, limits.csv_mb)
    zip_data = read_upload(photos, limits.zip_mb) if photos is not None else None
    return resident_import.import_residents(session, state, who, csv_data, zip_data or None)


@router.get("/{resident_id}", response_model=ResidentDetail, responses={404: ERRORS[404]})
def get_resident(resident_id: Id, session: DB, who: Viewer) -> ResidentDetail:
    return residents.get_resident(session, resident_id)


@router.patch(
    "/{resident_id}", response_model=ResidentOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def update_resident(
    resident_id: Id, body: ResidentUpdate, session: DB, who: Operator
) -> ResidentOut:
    return residents.update_resident(session, who, resident_id, body)


@router.delete("/{resident_id}", status_code=204, responses={404: ERRORS[404]})
def delete_resident(resident_id: Id, session: DB, state: State, who: Operator) -> None:
    """The resident, their photos and templates (the door forgets the face at once), and
    their trace elsewhere: snapshots of events where they were recognised or claimed are
    deleted, those events stay as "erased resident #id", earlier audit entries lose their
    name and photo file names. The audit keeps that the erasure happened."""
    residents.delete_resident(session, state.journal, who, resident_id)


@router.get("/{resident_id}/export", response_model=ResidentExport, responses={404: ERRORS[404]})
def export_resident(resident_id: Id, session: DB, state: State, who: Operator) -> ResidentExport:
    """Everything held about one resident, for a person's request for their data: the
    record, each photo as a base64 JPEG, which templates exist (model and version; the
    embeddings stay sealed), the access rules naming them, and the door events where they
    were the recognised or claimed person, with `snapshot_url` links. Audited."""
    return privacy.export_resident(session, state.journal, state.gallery.vault, who, resident_id)


# -- photos --------------------------------------------------------------------------------


@router.post(
    "/{resident_id}/photos",
    response_model=EnrolOut,
    status_code=201,
    responses={
        404: ERRORS[404],
        409: {"model": ERRORS[400]["model"], "description": "the face is another resident's"},
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
    confirm_other_resident: Annotated[
        bool, Form(description="enrol even though the face matches another resident")
    ] = False,
) -> EnrolOut:
    """Enrol one photo: exactly one clear, large enough face, or a 422 whose `reason` is
    no_face, several_faces, too_small, too_dark, too_bright, too_blurry, looking_away or
    bad_file; a face that already belongs to another resident is a 409 (`reason`
    face_of_other_resident) unless confirmed. A face unlike the resident's other photos is
    enrolled, with `warnings` saying so."""
    max_mb = state.config.server.max_upload_mb
    return residents.add_photo(
        session,
        state,
        who,
        resident_id,
        file.filename or "upload",
        lambda: read_upload(file, max_mb),
        confirm_other_resident,
    )


@router.get("/{resident_id}/photos", response_model=list[PhotoOut], responses={404: ERRORS[404]})
def list_photos(resident_id: Id, session: DB, who: Viewer) -> list[PhotoOut]:
    return residents.list_photos(session, resident_id)


@router.get(
    "/{resident_id}/photos/{photo_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def photo_image(resident_id: Id, photo_id: Id, session: DB, state: State, who: Viewer) -> Response:
    """A JPEG thumbnail of the enrolled photo."""
    jpeg = residents.photo_thumbnail(session, state.gallery.vault, resident_id, photo_id)
    return Response(jpeg, media_type="image/jpeg")


@router.delete("/{resident_id}/photos/{photo_id}", status_code=204, responses={404: ERRORS[404]})
def delete_photo(resident_id: Id, photo_id: Id, session: DB, who: Operator) -> None:
    """The photo and its templates."""
    residents.delete_photo(session, who, resident_id, photo_id)
