"""Frame sources: every pace hands out the newest frame, cameras come back after an outage."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from facegate.runtime import sources as sources_mod
from facegate.runtime.sources import (
    CameraSource,
    Frame,
    ImageFolderSource,
    Source,
    SourceConfig,
    SourceError,
    VideoFileSource,
    VirtualClock,
    WallClock,
    open_source,
    redact,
    source_from_config,
)

W, H = 64, 48


def level(i: int) -> int:
    """Frame i is a flat grey of this level, so a decoded frame tells which one it is."""
    return 5 + 8 * i


def frame_number(image: np.ndarray) -> int:
    return round((float(image.mean()) - 5) / 8)


def write_clip(path: Path, n: int, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened(), "this OpenCV build cannot write MJPG .avi"
    for i in range(n):
        writer.write(np.full((H, W, 3), level(i), np.uint8))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """3 s at 10 fps, 30 numbered frames."""
    return write_clip(tmp_path / "clip.avi", 30, 10.0)


def data_video(rel: str) -> Path:
    env = os.environ.get("FACEGATE_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"
    path = base / "video" / rel
    if not path.exists():
        pytest.skip(f"evaluation video {path} is absent (set FACEGATE_DATA to ../shared/data)")
    return path


# -- clocks --------------------------------------------------------------------------------


def test_virtual_clock_moves_only_forward() -> None:
    c = VirtualClock(10.0)
    c.advance(0.5)
    c.advance_to(10.2)  # in the past: ignored
    assert c.now() == 10.5
    c.advance_to(12.0)
    c.sleep(1.0)
    assert c.now() == 13.0
    with pytest.raises(ValueError):
        c.advance(-1)
    w = WallClock()
    a = w.now()
    w.sleep(0.01)
    assert w.now() - a >= 0.009


# -- video files ---------------------------------------------------------------------------


def test_fast_pace_yields_every_frame_in_order(clip: Path) -> None:
    with VideoFileSource(clip, pace="fast") as src:
        assert isinstance(src, Source) and src.fps == pytest.approx(10.0)
        frames = list(src)
        assert src.read() is None  # end of stream stays the end
    assert [f.index for f in frames] == list(range(30))
    assert [frame_number(f.image) for f in frames] == list(range(30))
    assert [f.t for f in frames] == pytest.approx([i / 10 for i in range(30)])
    assert all(f.image.dtype == np.uint8 and f.image.shape == (H, W, 3) for f in frames)


def simulate(path: Path, cost_s: float) -> list[tuple[int, float, float]]:
    """A consumer taking `cost_s` per frame on a virtual clock: (index, t, clock at read)."""
    clock = VirtualClock()
    out = []
    with VideoFileSource(path, pace="simulated", clock=clock) as src:
        while (f := src.read()) is not None:
            assert frame_number(f.image) == f.index  # skipping never misaligns image and index
            assert f.t <= clock.now() + 1e-9
            out.append((f.index, f.t, clock.now()))
            clock.advance(cost_s)
    return out


def test_simulated_pace_skips_like_a_live_camera_and_is_deterministic(clip: Path) -> None:
    slow = simulate(clip, 0.25)  # 2.5 frame intervals per frame
    assert [i for i, _, _ in slow] == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27]
    assert simulate(clip, 0.25) == slow
    # the newest due frame is handed out: it is never more than one interval old
    assert all(0 <= now - t < 0.1 + 1e-9 for _, t, now in slow)

    fast = simulate(clip, 0.01)  # quicker than the stream: every frame, clock jumps ahead
    assert [i for i, _, _ in fast] == list(range(30))
    assert [now for _, _, now in fast] == pytest.approx([i / 10 for i in range(30)])


def test_simulated_pace_anchors_at_the_first_read(clip: Path) -> None:
    clock = VirtualClock(100.0)  # e.g. after model warm-up
    src = VideoFileSource(clip, pace="simulated", clock=clock)
    first = src.read()
    clock.advance(0.35)
    second = src.read()
    assert first is not None and second is not None
    assert (first.index, first.t) == (0, 100.0)
    assert (second.index, second.t) == (3, pytest.approx(100.3))
    assert src.skipped == 2
    src.close()
    assert src.read() is None


def test_realtime_pace_delivers_on_time_and_drops_for_a_slow_consumer(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "rt.avi", 10, 25.0)  # 0.4 s
    src = VideoFileSource(path, pace="realtime")
    start = time.monotonic()
    lateness = []
    for f in src:
        lateness.append(time.monotonic() - f.t)
    elapsed = time.monotonic() - start
    assert len(lateness) == 10  # a fast consumer misses nothing
    assert 0.3 <= elapsed < 1.5  # waited for the frames' times, loosely
    assert min(lateness) >= -0.005 and max(lateness) < 0.3  # never early, never badly late

    src = VideoFileSource(path, pace="realtime")
    got = []
    while (f := src.read()) is not None:
        got.append(f.index)
        time.sleep(0.1)  # 2.5 frame intervals of work
    assert got[0] == 0 and len(got) < 10 and src.skipped > 0
    assert got == sorted(set(got))


def test_gif_falls_back_to_pillow_when_opencv_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (W, H), (level(i),) * 3) for i in range(4)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)

    class Refuses:
        def __init__(self, *a: object) -> None: ...
        def isOpened(self) -> bool:
            return False

        def release(self) -> None: ...

    monkeypatch.setattr(sources_mod.cv2, "VideoCapture", Refuses)
    with VideoFileSource(path, pace="fast") as src:
        assert src.fps == pytest.approx(20.0)  # from the GIF's 50 ms frame durations
        got = list(src)
    assert [frame_number(f.image) for f in got] == [0, 1, 2, 3]
    assert got[0].image.shape == (H, W, 3)


def test_missing_or_unreadable_video_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="video file not found"):
        VideoFileSource(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(SourceError, match="cannot read video"):
        VideoFileSource(junk)
    with pytest.raises(SourceError, match="pace must be one of"):
        VideoFileSource(write_clip(tmp_path / "ok.avi", 2, 10), pace="ludicrous")  # type: ignore[arg-type]


# -- image folders -------------------------------------------------------------------------


def test_folder_source_natural_order_and_corrupt_image_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((H, W, 3), level(i), np.uint8))
    (tmp_path / "f3.jpg").write_bytes(b"\xff\xd8 truncated, not really a jpeg")
    (tmp_path / "notes.txt").write_text("not an image, not a frame")
    src = ImageFolderSource(tmp_path, fps=5, pace="fast")
    assert [p.name for p in src.files] == ["f1.png", "f2.png", "f3.jpg", "f10.png"]
    got = list(src)
    assert [(f.index, frame_number(f.image)) for f in got] == [(0, 1), (1, 2), (3, 10)]
    assert [f.t for f in got] == pytest.approx([0.0, 0.2, 0.6])
    assert "f3.jpg" in caplog.text


def test_folder_source_simulated_pace(tmp_path: Path) -> None:
    for i in range(10):
        cv2.imwrite(str(tmp_path / f"{i:03d}.bmp"), np.full((H, W, 3), level(i), np.uint8))
    clock = VirtualClock()
    src = ImageFolderSource(tmp_path, fps=10, pace="simulated", clock=clock)
    got = []
    while (f := src.read()) is not None:
        got.append(frame_number(f.image))
        clock.advance(0.3)
    assert got == [0, 3, 6, 9]


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images in"):
        ImageFolderSource(tmp_path)
    with pytest.raises(SourceError, match="image folder not found"):
        ImageFolderSource(tmp_path / "nope")


# -- open_source ---------------------------------------------------------------------------


class FakeCapture:
    """A camera: opens or not, then serves numbered frames, failing after `fail_after`."""

    def __init__(
        self,
        opened: bool = True,
        fail_after: int | None = None,
        hang_after: int | None = None,
        hang: threading.Event | None = None,
        period_s: float = 0.005,
    ) -> None:
        self.opened, self.fail_after, self.period_s = opened, fail_after, period_s
        self.hang_after, self.hang = hang_after, hang
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.fail_after is not None and self.reads >= self.fail_after:
            return False, None
        if self.hang_after is not None and self.reads >= self.hang_after and self.hang:
            self.hang.wait(30)  # a driver call that does not come back
        time.sleep(self.period_s)
        self.reads += 1
        return True, np.full((H, W, 3), self.reads % 200, np.uint8)

    def release(self) -> None:
        self.released = True


def test_open_source_dispatch(tmp_path: Path, clip: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((H, W, 3), np.uint8))
    folder = open_source(str(tmp_path), pace="fast")
    assert isinstance(folder, ImageFolderSource)
    video = open_source(str(clip), pace="simulated")
    assert isinstance(video, VideoFileSource) and isinstance(video.clock, VirtualClock)
    for spec in ("0", 2, "/dev/video7", "rtsp://user:secret@10.0.0.5:554/stream", "http://cam/x"):
        cam = open_source(
            spec, capture_factory=lambda uri: FakeCapture(opened=False), reconnect_max_s=0.1
        )
        try:
            assert isinstance(cam, CameraSource)
            assert "secret" not in cam.name
        finally:
            cam.close()
    with CameraSource("3", capture_factory=lambda u: FakeCapture(False)) as cam:
        assert cam.uri == 3 and cam.name == "camera 3"
    with pytest.raises(SourceError, match=re.escape("no such file, folder or camera: /no/x.mp4")):
        open_source("/no/x.mp4")
    with pytest.raises(SourceError, match="no source given"):
        open_source("  ")

    cfg = SourceConfig(uri=str(clip), pace="fast")
    assert len(list(source_from_config(cfg))) == 30  # type: ignore[call-overload]
    with pytest.raises(ValidationError):
        SourceConfig(uri="0", pace="slow")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SourceConfig.model_validate({"uri": "0", "fsp": 5})


def test_redact_hides_stream_passwords() -> None:
    assert (
        redact("rtsp://admin:hunter2@cam.local:554/live") == "rtsp://admin:***@cam.local:554/live"
    )
    assert redact("rtsp://cam.local/live") == "rtsp://cam.local/live"


# -- cameras -------------------------------------------------------------------------------


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


# -- real clips ------------------------------------------------------------------------------


@pytest.mark.data
@pytest.mark.parametrize(
    ("rel", "shape"),
    [
        ("face_recognition_ageitgey/short_hamilton_clip.mp4", (360, 640, 3)),
        ("apfol_liveness/real2.webm", (480, 640, 3)),
        ("intel_sample_videos/head-pose-face-detection-female.gif", (270, 480, 3)),
    ],
)
def test_real_clips_decode(rel: str, shape: tuple[int, int, int]) -> None:
    with VideoFileSource(data_video(rel), pace="fast") as src:
        frames = [src.read() for _ in range(5)]
    assert all(f is not None and f.image.shape == shape for f in frames)
    assert [f.index for f in frames if f] == [0, 1, 2, 3, 4]
    assert src.fps > 5


@pytest.mark.data
def test_real_clip_simulated_benchmark_is_deterministic() -> None:
    """A 10 s, 29.97 fps clip read by a 100 ms-per-frame consumer: ~10 fps of newest frames."""
    path = data_video("face_recognition_ageitgey/short_hamilton_clip.mp4")

    def run() -> list[int]:
        clock = VirtualClock()
        src = VideoFileSource(path, pace="simulated", clock=clock)
        got = []
        while (f := src.read()) is not None:
            got.append(f.index)
            clock.advance(0.1)
        return got

    got = run()
    assert 85 <= len(got) <= 95
    assert set(np.diff(got)) <= {2, 3, 4}
    assert run() == got
