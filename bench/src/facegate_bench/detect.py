"""`facegate bench detect`: what detection costs per processed frame of a real clip, with the
runtime's detection around tracks (`runtime.regions`) against `cv2.FaceDetectorYN`.

Each clip is decoded once (not timed); then, interleaved over `rounds` passes, every
`every`-th frame goes through each detector in order, with stream time advancing as the clip's:

- `opencv FaceDetectorYN` - OpenCV's YuNet on the whole frame at its own size (OpenCV Zoo's
  demo loop);
- `opencv FaceDetectorYN @640` - the same on the frame first shrunk to a 640 px long side (the
  shrink is timed), the fairer baseline: FaceGate's full detection shrinks the same way;
- `facegate full` - FaceGate's full detection (`FaceEngine.detect`) on every frame;
- `facegate regions` - the runtime's `RegionDetector` fed by the runtime's `Tracker`, as the
  pipeline runs it (only the detection call is timed).

Agreement: per frame, the faces >= 40 px (and >= 60 px, the quality gate's minimum) that
`facegate full` finds and `facegate regions` also finds (IoU >= 0.5), and the faces the regions
report that the full detection does not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from facegate.engine import FaceEngine
from facegate.models.base import Face
from facegate.models.files import YUNET
from facegate.runtime.regions import RegionConfig, RegionDetector
from facegate.runtime.tracker import Tracker, iou
from facegate_bench.models import machine, ratios
from facegate_bench.stream import DEFAULT_CLIPS, decode, shrink

BASELINE = "opencv FaceDetectorYN"


class _Zoo:
    def __init__(self, threads: int, max_side: int | None) -> None:
        cv2.setNumThreads(threads)
        self.det = cv2.FaceDetectorYN.create(
            str(YUNET.verified_path()), "", (320, 320), 0.6, 0.3, 5000
        )
        self.max_side = max_side
        self.size: tuple[int, int] | None = None

    def __call__(self, frame: np.ndarray, t: float) -> int:
        img = shrink(frame, self.max_side)[0] if self.max_side else frame
        size = (img.shape[1], img.shape[0])
        if size != self.size:
            self.det.setInputSize(size)
            self.size = size
        rows = self.det.detect(img)[1]
        return 0 if rows is None else len(rows)


class _Regions:
    def __init__(self, engine: FaceEngine, cfg: RegionConfig) -> None:
        self.det = RegionDetector(engine.detector, cfg, engine.config.detector.max_side)
        self.tracker = Tracker()
        self.faces: list[list[Face]] = []
        self.elapsed = 0.0

    def __call__(self, frame: np.ndarray, t: float) -> None:
        t0 = time.perf_counter()
        faces = self.det.detect(frame, t, self.tracker.tracks.values())
        self.elapsed += time.perf_counter() - t0
        self.tracker.update(faces, t)
        self.faces.append(faces)


def _agreement(full: list[list[Face]], mine: list[list[Face]], min_px: float) -> dict:
    wanted = found = extra = 0
    for ref, got in zip(full, mine, strict=True):
        big = [f for f in ref if f.size >= min_px]
        wanted += len(big)
        found += sum(any(iou(f.bbox, g.bbox) >= 0.5 for g in got) for f in big)
        extra += sum(
            not any(iou(g.bbox, f.bbox) >= 0.5 for f in ref) for g in got if g.size >= min_px
        )
    return {
        "min_px": min_px,
        "faces": wanted,
        "found": found,
        "recall": round(found / wanted, 4) if wanted else None,
        "extra": extra,
    }


def run_clip(
    engine: FaceEngine,
    path: Path,
    *,
    cfg: RegionConfig,
    rounds: int,
    every: int,
    max_frames: int | None,
    min_px: Sequence[float],
) -> dict:
    frames, fps = decode(path, max_frames)
    frames = frames[::every]
    times = [k * every / fps for k in range(len(frames))]
    threads = engine.config.thread_count()
    engine.detect(frames[0])  # warm up
    zoo, zoo640 = _Zoo(threads, None), _Zoo(threads, engine.config.detector.max_side)
    zoo(frames[0], 0.0), zoo640(frames[0], 0.0)
    per_round: dict[str, list[float]] = {}
    full_faces: list[list[Face]] = []
    regions = None
    for r in range(rounds):
        regions = _Regions(engine, cfg)
        loops: dict[str, Callable[[np.ndarray, float], object]] = {
            BASELINE: zoo,
            f"{BASELINE} @640": zoo640,
            "facegate full": engine.detect,
        }
        for name, fn in loops.items():
            t0 = time.perf_counter()
            for frame, t in zip(frames, times, strict=True):
                out = fn(frame) if name == "facegate full" else fn(frame, t)
                if r == 0 and name == "facegate full":
                    full_faces.append(out)
            per_round.setdefault(name, []).append(time.perf_counter() - t0)
        for frame, t in zip(frames, times, strict=True):
            regions(frame, t)
        per_round.setdefault("facegate regions", []).append(regions.elapsed)
    assert regions is not None
    table = {
        k: {"median_ms": round(1000 * statistics.median(v) / len(frames), 3)}
        for k, v in per_round.items()
    }
    return {
        "clip": str(path),
        "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "frames": len(frames),
        "fps_processed": round(fps / every, 2),
        "ms_per_frame": table,
        "ratio_vs_opencv": ratios(table, BASELINE),
        "ratio_vs_opencv_640": ratios(table, f"{BASELINE} @640"),
        "region_frames": regions.det.region_frames,
        "full_frames": regions.det.full_frames,
        "agreement": [_agreement(full_faces, regions.faces, px) for px in min_px],
    }


def run(
    engine: FaceEngine,
    data: Path | None,
    clips: Sequence[str],
    *,
    cfg: RegionConfig,
    rounds: int = 3,
    every: int = 2,
    max_frames: int | None = None,
    min_px: Sequence[float] = (40.0, 60.0),
) -> dict:
    paths = [Path(c) for c in clips] or [
        data / c for c in DEFAULT_CLIPS if data is not None and (data / c).exists()
    ]
    if not paths:
        raise FileNotFoundError(
            "no clips: give CLIP paths or set FACEGATE_DATA to the shared data folder"
        )
    return {
        "machine": machine(),
        "threads": engine.config.thread_count(),
        "regions": cfg.model_dump(),
        "clips": [
            run_clip(
                engine,
                p,
                cfg=cfg,
                rounds=rounds,
                every=every,
                max_frames=max_frames,
                min_px=min_px,
            )
            for p in paths
        ],
    }


def to_text(report: dict) -> str:
    lines = [f"threads {report['threads']}; regions {report['regions']}"]
    for c in report["clips"]:
        lines.append(
            f"\n{c['clip']} ({c['size']}, {c['frames']} frames at {c['fps_processed']} fps;"
            f" detected around tracks on {c['region_frames']}, in full on {c['full_frames']})"
        )
        for name, row in c["ms_per_frame"].items():
            r = c["ratio_vs_opencv"].get(name)
            r640 = c["ratio_vs_opencv_640"].get(name)
            tail = "" if r is None else f"  x{r} vs opencv"
            tail += "" if r640 is None else f", x{r640} vs opencv @640"
            lines.append(f"  {name:30s} {row['median_ms']:8.2f} ms/frame{tail}")
        for a in c["agreement"]:
            lines.append(
                f"  faces >= {a['min_px']:g} px of the full detection found by the regions:"
                f" {a['found']}/{a['faces']} ({a['recall']}); extra: {a['extra']}"
            )
    return "\n".join(lines)
