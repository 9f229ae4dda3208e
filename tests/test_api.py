"""The plain-function API: enrol real faces, identify them, report bad photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate import api
from facegate.engine import FaceEngine
from facegate.errors import OtherResidentFaceError
from facegate.gallery.store import SQLiteGallery
from tests.conftest import write_image


def test_enrol_then_identify_real_faces(
    engine: FaceEngine,
    tmp_path: Path,
    hopper_path: Path,
    hopper_reshot: np.ndarray,
    astronaut: np.ndarray,
) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        rep = api.enroll(engine, store, "Grace Hopper", [hopper_path])
        assert rep.accepted == [str(hopper_path)] and not rep.rejected
        assert {m: store.templates(m).matrix.shape for m in ("sface", "reid")} == {
            "sface": (1, 128),
            "reid": (1, 256),
        }
        again = write_image(tmp_path / "again.jpg", hopper_reshot)
        stranger = write_image(tmp_path / "stranger.png", astronaut)
        (hit,) = api.identify(engine, store, again)
        assert hit.match.person is not None and hit.match.person.name == "Grace Hopper"
        (miss,) = api.identify(engine, store, stranger)
        assert miss.match.person is None


def test_enrolment_keeps_good_photos_and_reports_bad_ones(
    engine: FaceEngine, tmp_path: Path, hopper_path: Path
) -> None:
    blank = write_image(tmp_path / "blank.png", np.full((200, 200, 3), 127, np.uint8))
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        rep = api.enroll(engine, store, "Grace", [blank, hopper_path])
        assert rep.accepted == [str(hopper_path)]
        assert [(s, e.code) for s, e in rep.rejected] == [(str(blank), "no_face")]
        nothing = api.enroll(engine, store, "Nobody", [blank])
        assert nothing.person is None
        assert [p.name for p in store.persons()] == ["Grace"]


def test_a_face_of_another_person_is_refused_unless_confirmed(
    tmp_path: Path, engine: FaceEngine, hopper_path: Path, hopper_reshot: np.ndarray
) -> None:
    again = write_image(tmp_path / "again.jpg", hopper_reshot)
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        assert api.enroll(engine, store, "Grace Hopper", [hopper_path]).accepted
        report = api.enroll(engine, store, "Ann Lee", [again])
        assert report.person is None and not report.accepted
        [(source, error)] = report.rejected
        assert source == str(again)
        assert isinstance(error, OtherResidentFaceError)
        assert "already belongs to Grace Hopper" in str(error) and "confirm" in str(error)
        assert [p.name for p in store.persons()] == ["Grace Hopper"]  # nothing written

        confirmed = api.enroll(engine, store, "Ann Lee", [again], confirm_other_person=True)
        assert confirmed.accepted == [str(again)] and not confirmed.rejected
        assert any("Grace Hopper" in w and "(confirmed)" in w for w in confirmed.warnings)


def test_a_photo_unlike_the_persons_others_is_enrolled_with_a_warning(
    tmp_path: Path, engine: FaceEngine, hopper_path: Path, astronaut: np.ndarray
) -> None:
    other = write_image(tmp_path / "astronaut.jpg", astronaut)
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        first = api.enroll(engine, store, "Grace Hopper", [hopper_path])
        assert first.warnings == []  # nothing to compare a first photo with
        report = api.enroll(engine, store, "Grace Hopper", [other])
    assert report.accepted == [str(other)] and report.person.photos == 2
    [warning] = report.warnings
    assert "does not look like the other photos of Grace Hopper" in warning


def test_enrolment_photos_too_dark_or_looking_away_are_refused_with_a_reason(
    engine: FaceEngine, hopper: np.ndarray, monkeypatch
) -> None:
    import cv2
    import pytest

    from facegate.errors import FaceQualityError
    from facegate.models.base import Face

    with pytest.raises(FaceQualityError, match=r"dark\.jpg: face too dark") as e:
        api.enrolment_face(engine, cv2.convertScaleAbs(hopper, alpha=0.15), "dark.jpg")
    assert e.value.reason == "too_dark" and e.value.code == "low_quality"
    assert api.enrolment_face(engine, hopper).sharpness > 30  # the same photo, lit
    # the same face with its nose tip moved sideways by 0.4 eye distances: a turned head
    real = engine.detect(hopper)[0]
    marks = real.landmarks.copy()
    marks[2, 0] += 0.4 * float(np.linalg.norm(marks[1] - marks[0]))
    monkeypatch.setattr(engine, "detect", lambda image: [Face(real.bbox, marks, real.score)])
    with pytest.raises(FaceQualityError, match=r"turned\.jpg: looking away") as e:
        api.enrolment_face(engine, hopper, "turned.jpg")
    assert e.value.reason == "looking_away"
