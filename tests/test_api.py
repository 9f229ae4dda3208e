"""The plain-function API: enrol real faces, identify them, report bad photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate import api
from facegate.engine import FaceEngine
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
