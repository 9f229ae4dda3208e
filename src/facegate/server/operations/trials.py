"""Trying an entrance before trusting it: "Test camera" (one frame and the faces the
detector finds in it, boxed) and "Test door" (one pulse through the entrance's adapter).

A building manager setting up a door wants to see that the camera points at faces and
that the relay clicks, not read a state token. Both are operator actions, like the
settings they test: the camera test contacts the camera (the same allow-lists as saving
the source), the door test moves a lock, so it is journalled as a manual open and audited.

A running entrance already holds its camera (a USB camera cannot be opened twice), so the
camera test of a stored source takes the runtime's newest frame; otherwise it opens the
source itself, for at most `OPEN_TIMEOUT_S`. A video file is sampled every half second of
its first few seconds until a frame shows a face: its first frame is often an empty
doorway, and "no face" would then say nothing about the clip.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import cv2
import numpy as np
from sqlalchemy.orm import Session

from facegate.errors import FaceGateError
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig, SourceError, is_camera_spec, source_from_config
from facegate.server.auth import Principal, Role
from facegate.server.db.models import Entrance
from facegate.server.errors import BadSource, Disabled
from facegate.server.operations import allowed
from facegate.server.operations.common import audit, fetch, require
from facegate.server.operations.entrances import check_source, restore_source
from facegate.server.state import ServerState
from facegate.server.trial_schemas import CameraTestOut, DoorTestOut, FaceBox

OPEN_TIMEOUT_S = 8.0  # a camera that sends nothing for this long is reported, not waited for
FILE_SAMPLES = 10  # frames of a file looked at, every SAMPLE_STEP_S of stream time
SAMPLE_STEP_S = 0.5
MAX_WIDTH = 640
DOOR_WAIT_MAX_S = 10.0


# -- camera --------------------------------------------------------------------------------


def _read_one(source: Any, timeout: float) -> np.ndarray | None:
    """The next frame, or None at the end; `BadSource` when nothing comes in `timeout`.
    Read in a thread, so a driver stuck opening a camera cannot hold the request."""
    got: dict[str, Any] = {}

    def read() -> None:
        try:
            frame = source.read()
            got["image"] = None if frame is None else frame.image
        except Exception as exc:  # reported below; the thread must not die silently
            got["error"] = exc

    t = threading.Thread(target=read, daemon=True, name="camera-test")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise BadSource(f"no picture from the camera within {timeout:g} s: is it on and reachable?")
    if "error" in got:
        raise BadSource(f"the camera could not be read: {got['error']}")
    return got.get("image")


def _frames_of(cfg: SourceConfig, state: ServerState) -> tuple[list[np.ndarray], bool]:
    """A camera's next frame, or a file's sample frames; and whether it is a camera."""
    camera = is_camera_spec(cfg.uri)
    fast = cfg if camera else cfg.model_copy(update={"pace": "fast"})
    try:
        source = source_from_config(fast)
    except SourceError as exc:
        raise BadSource(str(exc)) from None
    try:
        if camera:
            image = _read_one(source, OPEN_TIMEOUT_S)
            return ([image] if image is not None else []), True
        step = max(1, round(getattr(source, "fps", 10.0) * SAMPLE_STEP_S))
        out: list[np.ndarray] = []
        index = 0
        while len(out) < FILE_SAMPLES:
            image = _read_one(source, OPEN_TIMEOUT_S)
            if image is None:
                break
            if index % step == 0:
                out.append(image)
            index += 1
        return out, False
    finally:
        source.close()


def _faces(state: ServerState, image: np.ndarray) -> list[Any]:
    with state.face_engine() as engine:
        return list(engine.detect(image))


def _boxed(
    image: np.ndarray, faces: list[Any], min_px: float
) -> tuple[bytes, list[FaceBox], float]:
    """The frame at most MAX_WIDTH wide, each face boxed (green: big enough for the door,
    amber: too small), as JPEG; the boxes in the returned picture's coordinates."""
    h, w = image.shape[:2]
    scale = min(1.0, MAX_WIDTH / w)
    out = image if scale == 1.0 else cv2.resize(image, (round(w * scale), round(h * scale)))
    out = np.ascontiguousarray(out).copy()
    boxes = []
    for f in faces:
        x, y, bw, bh = (float(v) for v in f.bbox[:4])
        size = min(bw, bh)
        ok = size >= min_px
        box = FaceBox(
            x=round(x * scale),
            y=round(y * scale),
            w=round(bw * scale),
            h=round(bh * scale),
            score=round(float(f.score), 3),
            size_px=round(size),
            big_enough=ok,
        )
        colour = (60, 200, 60) if ok else (0, 170, 255)
        thick = max(2, round(out.shape[1] / 240))
        cv2.rectangle(out, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, thick)
        boxes.append(box)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise BadSource("the frame could not be encoded as JPEG")
    return buf.tobytes(), boxes, scale


def _answer(
    state: ServerState, images: list[np.ndarray], min_px: float, taken_from: str
) -> CameraTestOut:
    if not images:
        raise BadSource("the source gave no picture (an empty file or folder?)")
    chosen, found = images[-1], []
    for image in images:  # the first sample that shows a face, else the last looked at
        faces = _faces(state, image)
        if faces:
            chosen, found = image, faces
            break
    jpeg, boxes, scale = _boxed(chosen, found, min_px)
    h, w = chosen.shape[:2]
    return CameraTestOut(
        image="data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"),
        width=round(w * scale),
        height=round(h * scale),
        frame_width=w,
        frame_height=h,
        taken_from=taken_from,  # type: ignore[arg-type]
        faces=boxes,
        min_face_px=min_px,
    )


def try_camera(
    session: Session,
    state: ServerState,
    who: Principal,
    entrance_id: int | None,
    source: SourceConfig | None = None,
) -> CameraTestOut:
    """One frame of `source` (or of the entrance's stored source) and the faces in it.

    `source` is what the form holds now, possibly unsaved: checked like a source being
    saved (allow-lists, existence), and a URL's `***` stands for this entrance's stored
    password. With no `source`, a running entrance's newest frame is used."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance") if entrance_id is not None else None
    quality = QualityConfig.model_validate(row.quality) if row else state.config.runtime.quality
    stored = SourceConfig.model_validate(row.source) if row and row.source else None
    if source is not None:
        source = restore_source(source, row.source if row else None)
        if stored is None or source.uri != stored.uri:
            allowed.check_source(state.config.server, who, source)
    if stored is not None and (source is None or source.uri == stored.uri):
        source = stored  # the camera the runtime may hold: its newest frame, if running
        latest = state.entrances.latest_frame(row.id)  # type: ignore[union-attr]
        if latest is not None and state.entrances.status(row.id).state == "running":  # type: ignore[union-attr]
            return _answer(state, [latest[0]], quality.min_face_px, "runtime")
    if source is None:
        raise BadSource("no camera is set for this entrance: give a source first")
    check_source(source)
    images, _camera = _frames_of(source, state)
    return _answer(state, images, quality.min_face_px, "source")


# -- door ----------------------------------------------------------------------------------


def _outcome(state: ServerState, entrance: str, event_id: int, wait_s: float) -> dict | None:
    """The door adapter's answer for the event (`door` on its journal row), once there."""
    deadline = time.monotonic() + wait_s
    while True:
        for e in state.journal.query(entrance=entrance, limit=20):
            if e["id"] == event_id and e["door"] is not None:
                return e["door"]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def try_door(session: Session, state: ServerState, who: Principal, entrance_id: int) -> DoorTestOut:
    """Pulse the door once through its adapter, as a manual open whose reason is "door
    test" (journalled, so the event log shows every time a lock moved), audited as
    `door_test`; waits for the adapter's answer for up to the pulse plus its timeout."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance")
    if not row.enabled:
        raise Disabled(f"entrance {row.name} is disabled")
    try:
        queued, event_id = state.entrances.open_door(row.id, "door test", who.name)
    except FaceGateError as exc:
        raise Disabled(str(exc)) from None
    audit(session, who, "door_test", f"entrance:{row.id}", queued=queued, event=event_id)
    session.commit()
    door = row.door or {}
    wait = min(DOOR_WAIT_MAX_S, float(door.get("pulse_s", 3)) + float(door.get("timeout_s", 2)) + 1)
    outcome = _outcome(state, row.name, event_id, wait) if queued and event_id else None
    return DoorTestOut(
        queued=queued,
        event_id=event_id,
        actuated=None if outcome is None else bool(outcome.get("actuated")),
        error=None if outcome is None else outcome.get("error"),
    )
