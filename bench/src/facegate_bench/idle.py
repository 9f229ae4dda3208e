"""`facegate bench idle`: what an empty doorway costs, and how late the idle gate notices
someone walking in, with the gate off and on in the same run.

- **Idle CPU**: an empty entrance rendered at 720p and 1080p, 25 fps (`clips.make_background`,
  the door benchmark's doorway, with per-frame sensor noise and a lighting drift of +-6 % over
  a minute), written to an MPEG-4 file and read back through the runtime's own file source,
  so decoding is paid as from a camera stream. The runtime processes every frame (pace "fast":
  what a live 25 fps camera delivers); CPU is the process's CPU time (all threads), reported
  as a share of one core at 25 fps and as CPU-seconds per hour. The floor beside it: decoding
  plus the gate's thumbnail alone.
- **Delay to the first detection**: real footage of people walking in one by one
  (`video/intel_sample_videos/one-by-one-person-detection.mp4` of the shared data, 139 s,
  empty stretches between people): for every track the gate-off run starts, the frame where the
  gate-on run first detects that face; the delay is the difference in frames. Skipped with a
  reason when the shared data is absent.

MPEG-4 Part 2 (OpenCV's `mp4v` writer) stands in for a camera's H.264: decoding costs differ by
codec and by the board's hardware decoder, so the floor is this machine's, not the board's.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facegate.engine import FaceEngine
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.idle import IdleConfig, IdleGate
from facegate.runtime.pipeline import Runtime
from facegate.runtime.sources import VideoFileSource, clock_for
from facegate_bench.clips import make_background

FPS = 25.0
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
WALK_IN = "video/intel_sample_videos/one-by-one-person-detection.mp4"


def write_empty_scene(path: Path, size: tuple[int, int], seconds: float, seed: int = 0) -> int:
    """An empty doorway with sensor noise and lighting drift, as a 25 fps MPEG-4 file."""
    rng = np.random.default_rng(seed)
    w, h = size
    scene = make_background(rng, w, h, False).astype(np.float32)
    n = round(seconds * FPS)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MPEG-4 here (no mp4v encoder)")
    try:
        for k in range(n):
            gain = 1.0 + 0.06 * np.sin(2 * np.pi * k / (60 * FPS))  # +-6 % over a minute
            noise = rng.normal(0.0, 2.5, (h // 4, w // 4, 3)).astype(np.float32)
            noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
            frame = np.clip(scene * gain + noise, 0, 255).astype(np.uint8)
            writer.write(frame)
    finally:
        writer.release()
    return n


def _runtime(engine: FaceEngine, store, clip: Path, idle: IdleConfig) -> Runtime:
    clock = clock_for("fast")
    source = VideoFileSource(clip, pace="fast", clock=clock)
    return Runtime(
        entrance="idle-bench",
        engine=engine,
        store=store,
        source=source,
        clock=clock,
        idle=idle,
    )


def idle_cpu(engine: FaceEngine, store, clip: Path, idle: IdleConfig) -> dict:
    """Process every frame of `clip`; CPU time of this process per frame."""
    rt = _runtime(engine, store, clip, idle)
    rt.warm_up()
    c0, w0 = time.process_time(), time.perf_counter()
    stats = rt.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rt.source.close()
    per_frame = cpu / max(stats.frames, 1)
    return {
        "frames": stats.frames,
        "detected": stats.detected,
        "cpu_ms_per_frame": round(1000 * per_frame, 2),
        "core_pct_at_25fps": round(100 * per_frame * FPS, 1),
        "cpu_s_per_hour": round(per_frame * FPS * 3600),
        "wall_s": round(wall, 1),
        "stage_ms_per_frame": stats.to_dict()["ms_per_frame"],
    }


def decode_floor(clip: Path, idle: IdleConfig) -> dict:
    """Decoding plus the gate's thumbnail, nothing else: what no gate can save."""
    gate = IdleGate(idle)
    cap = cv2.VideoCapture(str(clip))
    frames = 0
    c0 = time.process_time()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        gate.thumbnail(frame)
        frames += 1
    cpu = time.process_time() - c0
    cap.release()
    per_frame = cpu / max(frames, 1)
    return {
        "cpu_ms_per_frame": round(1000 * per_frame, 2),
        "core_pct_at_25fps": round(100 * per_frame * FPS, 1),
    }


def trace(engine: FaceEngine, store, clip: Path, idle: IdleConfig) -> tuple[list, list]:
    """(frame index, box) where each new track's first face was detected, and per frame the
    boxes of the faces detected in that frame (tracks updated by it)."""
    rt = _runtime(engine, store, clip, idle)
    rt.warm_up()
    hits: dict[int, int] = {}  # a track whose hits went up was detected in this frame
    starts: list[tuple[int, tuple]] = []
    boxes: list[list[tuple]] = []
    i = 0
    while rt.step():
        now: list[tuple] = []
        for tid, tr in rt.tracker.tracks.items():
            box = tuple(float(v) for v in tr.face.bbox)
            if tid not in hits:
                starts.append((i, box))
            if hits.get(tid) != tr.hits:
                now.append(box)
            hits[tid] = tr.hits
        boxes.append(now)
        i += 1
    rt.source.close()
    return starts, boxes


def walk_in_delay(engine: FaceEngine, store, clip: Path, idle: IdleConfig) -> dict:
    """For every track the ungated run starts (someone walking in, or a track the ungated run
    split), frames until the gated run has that face (a box overlapping it) in a track: 0
    when the gated run already follows it, None when not within 25 frames."""
    off, _ = trace(engine, store, clip, idle.model_copy(update={"enabled": False}))
    on, on_boxes = trace(engine, store, clip, idle)
    delays = []
    for f, box in off:
        later = [
            g - f
            for g in range(f, min(f + 26, len(on_boxes)))
            if any(_overlap(box, b) > 0.1 for b in on_boxes[g])
        ]
        delays.append(min(later) if later else None)
    found = [d for d in delays if d is not None]
    return {
        "tracks": len(off),
        "found_by_gated_run": len(found),
        "delay_frames": found,
        "max_delay_frames": max(found) if found else None,
        "tracks_gated_run": len(on),
    }


def _overlap(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - iw * ih
    return iw * ih / union if union > 0 else 0.0


def run(
    engine: FaceEngine,
    data: Path | None,
    seconds: float = 20.0,
    sizes: tuple[str, ...] = ("720p", "1080p"),
    idle: IdleConfig | None = None,
) -> dict:
    idle = idle or IdleConfig()
    off = idle.model_copy(update={"enabled": False})
    out: dict = {"fps": FPS, "seconds": seconds, "idle": idle.model_dump(), "empty": {}}
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.sqlite") as store:
        for name in sizes:
            clip = Path(tmp) / f"empty-{name}.mp4"
            write_empty_scene(clip, SIZES[name], seconds)
            row = {
                "gate_off": idle_cpu(engine, store, clip, off),
                "gate_on": idle_cpu(engine, store, clip, idle),
                "decode_and_thumbnail": decode_floor(clip, idle),
            }
            row["ratio"] = round(
                row["gate_off"]["cpu_ms_per_frame"] / max(row["gate_on"]["cpu_ms_per_frame"], 1e-9),
                1,
            )
            out["empty"][name] = row
        walk = data / WALK_IN if data is not None else None
        if walk is not None and walk.is_file():
            out["walk_in"] = walk_in_delay(engine, store, walk, idle)
        else:
            out["walk_in"] = {"skipped": f"{walk or WALK_IN} not found (shared data absent)"}
    return out


def to_text(r: dict) -> str:
    lines = [f"empty doorway, {r['fps']:g} fps, {r['seconds']:g} s, every frame processed:"]
    for name, row in r["empty"].items():
        a, b, f = row["gate_off"], row["gate_on"], row["decode_and_thumbnail"]
        lines.append(
            f"  {name}: gate off {a['core_pct_at_25fps']:.1f} % of a core "
            f"({a['cpu_s_per_hour']} CPU-s/h), gate on {b['core_pct_at_25fps']:.1f} % "
            f"({b['cpu_s_per_hour']} CPU-s/h, detector on {b['detected']} of {b['frames']} "
            f"frames), x{row['ratio']}; decoding + thumbnail alone {f['core_pct_at_25fps']:.1f} %"
        )
    w = r.get("walk_in", {})
    if "skipped" in w:
        lines.append(f"walk-in: skipped ({w['skipped']})")
    else:
        lines.append(
            f"walk-in (real footage): {w['tracks']} people/faces found without the gate, "
            f"{w['found_by_gated_run']} with it; delay to first detection {w['delay_frames']} "
            f"frames (max {w['max_delay_frames']})"
        )
    return "\n".join(lines)
