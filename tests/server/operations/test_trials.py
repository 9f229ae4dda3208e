"""Test camera and Test door (`operations.trials`), on SQLite and PostgreSQL: the camera
test shows a frame with the faces found in it boxed, from a file source or a running
entrance; the door test pulses the adapter, is journalled and audited, and needs an
operator."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.runtime.sources import SourceConfig
from facegate.server.db.models import AuditEntry
from facegate.server.errors import BadSource, Disabled, Forbidden
from facegate.server.operations import entrances, trials
from facegate.server.schemas import EntranceIn
from facegate.server.state import ServerState
from tests.server.conftest import ADMIN, OPERATOR, VIEWER


def astronaut_folder(tmp_path: Path) -> Path:
    """An image-folder source: the astronaut (one face) on a wider doorway background."""
    folder = tmp_path / "frames"
    folder.mkdir()
    canvas = np.full((600, 900, 3), (90, 100, 110), np.uint8)
    canvas[44:556, 194:706] = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(folder / "0001.jpg"), canvas)
    return folder


def decode(url: str) -> np.ndarray:
    head, b64 = url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    image = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_camera_test_boxes_the_face_of_a_file_source(
    session: Session, state: ServerState, tmp_path: Path
) -> None:
    folder = astronaut_folder(tmp_path)
    out = trials.try_camera(session, state, ADMIN, None, SourceConfig(uri=str(folder)))
    assert out.taken_from == "source"
    assert (out.frame_width, out.frame_height) == (900, 600)
    assert (out.width, out.height) == (640, 427)  # at most 640 px wide
    assert len(out.faces) == 1
    face = out.faces[0]
    assert face.big_enough and 60 < face.size_px < 200 and face.score > 0.8
    assert abs(face.size_px - min(face.w, face.h) * 900 / 640) < 3  # in camera pixels
    # the box lies on the astronaut's face: in the picture's upper middle
    assert 194 * 640 / 900 < face.x < 706 * 640 / 900 and face.y < out.height / 2
    image = decode(out.image)
    assert image.shape[:2] == (out.height, out.width)
    edge = image[face.y, face.x + face.w // 2].astype(int)  # the box's top edge is drawn green
    assert edge[1] > 150 and edge[1] - max(edge[0], edge[2]) > 60


def test_camera_test_of_a_stored_entrance_and_its_refusals(
    session: Session, state: ServerState, tmp_path: Path
) -> None:
    folder = astronaut_folder(tmp_path)
    e = entrances.create_entrance(
        session, state, ADMIN, EntranceIn(name="hall", source={"uri": str(folder)})
    )
    assert len(trials.try_camera(session, state, OPERATOR, e.id).faces) == 1
    with pytest.raises(Forbidden):
        trials.try_camera(session, state, VIEWER, e.id)
    with pytest.raises(BadSource, match="no such file"):
        trials.try_camera(session, state, ADMIN, e.id, SourceConfig(uri=str(tmp_path / "no")))
    bare = entrances.create_entrance(session, state, ADMIN, EntranceIn(name="bare"))
    with pytest.raises(BadSource, match="no camera is set"):
        trials.try_camera(session, state, OPERATOR, bare.id)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadSource):
        trials.try_camera(session, state, ADMIN, None, SourceConfig(uri=str(empty)))


def test_door_test_pulses_journals_and_audits(session: Session, state: ServerState) -> None:
    main = entrances.list_entrances(session, state)[0]  # the log door: never fails
    with pytest.raises(Forbidden):
        trials.try_door(session, state, VIEWER, main.id)
    out = trials.try_door(session, state, OPERATOR, main.id)
    assert out.queued and out.event_id is not None
    assert out.actuated is True and out.error is None
    event = state.journal.query(entrance=main.name, limit=1)[0]
    assert event["id"] == out.event_id and event["reason"] == "manual open by user:oper: door test"
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "door_test")).all()
    assert [(a.actor, a.target) for a in rows] == [("user:oper", f"entrance:{main.id}")]


def test_door_test_of_a_disabled_entrance_is_refused(session: Session, state: ServerState) -> None:
    e = entrances.create_entrance(session, state, ADMIN, EntranceIn(name="shut", enabled=False))
    with pytest.raises(Disabled):
        trials.try_door(session, state, OPERATOR, e.id)
