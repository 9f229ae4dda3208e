"""Bulk import: a CSV of residents (name, apartment, optional photo file names and notes) and
an optional zip of their photos, with a report saying what happened to every row.

Each row is its own unit: a refused row (a duplicate name, a bad cell, a photo with no face)
is reported and the next row goes on; rows already added stay added whatever happens later.
A photo goes through `api.enroll` (the quality gate and the identity checks of
`facegate enroll` and `POST /residents/{id}/photos`) against a store that keeps nothing, and
only a photo it accepts is written, with the templates it computed; so a row whose photos are
all refused adds no resident, and the resident appears with their first good photo. Files
are read by `import_files` (limits, zip-bomb and path checks) before any row is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import replace

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from facegate import api
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.gallery.store import NewTemplate, Person, TemplateSet
from facegate.server.auth import Principal, Role
from facegate.server.db.models import Resident
from facegate.server.errors import DuplicateName, photo_reason
from facegate.server.operations.common import audit, require
from facegate.server.operations.import_files import (
    CsvRow,
    ImportLimits,
    PhotoArchive,
    read_csv,
)
from facegate.server.operations.residents import create_resident, thumbnail_jpeg
from facegate.server.resident_schemas import ImportPhotoOut, ImportReport, ImportRowOut
from facegate.server.schemas import ResidentIn
from facegate.server.sql_gallery import SqlGallery
from facegate.server.state import ServerState

log = logging.getLogger("facegate.server")


class _DryRun:
    """The `GalleryStore` a photo is checked against: everyone's templates, nothing written;
    what `api.enroll` would have written is kept for the caller to write."""

    def __init__(self, gallery: SqlGallery) -> None:
        self.gallery = gallery
        self.kept: list[NewTemplate] = []

    def templates(self, model: str) -> TemplateSet:
        return self.gallery.templates(model)

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        self.kept = list(templates)
        return Person(0, name, 0)


def _photo_names(cell: str) -> list[str]:
    return [n.strip() for n in cell.replace(",", ";").split(";") if n.strip()]


def _bad_row(row: CsvRow, reason: str, message: str) -> ImportRowOut:
    return ImportRowOut(
        line=row.line,
        name=row.values["name"][:200],
        apartment=row.values["apartment"][:64],
        status="skipped",
        reason=reason,
        message=message,
    )


def _resident_in(row: CsvRow) -> ResidentIn:
    v = row.values
    return ResidentIn(name=v["name"], apartment=v["apartment"], notes=v["notes"])


class _Importer:
    """One import's rows, one at a time, with the engine held for the whole import."""

    def __init__(
        self,
        session: Session,
        state: ServerState,
        who: Principal,
        archive: PhotoArchive | None,
        engine: FaceEngine | None,
    ) -> None:
        self.session, self.state, self.who = session, state, who
        self.archive, self.engine = archive, engine
        self.names_seen: set[str] = set()

    def row(self, row: CsvRow) -> ImportRowOut:
        if row.problem:
            return _bad_row(row, "bad_row", row.problem)
        try:
            body = _resident_in(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            return _bad_row(row, "bad_row", f"{field}: {err['msg']}")
        key = body.name.casefold()
        if key in self.names_seen or self._exists(body.name):
            return _bad_row(row, "duplicate", f"a resident named {body.name!r} exists already")
        self.names_seen.add(key)
        names = _photo_names(row.values["photo"])
        out = ImportRowOut(
            line=row.line, name=body.name, apartment=body.apartment, status="skipped"
        )
        if not names:
            return self._create(out, body, [])
        photos = [self._check(body.name, n, out) for n in names]
        good = [(n, data, t) for n, data, t in photos if t]
        if not good:
            first = out.photos[0]
            out.reason, out.message = "no_photo_accepted", first.message
            return out
        return self._create(out, body, good)

    def _exists(self, name: str) -> bool:
        q = select(Resident.id).where(func.lower(Resident.name) == name.lower())
        found = self.session.scalar(q) is not None
        self.session.rollback()
        return found

    def _check(
        self, name: str, file: str, out: ImportRowOut
    ) -> tuple[str, bytes, list[NewTemplate]]:
        """One photo through `api.enroll` with nothing written; its report in `out.photos`."""
        if self.archive is None:
            out.photos.append(
                ImportPhotoOut(
                    file=file,
                    accepted=False,
                    reason="photo_missing",
                    message=f"{file}: no zip of photos was sent",
                )
            )
            return file, b"", []
        data, reason, message = self.archive.read(file)
        if data is None:
            out.photos.append(
                ImportPhotoOut(file=file, accepted=False, reason=reason, message=message)
            )
            return file, b"", []
        assert self.engine is not None
        dry = _DryRun(self.state.gallery)
        report = api.enroll(self.engine, dry, name, [data])
        label = lambda text: text.replace("upload:", f"{file}:", 1)  # noqa: E731
        if report.rejected:
            exc = report.rejected[0][1]
            out.photos.append(
                ImportPhotoOut(
                    file=file, accepted=False, reason=photo_reason(exc), message=label(str(exc))
                )
            )
            return file, data, []
        out.photos.append(
            ImportPhotoOut(file=file, accepted=True, warnings=[label(w) for w in report.warnings])
        )
        return file, data, dry.kept

    def _create(
        self,
        out: ImportRowOut,
        body: ResidentIn,
        photos: list[tuple[str, bytes, list[NewTemplate]]],
    ) -> ImportRowOut:
        try:
            res = create_resident(self.session, self.who, body)
        except DuplicateName as exc:  # added meanwhile by someone else
            self.session.rollback()
            out.reason, out.message = "duplicate", str(exc)
            return out
        out.status, out.resident_id, out.reason = "added", res.id, None
        for file, data, templates in photos:
            self._store(res.id, file, data, templates)
        if not photos:
            out.warnings.append("no photo: the door cannot recognise them until one is added")
        return out

    def _store(self, rid: int, file: str, data: bytes, templates: list[NewTemplate]) -> None:
        models = sorted({t.model for t in templates})

        def log_photo(session: Session, photo_id: int) -> None:
            audit(
                session,
                self.who,
                "photo_add",
                f"resident:{rid}",
                photo=photo_id,
                filename=file[:255],
                models=models,
                via="import",
            )

        self.state.gallery.add_photo(
            rid,
            [replace(t, source=file) for t in templates],
            filename=file[:255],
            thumbnail=thumbnail_jpeg(data),
            also=log_photo,
        )


def import_residents(
    session: Session,
    state: ServerState,
    who: Principal,
    csv_data: bytes,
    zip_data: bytes | None = None,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Add every usable row of the CSV as a resident (with their photos from the zip); the
    report says for each row what happened. `BadImport` (nothing changed) when a file as a
    whole is unusable; `Busy` when no face engine slot is free."""
    require(who, Role.OPERATOR)
    limits = limits or ImportLimits()
    table = read_csv(csv_data, limits)
    archive = (
        PhotoArchive(zip_data, limits, state.config.server.max_upload_mb) if zip_data else None
    )
    session.rollback()
    rows: list[ImportRowOut] = []
    needs_engine = archive is not None and any(r.values["photo"] for r in table.rows)
    with state.face_engine() if needs_engine else nullcontext() as engine:
        importer = _Importer(session, state, who, archive, engine)
        for row in table.rows:
            try:
                rows.append(importer.row(row))
            except (FaceGateError, SQLAlchemyError) as exc:
                session.rollback()
                rows.append(_bad_row(row, "error", f"not imported: {exc}"))
            except Exception:  # one row's fault must not lose the report of the others
                log.exception("import: line %d failed", row.line)
                session.rollback()
                rows.append(_bad_row(row, "error", "not imported: an internal error (logged)"))
    added = sum(r.status == "added" for r in rows)
    report = ImportReport(
        added=added,
        skipped=len(rows) - added,
        rows=rows,
        unused_photos=archive.unused() if archive else [],
    )
    audit(session, who, "resident_import", "", rows=len(rows), added=added)
    session.commit()
    return report
