"""Liveness at the door: a real resident opens it, their replayed video does not. (Rendered
print/screen attacks at the door, and the door benchmark's attack visits: facegate-bench,
bench/tests/test_attacks.py.)"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from facegate import api
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness import LivenessConfig, build_liveness
from facegate.runtime.pipeline import Runtime
from facegate.runtime.sources import FrameListSource, VirtualClock
from tests.conftest import require_data
from tests.runtime.liveness.helpers import video_frames


def run_door(engine, gallery: Path, frames, liveness) -> list[DoorEvent]:
    events: list[DoorEvent] = []
    clock = VirtualClock()
    with SQLiteGallery(gallery, create=False) as store:
        Runtime(
            entrance="main",
            engine=engine,
            store=store,
            source=FrameListSource(frames, fps=15, pace="fast", clock=clock),  # every frame
            clock=clock,
            sinks=[events.append],
            liveness=liveness,
            decision=DecisionConfig(),
        ).run()
    return events


@pytest.mark.data
def test_real_resident_opens_their_replayed_video_does_not_by_default(engine, tmp_path) -> None:
    """The default liveness (the shipped passive model, the motion check and the screen-edge
    veto; before issue 14 the default was the motion check alone, which calls this replay
    live): the resident opens the door, a screen replaying them does not."""
    video = require_data("video") / "apfol_liveness"
    real = video_frames(video / "real2.webm", limit=90)
    gallery = tmp_path / "g.sqlite"
    with SQLiteGallery(gallery) as store:
        enrol = cv2.imencode(".png", real[3])[1].tobytes()
        assert api.enroll(engine, store, "Resident", [enrol]).accepted
    events = run_door(engine, gallery, real[10:], build_liveness(LivenessConfig(), engine))
    opens = [e for e in events if e.decision is Decision.OPEN]
    assert len(opens) == 1, [e.to_dict() for e in events]
    assert opens[0].liveness["checked"] and opens[0].liveness["live"]
    live = opens[0].liveness
    assert set(live["evidence"]) == {"passive", "motion", "screen"}
    assert live["method"] == "passive+motion"  # both vouched; the screen veto found nothing
    assert "note" not in opens[0].liveness  # nothing left unchecked
    replay = video_frames(video / "fake2.webm", limit=75)
    events = run_door(engine, gallery, replay, build_liveness(LivenessConfig(), engine))
    assert events and not [e for e in events if e.decision is Decision.OPEN], [
        e.to_dict() for e in events
    ]
    for e in events:  # recognised (DENY as an attack) or not (UNKNOWN): never live
        assert e.liveness["live"] is not True, e.to_dict()
        if e.decision is Decision.DENY:
            assert "presentation attack" in e.reason
