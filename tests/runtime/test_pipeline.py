"""The intercom runtime end to end: frames in, door decisions and journal rows out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate import api
from facegate.cli import main
from facegate.config import EngineConfig, load_config
from facegate.engine import FaceEngine
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.access import AccessConfig, AccessPolicy
from facegate.runtime.app import run_entrance
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal
from facegate.runtime.pipeline import Runtime
from facegate.runtime.sources import CameraSource, WallClock
from tests.conftest import approach, require_data, write_image
from tests.runtime.conftest import make_runtime


def read_video(path: Path, limit: int = 10_000) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def test_resident_walking_up_opens_once(engine, gallery, hopper) -> None:
    events: list[DoorEvent] = []
    with SQLiteGallery(gallery, create=False) as store:
        stats = make_runtime(engine, store, approach(hopper), [events.append]).run()
    opens = [e for e in events if e.decision is Decision.OPEN]
    assert len(opens) == 1, [e.to_dict() for e in events]
    assert opens[0].person == "Grace Hopper" and opens[0].snapshot is not None
    assert set(opens[0].scores) == {"sface", "reid"}  # both recognisers agreed
    assert opens[0].liveness["checked"] is False  # never a silent "live"
    assert 0 < opens[0].time_to_open_ms < 5000
    assert stats.frames > 0 and not [e for e in events if e.decision is Decision.UNKNOWN]


@pytest.mark.parametrize("fast", ["reid", "dlib"])
def test_a_fast_model_with_its_own_crop_opens_too(fast, cache_dir, tmp_path, hopper_path, hopper):
    """reid and dlib cut their own crops from the frame: the runtime must hand them the face
    in frame coordinates (a Shot keeps it in its cut's, which once scored them on the wrong
    patch: with reid voting, 191 of 201 residents missed on the door benchmark's seed 1)."""
    engine = FaceEngine(EngineConfig(cache_dir=cache_dir).with_model(fast))
    events: list[DoorEvent] = []
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        assert api.enroll(engine, store, "Grace Hopper", [hopper_path]).accepted
        make_runtime(engine, store, approach(hopper), [events.append]).run()
    opens = [e for e in events if e.decision is Decision.OPEN]
    assert len(opens) == 1 and opens[0].person == "Grace Hopper", [e.reason for e in events]


def test_stranger_is_journalled_as_unknown(engine, tmp_path, astronaut, hopper) -> None:
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as store:
        assert api.enroll(
            engine, store, "Eileen Collins", [cv2.imencode(".png", astronaut)[1].tobytes()]
        ).accepted
        events: list[DoorEvent] = []
        make_runtime(engine, store, approach(hopper), [events.append]).run()
    assert [e.decision for e in events] == [Decision.UNKNOWN]
    assert events[0].person is None and events[0].snapshot is not None
    assert "no resident matched" in events[0].reason


def test_rules_deny_outside_the_window(engine, gallery, hopper) -> None:
    now = datetime.now(UTC)
    closed = {"rules": [{"people": ["*"], "valid_until": (now - timedelta(days=2)).isoformat()}]}
    events: list[DoorEvent] = []
    with SQLiteGallery(gallery, create=False) as store:
        make_runtime(
            engine,
            store,
            approach(hopper),
            [events.append],
            access=AccessPolicy(AccessConfig.model_validate(closed)),
        ).run()
    assert [e.decision for e in events] == [Decision.DENY]
    assert events[0].person == "Grace Hopper" and events[0].reason


def test_required_liveness_without_a_check_denies(engine, gallery, hopper) -> None:
    events: list[DoorEvent] = []
    with SQLiteGallery(gallery, create=False) as store:
        make_runtime(
            engine,
            store,
            approach(hopper),
            [events.append],
            decision=DecisionConfig(require_liveness=True),
        ).run()
    assert [e.decision for e in events] == [Decision.DENY]
    assert "liveness" in events[0].reason


class FlakyCapture:
    """A camera that delivers frames, dies, and comes back."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.i = 0

    def isOpened(self) -> bool:
        return True

    def read(self):
        time.sleep(1 / 15)  # a camera delivers at its frame rate
        self.i += 1
        if self.i > len(self.frames):
            return False, None
        return True, self.frames[self.i - 1]

    def release(self) -> None:
        pass


def test_camera_outage_is_journalled_and_door_keeps_working(
    engine, gallery, hopper, tmp_path
) -> None:
    frames = approach(hopper, 24)
    calls = {"n": 0}

    def factory(uri):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("camera unplugged")
        if calls["n"] > 2:  # back, with nobody in front of it
            return FlakyCapture([np.full_like(frames[0], 90)] * 50)
        return FlakyCapture(frames)

    events: list[DoorEvent] = []
    source = CameraSource(
        "0",
        capture_factory=factory,
        reconnect_min_s=0.01,
        reconnect_max_s=0.05,
        stall_timeout_s=1.0,
    )
    with SQLiteGallery(gallery, create=False) as store, Journal(None, tmp_path / "j.sqlite") as j:
        rt = Runtime(
            entrance="main",
            engine=engine,
            store=store,
            source=source,
            clock=WallClock(),
            sinks=[events.append, j.record],
        )
        source.add_status_callback(
            lambda kind, detail: rt.emit(
                DoorEvent(
                    Decision.SOURCE_LOST if kind == "lost" else Decision.SOURCE_RESTORED,
                    "main",
                    detail,
                )
            )
        )
        rt.run(max_frames=len(frames) + 3)
        source.close()
        kinds = [r["decision"] for r in j.query(limit=None)]
    assert "source_lost" in kinds and "source_restored" in kinds
    assert kinds.count("open") == 1


def test_broken_door_is_journalled_and_run_goes_on(engine, gallery, hopper, tmp_path) -> None:
    clip = tmp_path / "clip"
    clip.mkdir()
    for i, f in enumerate(approach(hopper)):
        write_image(clip / f"{i:03d}.jpg", f)
    cfg = load_config(
        {
            "engine": EngineConfig(cache_dir=engine.cache_dir).model_dump(),
            "runtime": {
                "source": {"uri": str(clip), "pace": "simulated", "fps": 15},
                "door": {"kind": "webhook", "url": "http://127.0.0.1:9/open", "timeout_s": 0.5},
                "journal": {"path": str(tmp_path / "journal.sqlite")},
                # the test clip is a flat photo moved about: the motion check would
                # (rightly) call it an attack; this test is about the door
                "liveness": {"checks": []},
            },
        }
    )
    stats = run_entrance(cfg.runtime, cfg.engine, gallery=gallery)
    assert stats.events.get("open") == 1
    with Journal(None, tmp_path / "journal.sqlite") as j:
        rows = j.query(limit=None)
    # one event: the open itself says the door did not actuate (no green `open` beside a
    # separate `door_error`, as before issue 15)
    (opened,) = rows
    assert opened["decision"] == "open_failed" and opened["door"]["actuated"] is False
    assert "Connection refused" in opened["door"]["error"]
    assert Path(opened["snapshot_path"]).is_file()


def test_cli_run_json_lines(engine, gallery, hopper, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    clip = tmp_path / "clip"
    clip.mkdir()
    for i, f in enumerate(approach(hopper)):
        write_image(clip / f"{i:03d}.png", f)
    cfg = tmp_path / "entrance.yaml"
    cfg.write_text("runtime:\n  liveness:\n    checks: []\n")  # the clip is a flat photo
    code = main(
        [
            "run",
            "--config",
            str(cfg),
            "--source",
            str(clip),
            "--db",
            str(gallery),
            "--until-end",
            "--json",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    events = [json.loads(x) for x in out if '"decision"' in x]
    assert [e["decision"] for e in events] == ["open"]
    e = events[0]
    assert e["person"] == "Grace Hopper" and e["entrance"] == "main"
    assert isinstance(e["track"], int) and e["scores"]["sface"] > 0
    assert e["time_to_open_ms"] > 0
    assert (tmp_path / "journal.sqlite").is_file()  # journal next to the gallery by default


@pytest.mark.data
def test_real_clip_admits_resident_enrolled_from_another_part(engine, tmp_path) -> None:
    video = require_data("video") / "sihanwang_face_detection" / "test.mp4"
    frames = read_video(video)
    assert len(frames) > 100
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as store:
        enrol = cv2.imencode(".png", frames[5])[1].tobytes()
        assert api.enroll(engine, store, "Visitor", [enrol]).accepted
        events: list[DoorEvent] = []
        make_runtime(engine, store, frames[60:], [events.append]).run()
    assert [(e.decision, e.person) for e in events] == [(Decision.OPEN, "Visitor")]


@pytest.mark.data
def test_real_clip_with_nobody_enrolled_never_opens(engine, tmp_path, astronaut) -> None:
    video = require_data("video") / "face_recognition_ageitgey" / "short_hamilton_clip.mp4"
    frames = read_video(video, 150)
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as store:
        assert api.enroll(
            engine, store, "Eileen Collins", [cv2.imencode(".png", astronaut)[1].tobytes()]
        ).accepted
        events: list[DoorEvent] = []
        make_runtime(engine, store, frames, [events.append]).run()
    assert events and all(e.decision is Decision.UNKNOWN for e in events)
