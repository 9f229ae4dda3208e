"""`facegate eval liveness`: the entrance's whole liveness stage (every configured check and
the policy, `build_liveness`) on rendered attacks of the three kinds and on every real face
track of the shared clips, one split at a time.

- attacks: `print` and `screen` (a photo of an LFW person of the split, `attacks.render_attack`)
  and `replay` (a real clip of the split playing on a hand-held screen,
  `replay.render_replay`), in turn; each clip's seed is `[seed, i]`;
- real: every face track of the split's clips under `<data>/video` (`pad.CALIBRATION_CLIPS`
  are the calibration split, the others the test split), plus `apfol_liveness/fake2.webm`, a
  recorded screen replay of a real person, reported apart.

Each track is run through the stage frame by frame as the runtime would (detector, tracker,
`observe` on every tracked face) and reported by what the stage said at any frame: **live**
(the door would open for a recognised resident: for an attack, it passed), **attack**
(denied as an attack), or **undecided** (with `on_undecided: wait` the door stays shut: for a
real visitor, a missed open). The log (`--log`) has one line per track with every check's
evidence, so thresholds can be chosen from a calibration run without rendering again; the
time each check spent per observed face is reported too.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facegate.errors import DataError
from facegate.imageio import load_image
from facegate_bench.pad import (
    CALIBRATION_CLIPS,
    VIDEO_REPLAYS,
    VIDEO_SUFFIXES,
    _video_frames,
    person_split,
)

ATTACK_ORDER = ("print", "screen", "replay")


@dataclass
class TrackRun:
    clip: str
    kind: str  # print / screen / replay (rendered attacks), real, recorded-replay
    track: int
    frames: int
    outcome: str  # live / attack / undecided
    decided_at: int | None  # frame of the track at which the stage first decided
    verdict: dict[str, Any] = field(default_factory=dict)  # the stage's last verdict


def run_stage(
    frames: Iterable[np.ndarray],
    detect: Callable[[np.ndarray], list],
    stage: Any,
    *,
    fps: float = 15.0,
    min_frames: int = 6,
) -> list[tuple[int, int, str, int | None, dict[str, Any]]]:
    """Detect, track and run a liveness stage over frames: per track with `min_frames` or
    more, (track, frames, outcome, decided_at, last verdict)."""
    from facegate.runtime.tracker import Tracker

    tracker = Tracker()
    count: dict[int, int] = defaultdict(int)
    state: dict[int, tuple[str, int | None]] = {}
    out = []

    def close(tid: int) -> None:
        v = stage.verdict(tid)
        stage.forget(tid)
        outcome, at = state.pop(tid, ("undecided", None))
        if count[tid] >= min_frames:
            out.append((tid, count[tid], outcome, at, v.to_dict()))

    for k, img in enumerate(frames):
        assigned, ended = tracker.update(detect(img), k / fps)
        for track, face in assigned:
            count[track.id] += 1
            stage.observe(track.id, img, face)
            if state.get(track.id, ("undecided",))[0] == "undecided":
                v = stage.verdict(track.id)
                if v.checked and v.live is not None:
                    state[track.id] = ("live" if v.live else "attack", count[track.id])
        for track in ended:
            close(track.id)
    for track in tracker.flush():
        close(track.id)
    return out


class CheckTimer:
    """Wraps each check's `observe` of a PolicyLiveness to time it (ms per observed face)."""

    def __init__(self, stage: Any) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.checks = dict(getattr(stage, "checks", {}))
        for name, check in self.checks.items():
            check.observe = self._wrap(name, check.observe)

    def _wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args: Any) -> None:
            t0 = time.perf_counter()
            try:
                fn(*args)
            finally:
                self.spent[name] += time.perf_counter() - t0
                self.calls[name] += 1

        return timed

    def ms_per_face(self) -> dict[str, float]:
        """Per check: ms per observed face (every tracked frame, most of them skipped)."""
        return {k: round(1000 * v / max(self.calls[k], 1), 2) for k, v in self.spent.items()}

    def ms_per_look(self) -> dict[str, float]:
        """Per check: ms per face it actually looked at (scored, landmarked, searched)."""
        out = {}
        for k, v in self.spent.items():
            looks = getattr(self.checks[k], "looks", 0)
            if looks:
                out[k] = round(1000 * v / looks, 2)
        return out


@dataclass
class LivenessReport:
    split: str
    seed: int
    config: dict[str, Any]
    tracks: list[TrackRun]
    ms_per_face: dict[str, float]  # per check: time per observed face (all frames)
    ms_detect: float
    ms_per_look: dict[str, float] = field(default_factory=dict)  # per face looked at

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for t in self.tracks:
            c = out.setdefault(t.kind, {"n": 0, "live": 0, "attack": 0, "undecided": 0})
            c["n"] += 1
            c[t.outcome] += 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "seed": self.seed,
            "config": self.config,
            "by_kind": self.counts(),
            "ms_per_face": self.ms_per_face,
            "ms_per_look": self.ms_per_look,
            "ms_detect_per_frame": round(self.ms_detect, 2),
        }

    def to_text(self) -> str:
        lines = [
            f"liveness stage ({', '.join(self.config.get('checks', []))}; need "
            f"{self.config.get('need')}, undecided -> {self.config.get('on_undecided')}) on the "
            f"{self.split} split, seed {self.seed}",
        ]
        for kind, c in self.counts().items():
            what = "passed (live)" if kind not in ("real",) else "live (would open)"
            lines.append(
                f"  {kind}: {c['n']} tracks, {what} {c['live']}, attack {c['attack']}, "
                f"undecided {c['undecided']}"
            )
        lines.append(
            "  time per observed face: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in self.ms_per_face.items())
            + f" (detection {self.ms_detect:.1f} ms per frame); per face looked at: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in self.ms_per_look.items())
        )
        return "\n".join(lines)


def _split_clips(video: Path, split: str) -> list[tuple[str, Path]]:
    if not video.is_dir():
        return []
    out = []
    for p in sorted(video.rglob("*")):
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        rel = p.relative_to(video).as_posix()
        if (
            rel in VIDEO_REPLAYS
            or split == "all"
            or (rel in CALIBRATION_CLIPS) == (split == "calibration")
        ):
            out.append((rel, p))
    return out


def evaluate(
    engine: Any,
    root: Path,
    cfg: Any,
    *,
    attacks: int = 60,
    seed: int = 0,
    split: str = "calibration",
    real: bool = True,
    progress: bool = False,
    on_track: Callable[[TrackRun], None] | None = None,
    kinds: Iterable[str] = ATTACK_ORDER,
) -> LivenessReport:
    """Run the liveness stage `build_liveness(cfg)` over `attacks` rendered attacks (print,
    screen, replay in turn; `kinds` keeps some of them, each clip the same as in the full run)
    and the real tracks of `split`."""
    from facegate.runtime.liveness import build_liveness
    from facegate_bench.attacks import render_attack
    from facegate_bench.replay import REPLAY_CLIPS, load_replay_source, render_replay

    lfw = root / "lfw" / "gray"
    video = root / "video"
    if attacks and not lfw.is_dir():
        raise DataError(f"no LFW photos at {lfw}: pass --data (the shared data folder)")
    stage = build_liveness(cfg, engine)
    timer = CheckTimer(stage)
    det = {"s": 0.0, "n": 0}

    def detect(img: np.ndarray) -> list:
        t0 = time.perf_counter()
        try:
            return engine.detect(img)
        finally:
            det["s"] += time.perf_counter() - t0
            det["n"] += 1

    runs: list[TrackRun] = []

    def add(clip: str, kind: str, frames: Iterable[np.ndarray], one: bool) -> None:
        res = run_stage(frames, detect, stage)
        if one:  # an attack clip: the track most favourable to the attacker, else the longest
            order = {"live": 2, "undecided": 1, "attack": 0}
            res = [max(res, key=lambda r: (order[r[2]], r[1]))] if res else []
            if not res:
                runs.append(TrackRun(clip, kind, -1, 0, "undecided", None, {"note": "no track"}))
        for tid, n, outcome, at, v in res:
            runs.append(TrackRun(clip, kind, tid, n, outcome, at, v))
            if on_track:
                on_track(runs[-1])

    people = []
    if attacks:
        people = sorted(p.name for p in lfw.iterdir() if p.is_dir())
        if split != "all":
            people = [p for p in people if person_split(p) == split]
    sources = [rel for rel, s in REPLAY_CLIPS.items() if split == "all" or s == split]
    keep = set(kinds)
    loaded: dict[str, Any] = {}
    it: Iterable[int] = range(attacks)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="attack clips", unit="clip")
    for i in it:
        rng = np.random.default_rng([seed, i])
        kind = ATTACK_ORDER[i % len(ATTACK_ORDER)]
        if kind not in keep:
            continue
        if kind == "replay":
            if not sources:
                continue
            rel = sources[int(rng.integers(len(sources)))]
            if rel not in loaded:
                loaded[rel] = load_replay_source(video / rel, engine.detect, clip=rel)
            clip = render_replay(loaded[rel], rng)
            name = f"replay:{rel}"
        else:
            person = people[int(rng.integers(len(people)))]
            photos = sorted((lfw / person).glob("*.jpg"))
            photo = load_image(photos[int(rng.integers(len(photos)))])
            clip = render_attack(photo, rng, kind=kind)
            name = f"{kind}:{person}"
        add(name, kind, clip.frames, one=True)
    if real:
        for rel, p in _split_clips(video, split):
            kind = "recorded-replay" if rel in VIDEO_REPLAYS else "real"
            add(rel, kind, _video_frames(p), one=False)
    return LivenessReport(
        split,
        seed,
        stage.describe() if hasattr(stage, "describe") else {},
        runs,
        timer.ms_per_face(),
        1000 * det["s"] / max(det["n"], 1),
        timer.ms_per_look(),
    )


def write_log(path: Path) -> Callable[[TrackRun], None]:
    fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed at exit by the process

    def write(t: TrackRun) -> None:
        fh.write(json.dumps(asdict(t)) + "\n")
        fh.flush()

    return write
