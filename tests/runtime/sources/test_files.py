"""Files, folders and in-memory frames: every pace hands out the newest frame."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facegate.runtime.sources import (
    FrameListSource,
    ImageFolderSource,
    Source,
    SourceError,
    VideoFileSource,
    VirtualClock,
)
from facegate.runtime.sources import files as files_mod
from tests.conftest import shared_data_dir
from tests.runtime.sources.conftest import H, W, frame_number, level, write_clip


def data_video(rel: str) -> Path:
    path = shared_data_dir() / "video" / rel
    if not path.exists():
        pytest.skip(f"evaluation video {path} is absent (set FACEGATE_DATA to ../shared/data)")
    return path


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

    monkeypatch.setattr(files_mod.cv2, "VideoCapture", Refuses)
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


# -- in-memory frames ----------------------------------------------------------------------


def test_frame_list_source_paces_arrays_like_files() -> None:
    images = [np.full((H, W, 3), level(i), np.uint8) for i in range(10)]
    src = FrameListSource(images, fps=10, pace="fast", name="visit")
    got = list(src)
    assert src.name == "visit"
    assert [f.index for f in got] == list(range(10))
    assert all(f.image is images[f.index] for f in got)  # handed out as they are, not copied
    assert [f.t for f in got] == pytest.approx([i / 10 for i in range(10)])

    clock = VirtualClock()
    src = FrameListSource(images, fps=10, pace="simulated", clock=clock)
    picked = []
    while (f := src.read()) is not None:
        picked.append(f.index)
        clock.advance(0.3)
    assert picked == [0, 3, 6, 9] and src.skipped == 6
    with pytest.raises(SourceError, match="no frames"):
        FrameListSource([], fps=10)


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
