"""Live cameras: newest frame only, reconnect with backoff, outages reported once."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from facegate.runtime.sources import CameraSource, Frame, redact
from tests.runtime.sources.conftest import FakeCapture, H, W


def test_redact_hides_stream_passwords() -> None:
    assert (
        redact("rtsp://admin:hunter2@cam.local:554/live") == "rtsp://admin:***@cam.local:554/live"
    )
    assert redact("rtsp://cam.local/live") == "rtsp://cam.local/live"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []

    def __call__(self, kind: str, detail: str) -> None:
        self.events.append((kind, detail, time.monotonic()))

    def kinds(self) -> list[str]:
        return [k for k, _, _ in self.events]


def wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_camera_reconnects_with_backoff_and_reports_outage() -> None:
    script = [
        lambda: (_ for _ in ()).throw(OSError("device busy")),  # open raises
        lambda: FakeCapture(opened=False),  # opens nothing
        lambda: FakeCapture(fail_after=0),  # opens, first read fails
        lambda: FakeCapture(fail_after=40),  # works for a while, then the cable is pulled
        lambda: FakeCapture(opened=False),
        lambda: FakeCapture(),  # back for good
    ]
    made: list[int] = []

    def factory(uri: str | int) -> FakeCapture:
        made.append(1)
        return script[min(len(made), len(script)) - 1]()

    status = Recorder()
    cam = CameraSource(
        "rtsp://cam/live",
        capture_factory=factory,
        on_status=status,
        reconnect_min_s=0.05,
        reconnect_max_s=1.0,
        stall_timeout_s=2.0,
    )
    try:
        first = cam.read(timeout=5)
        assert first is not None and first.image.shape == (H, W, 3)
        assert status.kinds() == ["lost", "restored"]  # one "lost" per outage, not per attempt
        assert "device busy" in status.events[0][1]
        gaps = np.diff(list(cam.attempt_times)[:4])
        # waits of 0.05, 0.1, 0.2 s between the failed attempts: each about twice the last
        assert gaps[0] >= 0.045 and gaps[1] > 1.6 * gaps[0] and gaps[2] > 1.6 * gaps[1]

        wait_for(lambda: status.kinds() == ["lost", "restored", "lost", "restored"])
        assert "read from rtsp://cam/live failed" in status.events[2][1]
        after = list(cam.attempt_times)[3:6]
        # backoff starts afresh after a working connection (0.05 s, then 0.1 s)
        assert after[1] - after[0] < 0.5 and after[2] - after[1] < 1.0
        assert cam.connects == 2

        frames = [cam.read(timeout=2) for _ in range(5)]
        idx = [f.index for f in frames if f is not None]
        assert idx == sorted(set(idx))  # never the same frame twice
        assert all(f is not None and f.t <= time.monotonic() for f in frames)
        time.sleep(0.1)  # a slow consumer: ~20 frames grabbed meanwhile
        newest = cam.read(timeout=2)
        assert newest is not None and newest.index > idx[-1] + 5  # latest, not a backlog
    finally:
        cam.close()
    assert cam.read() is None  # closed: end of stream


def test_camera_stall_abandons_a_hung_read_and_recovers() -> None:
    hang = threading.Event()
    caps: list[FakeCapture] = []

    def factory(uri: str | int) -> FakeCapture:
        cap = FakeCapture(hang_after=5, hang=hang) if not caps else FakeCapture()
        caps.append(cap)
        return cap

    status = Recorder()
    cam = CameraSource(
        0, capture_factory=factory, on_status=status, stall_timeout_s=0.3, reconnect_min_s=0.05
    )
    try:
        wait_for(lambda: status.kinds() == ["lost", "restored"], timeout=5)
        assert "no frame for" in status.events[0][1]
        lost_at = status.events[0][2]
        assert cam.read(timeout=2) is not None
        assert len(caps) == 2 and not caps[0].released  # still stuck in its read
        assert lost_at - cam.attempt_times[0] >= 0.3
    finally:
        hang.set()
        cam.close()
    wait_for(lambda: caps[0].released, timeout=3)  # woke up, saw it was abandoned, let go


def test_camera_read_timeout_and_close_unblocks_a_waiting_reader() -> None:
    cam = CameraSource(
        "/dev/video9", capture_factory=lambda u: FakeCapture(opened=False), reconnect_min_s=0.05
    )
    with pytest.raises(TimeoutError):
        cam.read(timeout=0.1)
    result: list[Frame | None] = []
    reader = threading.Thread(target=lambda: result.append(cam.read()))
    reader.start()
    time.sleep(0.1)
    cam.close()
    reader.join(timeout=3)
    assert not reader.is_alive() and result == [None]


def test_camera_on_a_file_that_appears_later(tmp_path: Path, clip: Path) -> None:
    """The real OpenCV path: nothing to open at first, then a stream appears."""
    target = tmp_path / "later.avi"
    status = Recorder()
    cam = CameraSource(str(target), on_status=status, reconnect_min_s=0.05, reconnect_max_s=0.2)
    try:
        wait_for(lambda: status.kinds() == ["lost"], timeout=5)
        shutil.copy(clip, target)
        frame = cam.read(timeout=5)
        assert frame is not None and frame.image.shape == (H, W, 3)
        wait_for(lambda: status.kinds()[:2] == ["lost", "restored"], timeout=5)
    finally:
        cam.close()
