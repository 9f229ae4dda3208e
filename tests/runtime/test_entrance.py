"""One entrance, assembled once: the door fails closed on the second recogniser, warms up
before its first frame, and journals a camera that is down from the very start."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from facegate import api
from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.gallery.store import NewTemplate, SQLiteGallery
from facegate.models.config import EngineConfig, RecognizerConfig
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.entrance import Entrance
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.sources import FrameListSource, VirtualClock
from facegate.runtime.sources.config import SourceConfig
from tests.conftest import approach

# A photo slid towards the camera is no live face: these tests are about recognition, so
# the entrance runs without liveness checks (tests/runtime/liveness covers them).
NO_LIVENESS = RuntimeConfig(liveness=LivenessConfig(checks=[]))


def visit(frames: list[np.ndarray]) -> tuple[FrameListSource, VirtualClock]:
    clock = VirtualClock()
    return FrameListSource(frames, fps=15, pace="fast", clock=clock), clock  # every frame


def run_visit(engine, store, frames, rc: RuntimeConfig | None = None) -> list[DoorEvent]:
    events: list[DoorEvent] = []
    source, clock = visit(frames)
    with Entrance(
        rc or NO_LIVENESS, engine, store, source=source, clock=clock, sinks=[events.append]
    ) as entrance:
        entrance.run()
    return events


def enrol_fast_model_only(engine: FaceEngine, store, name: str, photo: np.ndarray) -> None:
    """A resident whose photos were embedded by the per-shot model only: what a gallery
    written while the confirming model was not configured (or lost) looks like."""
    face = engine.detect(photo)[0]
    model = engine.config.model
    emb = engine.embed(photo, face, model)
    store.add_person(name, [NewTemplate(model, engine.version(model), emb, None, "photo")])


def test_a_resident_without_a_confirming_template_is_refused_with_a_reason(
    tmp_path: Path, engine: FaceEngine, hopper: np.ndarray
) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        enrol_fast_model_only(engine, store, "Grace Hopper", hopper)
        events = run_visit(engine, store, approach(hopper))
    decisions = [e.decision for e in events]
    assert Decision.OPEN not in decisions
    deny = next(e for e in events if e.decision is Decision.DENY)
    assert deny.person == "Grace Hopper"
    assert "no reid template" in deny.reason and "re-enrol" in deny.reason


def test_residents_enrolled_after_start_open_only_with_confirmation(
    tmp_path: Path, engine: FaceEngine, hopper: np.ndarray, hopper_path: Path
) -> None:
    """The server's case: an entrance starts on an empty gallery, a resident is enrolled
    while it runs, the gallery reload picks them up: the open carries the reid score."""
    events: list[DoorEvent] = []
    frames = [np.full((480, 640, 3), 90, np.uint8)] * 3 + approach(hopper)
    source, clock = visit(frames)
    with (
        SQLiteGallery(tmp_path / "g.sqlite") as store,
        Entrance(
            NO_LIVENESS, engine, store, source=source, clock=clock, sinks=[events.append]
        ) as entrance,
    ):
        entrance.start()
        assert entrance.step()  # running, on an empty gallery
        with SQLiteGallery(tmp_path / "g.sqlite") as other:  # the CLI or server, elsewhere
            assert api.enroll(engine, other, "Grace Hopper", [hopper_path]).accepted
        assert entrance.runtime.reload_gallery()
        while entrance.step():
            pass
    opened = [e for e in events if e.decision is Decision.OPEN]
    assert len(opened) == 1 and opened[0].person == "Grace Hopper"
    assert set(opened[0].scores) == {"sface", "reid"}
    assert "confirmed by reid" in opened[0].reason


def test_confirming_templates_gone_on_reload_refuse_instead_of_crashing(
    tmp_path: Path, engine: FaceEngine, hopper: np.ndarray, hopper_path: Path
) -> None:
    events: list[DoorEvent] = []
    source, clock = visit(approach(hopper))
    with (
        SQLiteGallery(tmp_path / "g.sqlite") as store,
        Entrance(
            NO_LIVENESS, engine, store, source=source, clock=clock, sinks=[events.append]
        ) as entrance,
    ):
        with SQLiteGallery(tmp_path / "g.sqlite") as other:
            api.enroll(engine, other, "Grace Hopper", [hopper_path])
            assert entrance.runtime.reload_gallery()
            other.remove_person("Grace Hopper")
            enrol_fast_model_only(engine, other, "Grace Hopper", hopper)
        assert entrance.runtime.reload_gallery()
        entrance.run()
    assert [e.decision for e in events] == [Decision.DENY]
    assert "re-enrol" in events[0].reason


def test_confirmation_with_a_single_recogniser_is_a_configuration_error(
    tmp_path: Path, cache_dir: Path, hopper: np.ndarray
) -> None:
    single = FaceEngine(
        EngineConfig(
            cache_dir=cache_dir, recognizers=[RecognizerConfig(name="sface", kind="sface")]
        )
    )
    source, clock = visit([hopper])
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        with pytest.raises(ConfigError, match=r"decision\.confirm"):
            Entrance(RuntimeConfig(), single, store, source=source, clock=clock)
        # said plainly, it opens on one recogniser
        rc = RuntimeConfig(decision=DecisionConfig(confirm=False))
        Entrance(rc, single, store, source=source, clock=clock).close()


def test_start_warms_every_model_the_decision_uses(
    tmp_path: Path, cache_dir: Path, hopper: np.ndarray
) -> None:
    engine = FaceEngine(EngineConfig(cache_dir=cache_dir))
    source, clock = visit([hopper])
    with (
        SQLiteGallery(tmp_path / "g.sqlite") as store,
        Entrance(RuntimeConfig(), engine, store, source=source, clock=clock) as entrance,
    ):
        entrance.start()
        # warm: a second warm-up (another visit, another entrance on this engine) is free
        assert not engine.warm_up(["sface", "reid"])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_camera_down_at_start_is_journalled(tmp_path: Path, engine: FaceEngine) -> None:
    rc = RuntimeConfig(
        source=SourceConfig(uri=f"rtsp://127.0.0.1:{closed_port()}/stream"),
        gallery_reload_s=60,
    )
    events: list[DoorEvent] = []
    with (
        SQLiteGallery(tmp_path / "g.sqlite") as store,
        Journal(rc.journal, tmp_path / "journal.sqlite") as journal,
        Entrance(rc, engine, store, journal=journal, sinks=[events.append]),
    ):
        deadline = time.monotonic() + 20
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = journal.query(limit=10)
    assert events and events[0].decision is Decision.SOURCE_LOST
    assert [r["decision"] for r in rows] == ["source_lost"]
