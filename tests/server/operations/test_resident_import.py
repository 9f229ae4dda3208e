"""Bulk import through `operations.resident_import`, with no HTTP in between: real faces
(Grace Hopper, Eileen Collins), a photo with no face, a dark one, a duplicate, a name that
climbs out of the zip, a zip bomb; each row gets its own verdict and none loses another."""

from __future__ import annotations

import io
import zipfile

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.server.db.models import AuditEntry, Photo, Resident
from facegate.server.errors import BadImport, Forbidden
from facegate.server.operations import residents
from facegate.server.operations.import_files import ImportLimits
from facegate.server.operations.resident_import import import_residents
from facegate.server.schemas import ResidentIn
from facegate.server.state import ServerState
from tests.server.conftest import OPERATOR, VIEWER, jpeg


def make_zip(files: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


@pytest.fixture
def faces(hopper: np.ndarray, astronaut: np.ndarray) -> dict[str, bytes]:
    return {
        "photos/hopper.jpg": jpeg(hopper),
        "photos/collins.png": cv2.imencode(".png", astronaut)[1].tobytes(),
        "photos/wall.jpg": jpeg(np.full((400, 400, 3), 120, np.uint8)),
        "photos/dark.jpg": jpeg(cv2.convertScaleAbs(hopper, alpha=0.15)),
        # 64 MB of zeros: a few kB zipped, larger than server.max_upload_mb unpacked
        "photos/bomb.jpg": b"\0" * (64 * 1024 * 1024),
        "../../etc/evil.jpg": jpeg(hopper),
    }


def test_each_row_gets_its_verdict_and_none_loses_another(
    session: Session, state: ServerState, faces: dict[str, bytes]
) -> None:
    residents.create_resident(session, OPERATOR, ResidentIn(name="Ann Lee", apartment="1"))
    csv = (
        "\ufeffname;apartment;photo;notes\n"  # Excel's BOM and semicolons
        "Grace Hopper;12;hopper.jpg;navy\n"
        "Eileen Collins;14;photos/collins.png;\n"
        "Blank Wall;15;wall.jpg;\n"
        "Dim Light;16;dark.jpg;\n"
        "ann lee;1;;\n"  # a duplicate in another case
        "Bob Stone;17;;\n"  # no photo: added, with a warning
        "Zip Bomb;18;bomb.jpg;\n"
        "Eve Climber;19;../../etc/evil.jpg;\n"
        '=HYPERLINK("http://x");20;;\n'
        "Gone Photo;21;missing.jpg;\n"
        "Grace Hopper;12;hopper.jpg;\n"  # the same row again
        ";22;;\n"  # no name
    ).encode()
    report = import_residents(session, state, OPERATOR, csv, make_zip(faces))
    got = {(r.line, r.name): (r.status, r.reason) for r in report.rows}
    assert got == {
        (2, "Grace Hopper"): ("added", None),
        (3, "Eileen Collins"): ("added", None),
        (4, "Blank Wall"): ("skipped", "no_photo_accepted"),
        (5, "Dim Light"): ("skipped", "no_photo_accepted"),
        (6, "ann lee"): ("skipped", "duplicate"),
        (7, "Bob Stone"): ("added", None),
        (8, "Zip Bomb"): ("skipped", "no_photo_accepted"),
        (9, "Eve Climber"): ("skipped", "no_photo_accepted"),
        (10, '=HYPERLINK("http://x")'): ("skipped", "bad_row"),
        (11, "Gone Photo"): ("skipped", "no_photo_accepted"),
        (12, "Grace Hopper"): ("skipped", "duplicate"),
        (13, ""): ("skipped", "bad_row"),
    }
    photo_reasons = {r.name: r.photos[0].reason for r in report.rows if r.photos}
    assert photo_reasons == {
        "Grace Hopper": None,
        "Eileen Collins": None,
        "Blank Wall": "no_face",
        "Dim Light": "too_dark",
        "Zip Bomb": "photo_too_large",
        "Eve Climber": "unsafe_name",
        "Gone Photo": "photo_missing",
    }
    by_line = {r.line: r for r in report.rows}
    assert by_line[5].message.startswith("dark.jpg: face too dark")
    assert "spreadsheet formula" in by_line[10].message
    assert by_line[7].warnings and by_line[7].resident_id is not None
    assert (report.added, report.skipped) == (3, 9)
    # the file that climbs out of the zip was never matched, although a row named it
    assert report.unused_photos == ["../../etc/evil.jpg"]

    stored = {r.name: r for r in session.scalars(select(Resident))}
    assert sorted(stored) == ["Ann Lee", "Bob Stone", "Eileen Collins", "Grace Hopper"]
    hopper = stored["Grace Hopper"]
    assert (hopper.apartment, hopper.notes) == ("12", "navy")
    photos = session.scalars(select(Photo).where(Photo.resident_id == hopper.id)).all()
    assert [p.filename for p in photos] == ["hopper.jpg"] and photos[0].thumbnail
    # the door knows the imported faces, under the right names
    names = set(state.gallery.templates("sface").names.values())
    assert names == {"Grace Hopper", "Eileen Collins"}
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-1] == "resident_import" and actions.count("photo_add") == 2


def test_a_face_already_enrolled_under_another_name_is_not_imported(
    session: Session, state: ServerState, faces: dict[str, bytes]
) -> None:
    first = import_residents(
        session, state, OPERATOR, b"name,photo\nGrace Hopper,hopper.jpg\n", make_zip(faces)
    )
    assert first.added == 1
    again = import_residents(
        session, state, OPERATOR, b"name,photo\nAmazing Grace,hopper.jpg\n", make_zip(faces)
    )
    row = again.rows[0]
    assert (row.status, row.photos[0].reason) == ("skipped", "face_of_other_resident")
    assert "already belongs to Grace Hopper" in row.message
    assert "photos/collins.png" in again.unused_photos


def test_whole_file_refusals_change_nothing(
    session: Session, state: ServerState, faces: dict[str, bytes]
) -> None:
    good = b"name\nAnn\n"
    cases = [
        ("name\nJos\xe9\n".encode("latin-1"), None, "not UTF-8 text"),
        (b"who,where\nAnn,1\n", None, "must name the columns"),
        (b"", None, "empty"),
        (good, b"PK\x03\x04 not really a zip", "not a readable zip"),
        (good, make_zip({f"{k}.jpg": b"x" for k in range(5)}), "holds 5 files; at most 4"),
        (good, make_zip({"a.jpg": b"\0" * 3_000_000}), "unpacks to 3 MB; at most 2 MB"),
        (b"name\n" + b"x\n" * 5, None, "more than 4 rows"),
    ]
    limits = ImportLimits(rows=4, entries=4, unpacked_mb=2)
    for csv, archive, message in cases:
        with pytest.raises(BadImport, match=message):
            import_residents(session, state, OPERATOR, csv, archive, limits)
    assert session.scalars(select(Resident)).all() == []
    with pytest.raises(Forbidden):
        import_residents(session, state, VIEWER, good)


def test_utf8_without_bom_commas_quotes_and_russian_columns(
    session: Session, state: ServerState
) -> None:
    csv = 'ФИО,Квартира,Примечание\n"Иванов, Иван",5,"этаж ""3"""\nПётр Петров,6,\n'.encode()
    report = import_residents(session, state, OPERATOR, csv)
    assert [(r.name, r.apartment, r.status) for r in report.rows] == [
        ("Иванов, Иван", "5", "added"),
        ("Пётр Петров", "6", "added"),
    ]
    ivan = session.scalar(select(Resident).where(Resident.apartment == "5"))
    assert ivan is not None and ivan.notes == 'этаж "3"'
