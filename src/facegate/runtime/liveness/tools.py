"""Offline liveness (`facegate liveness FILE...`): the verdict for every face of a still image
(`check_image`; a single image has no motion and nobody to challenge, so only the passive model
applies: `still_image_config`) and for every face track of a video file (`check_video`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facegate.models.base import Face
from facegate.runtime.liveness.base import LivenessVerdict, NoLiveness
from facegate.runtime.liveness.config import LivenessConfig
from facegate.runtime.liveness.policy import PolicyLiveness

if TYPE_CHECKING:  # type only: no liveness module needs the engine at run time
    from facegate.engine import FaceEngine


def _face_line(face: Face, v: LivenessVerdict) -> dict[str, Any]:
    return {
        "bbox": [round(float(x), 1) for x in face.bbox],
        "live": v.live,
        "checked": v.checked,
        "score": None if v.score is None else round(v.score, 4),
        "checks": v.evidence,
        **({"note": v.note} if v.note else {}),
    }


def still_image_config(cfg: LivenessConfig) -> LivenessConfig:
    """A single image has no motion and nobody to challenge: only the passive model applies."""
    checks = [c for c in cfg.active_checks() if c == "passive"]
    passive = cfg.passive.model_copy(update={"samples": 1})
    return cfg.model_copy(update={"checks": checks, "on_undecided": "allow", "passive": passive})


def check_image(
    engine: FaceEngine, liveness: NoLiveness | PolicyLiveness, image: np.ndarray
) -> list[dict[str, Any]]:
    """Every face of one still image with its verdict (each face its own one-frame track)."""
    faces = engine.detect(image)
    out = []
    for i, face in enumerate(faces):
        liveness.observe(i, image, face)
        v = liveness.verdict(i)
        liveness.forget(i)
        line = _face_line(face, v)
        if isinstance(liveness, NoLiveness):
            line["note"] = (
                "still image: the passive check is off (liveness.checks), and "
                "the motion check needs a video"
            )
        out.append(line)
    return out


def check_video(
    engine: FaceEngine, liveness: NoLiveness | PolicyLiveness, path: str | Path, min_frames: int = 3
) -> Iterator[dict[str, Any]]:
    """One verdict per face track of a video file, as each track ends."""
    from facegate.runtime.sources import open_source
    from facegate.runtime.tracker import Tracker

    source = open_source(str(path), "fast")
    tracker = Tracker()
    info: dict[int, dict[str, Any]] = {}

    def done(track_id: int) -> dict[str, Any] | None:
        v = liveness.verdict(track_id)
        liveness.forget(track_id)
        meta = info.pop(track_id, None)
        if meta is None or meta["frames"] < min_frames:
            return None
        face = meta.pop("face")
        return {"track": track_id, **meta, **_face_line(face, v)}

    try:
        while True:
            frame = source.read()
            if frame is None:
                for track in tracker.flush():
                    line = done(track.id)
                    if line:
                        yield line
                break
            faces = engine.detect(frame.image)
            assigned, ended = tracker.update(faces, frame.t)
            for track, face in assigned:
                m = info.setdefault(track.id, {"first_frame": frame.index, "frames": 0})
                m["frames"] += 1
                m["last_frame"] = frame.index
                if "face" not in m or face.area >= m["face"].area:
                    m["face"] = face  # the largest view of the face, for the bbox
                liveness.observe(track.id, frame.image, face)
            for track in ended:
                line = done(track.id)
                if line:
                    yield line
    finally:
        source.close()
