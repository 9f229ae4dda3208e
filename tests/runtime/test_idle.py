"""The idle gate: an empty doorway wakes the detector only on change, on schedule, or while a
face is tracked; a visitor is found as soon as without the gate."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.gallery.store import SQLiteGallery
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.idle import IdleConfig, IdleGate
from tests.conftest import approach
from tests.runtime.conftest import make_runtime

FPS = 25.0


def scene(rng: np.random.Generator, gain: float = 1.0, h: int = 360, w: int = 640) -> np.ndarray:
    """A fixed doorway (same pattern every call) with fresh sensor noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = 100 + 40 * np.sin(xx / 37.0) + 30 * np.cos(yy / 23.0)
    noisy = base * gain + rng.normal(0, 3.0, (h, w))
    return np.repeat(np.clip(noisy, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def feed(gate: IdleGate, frames: list[np.ndarray], faces_at: set[int] = frozenset()) -> list[int]:
    """Frames the gate lets through to the detector (which finds faces only at `faces_at`)."""
    woke = []
    for i, f in enumerate(frames):
        if gate.should_detect(f, i / FPS, tracking=False):
            woke.append(i)
            gate.after_detection(i / FPS, i in faces_at)
    return woke


def test_an_empty_noisy_drifting_scene_is_detected_only_on_schedule() -> None:
    rng = np.random.default_rng(0)
    frames = [scene(rng, gain=1.0 + 0.06 * i / 250) for i in range(250)]  # 10 s, +6 % light
    cfg = IdleConfig(full_every_s=1.0, quiet_s=60.0)
    woke = feed(IdleGate(cfg), frames)
    assert woke[0] == 0  # the first frame has nothing to compare with
    assert woke == list(range(0, 250, 25))  # then once a second, never for noise or drift


def test_a_quiet_scene_is_checked_less_often() -> None:
    rng = np.random.default_rng(1)
    frames = [scene(rng) for _ in range(250)]
    woke = feed(IdleGate(IdleConfig(full_every_s=1.0, quiet_s=0.0, full_every_idle_s=4.0)), frames)
    assert woke == [0, 100, 200]


def test_someone_walking_in_wakes_the_detector_on_that_frame() -> None:
    rng = np.random.default_rng(2)
    frames = [scene(rng) for _ in range(40)]
    for i in range(30, 40):  # a dark coat enters from the left, 3 % of the view and growing
        frames[i][100:300, : 20 + 4 * (i - 30)] = 30
    woke = feed(IdleGate(IdleConfig()), frames)
    assert 30 in woke and all(i in woke for i in range(30, 40))


def test_a_light_switched_on_costs_one_detection_not_a_stream_of_them() -> None:
    rng = np.random.default_rng(3)
    frames = [scene(rng) for _ in range(10)] + [scene(rng, gain=1.4) for _ in range(20)]
    woke = feed(IdleGate(IdleConfig(full_every_s=5.0, quiet_s=60.0)), frames)
    assert woke == [0, 10]  # nobody found at 10: that view becomes the empty scene


def test_a_tracked_face_and_a_disabled_gate_always_detect() -> None:
    rng = np.random.default_rng(4)
    frames = [scene(rng) for _ in range(20)]
    gate = IdleGate(IdleConfig())
    gate.should_detect(frames[0], 0.0, tracking=False)
    gate.after_detection(0.0, True)
    assert all(gate.should_detect(f, i / FPS, tracking=True) for i, f in enumerate(frames))
    off = IdleGate(IdleConfig(enabled=False))
    assert all(off.should_detect(f, i / FPS, tracking=False) for i, f in enumerate(frames))


@pytest.mark.parametrize("enabled", [True, False])
def test_the_door_opens_the_same_with_the_gate(enabled, engine, gallery, hopper) -> None:
    rng = np.random.default_rng(5)
    empty = [scene(rng, h=480, w=640) for _ in range(30)]
    events: list[DoorEvent] = []
    with SQLiteGallery(gallery, create=False) as store:
        rt = make_runtime(
            engine,
            store,
            empty + approach(hopper),
            [events.append],
            idle=IdleConfig(enabled=enabled),
        )
        stats = rt.run()
    opens = [e for e in events if e.decision is Decision.OPEN]
    assert len(opens) == 1 and opens[0].person == "Grace Hopper"
    if enabled:  # the empty second was mostly skipped, the visit was not
        assert stats.detected <= stats.frames - 25
    else:
        assert stats.detected == stats.frames
