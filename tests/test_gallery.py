"""Gallery: enrol, 1:N with open-set rejection, versions, and safe failure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from facegate import api
from facegate.engine import FaceEngine
from facegate.errors import GalleryError, ModelVersionMismatch
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import NewTemplate, SQLiteGallery
from tests.conftest import write_image


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_best_template_per_person_and_unknown(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person(
            "ann",
            [
                NewTemplate("m", "v1", unit([1, 0, 0]), source="a1"),
                NewTemplate("m", "v1", unit([0, 1, 0]), source="a2"),
            ],
        )
        store.add_person("bob", [NewTemplate("m", "v1", unit([0, 0, 1]), source="b1")])
        gallery = Gallery(store.templates("m"), "v1")
    assert len(gallery) == 2
    m = gallery.identify(unit([0.1, 1, 0]), threshold=0.9)
    assert m.person is not None and m.person.name == "ann"
    assert m.candidates[0].score == pytest.approx(m.score)
    assert m.candidates[1].name == "bob"
    stranger = gallery.identify(unit([1, 1, 1]), threshold=0.9)
    assert stranger.person is None and stranger.score < 0.9


def test_other_model_version_is_refused(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person("ann", [NewTemplate("sface", "oldversion", unit([1, 0]))])
        with pytest.raises(ModelVersionMismatch, match="re-enrol"):
            Gallery(store.templates("sface"), "newversion")


def test_locked_database_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as store:
        store.add_person("ann", [NewTemplate("m", "v", unit([1, 0]), source="a")])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (
            SQLiteGallery(path, timeout_s=0.2) as store,
            pytest.raises(GalleryError, match="locked"),
        ):
            store.add_person("bob", [NewTemplate("m", "v", unit([0, 1]))])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with SQLiteGallery(path) as store:
        assert [p.name for p in store.persons()] == ["ann"]
        assert store.templates("m").matrix.shape == (1, 2)


def test_not_a_gallery_and_missing_gallery(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(GalleryError, match="not a FaceGate gallery"):
        SQLiteGallery(junk)
    with pytest.raises(GalleryError, match="does not exist"):
        SQLiteGallery(tmp_path / "absent.sqlite", create=False)


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
        assert {m: store.templates(m).matrix.shape for m in ("sface", "dlib")} == {
            "sface": (1, 128),
            "dlib": (1, 128),
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
