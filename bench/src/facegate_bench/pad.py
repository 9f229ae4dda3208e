"""Presentation-attack detection figures: the passive model on still images, and the
model-free planar-motion check on rendered attack clips against real video tracks.

`evaluate_passive` (`facegate eval pad`) reads the shared anti-spoofing data laid out as
`<root>/real/<source>/[<subject>/]<image>` and `<root>/spoof/<source>/[<subject>/]<image>`,
scores the largest face of every image, and reports ISO/IEC 30107-3 style rates:

- APCER per attack type (share of attack presentations accepted as live), BPCER (share of
  real presentations rejected), ACER = (worst APCER + BPCER) / 2;
- thresholds are never fixed on the images they are reported on: the subjects of the
  calibration source (NUAA) are split into folds; each fold's threshold is fixed on the other
  folds' real images at the target BPCER, and its images are scored with it. Other sources
  (other people entirely) are scored with the threshold fixed on all calibration subjects.

`evaluate_motion` (`facegate eval planar`) renders print and screen attacks from LFW photos
(`facegate_bench.attacks`), runs the runtime's planar-motion check over every track of them
and of the real clips in `<data>/video`, and reports how each ended: attack, live, or
undecided. Its thresholds are the shipped defaults (fixed on a calibration set of other LFW
people and the calibration clips, see docs/liveness.md), or any given ones.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facegate.errors import DataError, FaceGateError
from facegate.imageio import load_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: attack type per source folder (the presentation attack instrument species)
ATTACK_TYPES = {"nuaa": "print", "inspireface": "screen", "liveness_opencv": "screen-crop"}
#: single files whose type differs from their folder's (the silentface samples)
FILE_TYPES = {"silentface/image_F1.jpg": "print", "silentface/image_F2.jpg": "screen"}
CALIBRATION_SOURCE = "nuaa"


@dataclass
class Sample:
    path: Path
    rel: str  # "<source>/[<subject>/]<file>"
    source: str
    subject: str
    attack: bool
    kind: str  # "real" or the attack type
    score: float | None = None  # None: no face found


def attack_type(rel: str, source: str) -> str:
    if rel in FILE_TYPES:
        return FILE_TYPES[rel]
    for prefix, kind in ATTACK_TYPES.items():
        if source.startswith(prefix):
            return kind
    return "other"


def find_samples(root: Path) -> list[Sample]:
    if not (root / "real").is_dir() or not (root / "spoof").is_dir():
        raise DataError(f"no anti-spoofing data at {root}: expected real/ and spoof/ folders")
    out = []
    for label in ("real", "spoof"):
        for p in sorted((root / label).rglob("*")):
            if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
                continue
            rel = p.relative_to(root / label).as_posix()
            parts = rel.split("/")
            source = parts[0]
            subject = f"{source}/{parts[1]}" if len(parts) > 2 else source
            attack = label == "spoof"
            out.append(
                Sample(
                    p, rel, source, subject, attack, attack_type(rel, source) if attack else "real"
                )
            )
    if not out:
        raise DataError(f"no images under {root}/real or {root}/spoof")
    return out


def threshold_at_bpcer(real_scores: np.ndarray, target: float) -> float:
    """The largest threshold that rejects at most `target` of these real scores."""
    s = np.sort(np.asarray(real_scores, np.float64))
    if s.size == 0:
        raise DataError("no real face to fix a threshold on")
    k = math.floor(target * s.size)  # this many may fall below the threshold
    return float(s[k]) if k < s.size else float(s[-1])


@dataclass
class Rates:
    attacks: dict[str, list[int]] = field(default_factory=dict)  # type -> [accepted, total]
    real: list[int] = field(default_factory=lambda: [0, 0])  # [rejected, total]

    def add(self, s: Sample, threshold: float) -> None:
        live = s.score is not None and s.score >= threshold
        if s.attack:
            a = self.attacks.setdefault(s.kind, [0, 0])
            a[0] += int(live)
            a[1] += 1
        else:
            self.real[0] += int(not live)
            self.real[1] += 1

    def to_dict(self) -> dict[str, Any]:
        apcer = {k: _rate(*v) for k, v in sorted(self.attacks.items())}
        bpcer = _rate(*self.real)
        worst = max((v["rate"] for v in apcer.values() if v["rate"] is not None), default=None)
        acer = (
            (worst + bpcer["rate"]) / 2 if worst is not None and bpcer["rate"] is not None else None
        )
        return {"apcer": apcer, "bpcer": bpcer, "acer": None if acer is None else round(acer, 4)}


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"rate": round(k / n, 4) if n else None, "errors": k, "n": n}


@dataclass
class PassiveReport:
    model: str
    version: str
    target_bpcer: float
    folds: int
    fold_thresholds: list[float]
    threshold: float  # fixed on all calibration subjects (what a deployment would use)
    held_out: dict[str, Any]  # calibration source, each subject scored with a threshold
    other: dict[str, dict[str, Any]]  # per other source, threshold fixed on calibration
    no_face: dict[str, int]
    ms_per_face: float
    images: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "target_bpcer": self.target_bpcer,
            "folds": self.folds,
            "fold_thresholds": [round(t, 4) for t in self.fold_thresholds],
            "threshold": round(self.threshold, 4),
            "held_out_subjects": self.held_out,
            "other_sources": self.other,
            "no_face": self.no_face,
            "ms_per_face": round(self.ms_per_face, 2),
            "images": self.images,
        }

    def to_text(self) -> str:
        def line(name: str, d: dict[str, Any]) -> str:
            parts = [f"APCER {k} {_pct(v)}" for k, v in d["apcer"].items()]
            parts.append(f"BPCER {_pct(d['bpcer'])}")
            if d["acer"] is not None:
                parts.append(f"ACER {100 * d['acer']:.2f} %")
            return f"  {name}: " + ", ".join(parts)

        lines = [
            f"passive PAD {self.model} ({self.version}), {self.images} images, "
            f"{self.ms_per_face:.1f} ms per face",
            f"thresholds fixed at target BPCER {100 * self.target_bpcer:g} % on "
            f"{CALIBRATION_SOURCE} subjects of other folds ({self.folds} folds: "
            + ", ".join(f"{t:.3f}" for t in self.fold_thresholds)
            + ")",
            line(f"{CALIBRATION_SOURCE} held-out subjects", self.held_out),
        ]
        lines.append(
            f"threshold fixed on all {CALIBRATION_SOURCE} subjects: "
            f"{self.threshold:.4f}; other sources (people never used for it):"
        )
        lines += [line(k, v) for k, v in self.other.items()]
        if any(self.no_face.values()):
            lines.append(
                "no face found (not counted): "
                + ", ".join(f"{k} {v}" for k, v in self.no_face.items() if v)
            )
        return "\n".join(lines)


def _pct(d: dict[str, Any]) -> str:
    return "n/a" if d["rate"] is None else f"{100 * d['rate']:.2f} % ({d['errors']}/{d['n']})"


def score_samples(
    samples: Sequence[Sample],
    detect: Callable[[np.ndarray], list],
    model: Any,
    progress: bool = False,
) -> float:
    """Fill `score` with the model's P(real) for each image's largest face; ms per face."""
    it: Iterable[Sample] = samples
    if progress:
        from tqdm import tqdm

        it = tqdm(samples, desc="pad", unit="img")
    spent, n = 0.0, 0
    for s in it:
        try:
            img = load_image(s.path)  # EXIF orientation applied
        except FaceGateError:
            continue
        faces = detect(img)
        if not faces:
            continue
        t0 = time.perf_counter()
        s.score = float(model.score(img, faces[:1])[0])
        spent += time.perf_counter() - t0
        n += 1
    return 1000 * spent / max(n, 1)


def _subject_key(subject: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", subject)]


def evaluate_passive(
    root: Path,
    model: Any,
    detect: Callable[[np.ndarray], list],
    *,
    target_bpcer: float = 0.02,
    folds: int = 5,
    progress: bool = False,
) -> PassiveReport:
    """Score every image and report subject-disjoint error rates (see the module doc)."""
    samples = find_samples(root)
    ms = score_samples(samples, detect, model, progress)
    return report_passive(samples, model, target_bpcer=target_bpcer, folds=folds, ms_per_face=ms)


def report_passive(
    samples: Sequence[Sample],
    model: Any,
    *,
    target_bpcer: float,
    folds: int,
    ms_per_face: float = 0.0,
) -> PassiveReport:
    no_face: dict[str, int] = defaultdict(int)
    for s in samples:
        if s.score is None:
            no_face[f"{'spoof' if s.attack else 'real'}/{s.source}"] += 1
    scored = [s for s in samples if s.score is not None]
    cal = [s for s in scored if s.source == CALIBRATION_SOURCE]
    subjects = sorted({s.subject for s in cal}, key=_subject_key)
    if len(subjects) < 2:
        raise DataError(
            f"need at least 2 {CALIBRATION_SOURCE} subjects to hold some out, found {len(subjects)}"
        )
    folds = max(2, min(folds, len(subjects)))
    held = Rates()
    fold_t = []
    for f in range(folds):
        test = set(subjects[f::folds])
        fit = [s.score for s in cal if not s.attack and s.subject not in test]
        t = threshold_at_bpcer(np.array(fit), target_bpcer)
        fold_t.append(t)
        for s in cal:
            if s.subject in test:
                held.add(s, t)
    t_all = threshold_at_bpcer(np.array([s.score for s in cal if not s.attack]), target_bpcer)
    other: dict[str, Rates] = {}
    for s in scored:
        if s.source != CALIBRATION_SOURCE:
            other.setdefault(s.source, Rates()).add(s, t_all)
    return PassiveReport(
        getattr(model, "name", "pad"),
        getattr(model, "version", ""),
        target_bpcer,
        folds,
        fold_t,
        t_all,
        held.to_dict(),
        {k: v.to_dict() for k, v in sorted(other.items())},
        dict(no_face),
        ms_per_face,
        len(samples),
    )


# -- the model-free planar-motion check on rendered attacks and real clips -------------------

#: Real clips whose tracks the motion thresholds were fixed on; the others are reported.
CALIBRATION_CLIPS = (
    "face_recognition_ageitgey/short_hamilton_clip.mp4",
    "intel_sample_videos/head-pose-face-detection-female-and-male.gif",
    "intel_sample_videos/face-demographics-walking-and-pause.gif",
)
#: A replay of a *video* of a real person on a screen: the planar check is not meant to catch
#: it (the head moves in 3D inside the screen); reported apart from real and attack tracks.
VIDEO_REPLAYS = ("apfol_liveness/fake2.webm",)
VIDEO_SUFFIXES = (".mp4", ".webm", ".gif", ".avi", ".mov", ".mkv")


def person_split(name: str) -> str:
    """A fixed calibration/test split of LFW people (by a stable hash of the name)."""
    import zlib

    return "calibration" if zlib.crc32(name.encode()) % 2 == 0 else "test"


@dataclass
class TrackResult:
    clip: str
    kind: str  # "print", "screen", "real", "video-replay"
    track: int
    frames: int
    live: bool | None
    evidence: dict[str, Any]


@dataclass
class MotionReport:
    split: str
    attacks: list[TrackResult]  # one per attack clip: its most decided track
    real: list[TrackResult]
    replays: list[TrackResult]
    ms_per_look: float
    ms_per_frame: float
    config: dict[str, Any]

    @staticmethod
    def _count(rs: list[TrackResult]) -> dict[str, int]:
        return {
            "live": sum(r.live is True for r in rs),
            "attack": sum(r.live is False for r in rs),
            "undecided": sum(r.live is None for r in rs),
            "n": len(rs),
        }

    def to_dict(self) -> dict[str, Any]:
        by_kind: dict[str, list[TrackResult]] = defaultdict(list)
        for r in self.attacks:
            by_kind[r.kind].append(r)
        return {
            "split": self.split,
            "config": self.config,
            "attack_clips": {k: self._count(v) for k, v in sorted(by_kind.items())},
            "real_tracks": self._count(self.real),
            "video_replay_tracks": self._count(self.replays),
            "ms_per_look": round(self.ms_per_look, 2),
            "ms_per_frame": round(self.ms_per_frame, 2),
            "tracks": [r.__dict__ for r in self.attacks + self.real + self.replays],
        }

    def to_text(self) -> str:
        d = self.to_dict()

        def fmt(c: dict[str, int]) -> str:
            return f"{c['n']}: live {c['live']}, attack {c['attack']}, undecided {c['undecided']}"

        lines = [
            f"planar-motion check ({self.split} split), {self.ms_per_look:.1f} ms per look "
            f"(landmarks + flow), {self.ms_per_frame:.2f} ms per tracked frame"
        ]
        for k, c in d["attack_clips"].items():
            lines.append(f"  {k} attack clips {fmt(c)}  (live = the attack passed)")
        lines.append(f"  real face tracks {fmt(d['real_tracks'])}")
        if self.replays:
            lines.append(
                f"  video replays on a screen {fmt(d['video_replay_tracks'])} "
                "(not what this check catches)"
            )
        return "\n".join(lines)


def run_motion_check(
    frames: Iterable[np.ndarray],
    detect: Callable[[np.ndarray], list],
    check: Any,
    min_frames: int = 6,
) -> tuple[list[tuple[int, int, Any]], float, int]:
    """Detect, track and run the check over frames: ([(track, frames, verdict)], seconds in
    the check, tracked frames)."""
    from facegate.runtime.tracker import Tracker

    tracker = Tracker()
    counts: dict[int, int] = defaultdict(int)
    out = []
    spent = 0.0
    tracked = 0
    t = 0.0

    def close(tid: int) -> None:
        v = check.verdict(tid)
        check.forget(tid)
        if counts[tid] >= min_frames:
            out.append((tid, counts[tid], v))

    for k, img in enumerate(frames):
        t = k / 15.0
        assigned, ended = tracker.update(detect(img), t)
        for track, face in assigned:
            counts[track.id] += 1
            tracked += 1
            t0 = time.perf_counter()
            check.observe(track.id, img, face, counts[track.id])
            spent += time.perf_counter() - t0
        for track in ended:
            close(track.id)
    for track in tracker.flush():
        close(track.id)
    return out, spent, tracked


def _video_frames(path: Path, max_fps: float = 15.0) -> Iterable[np.ndarray]:
    from facegate.runtime.sources import open_source

    src = open_source(str(path), "fast")
    step = max(1, round(getattr(src, "fps", max_fps) / max_fps))
    try:
        k = 0
        while True:
            fr = src.read()
            if fr is None:
                return
            if k % step == 0:
                yield fr.image
            k += 1
    finally:
        src.close()


def evaluate_motion(
    engine: Any,
    root: Path,
    cfg: Any,
    *,
    attacks: int = 240,
    seed: int = 0,
    split: str = "test",
    progress: bool = False,
) -> MotionReport:
    """Render `attacks` print/screen attack clips from LFW people of `split` and run the
    planar-motion check (config `cfg`, a MotionConfig) over them and over the real clips of
    `split` in `<root>/video`."""
    from facegate.runtime.liveness import Landmarks68, PlanarMotionCheck
    from facegate_bench.attacks import render_attack

    lfw = root / "lfw" / "gray"
    video = root / "video"
    if not lfw.is_dir():
        raise DataError(f"no LFW photos at {lfw}: pass --data (the shared data folder)")
    people = sorted(p.name for p in lfw.iterdir() if p.is_dir())
    if split != "all":
        people = [p for p in people if person_split(p) == split]
    landmarks = Landmarks68(engine.cache_dir).prepare()

    spent = 0.0
    looks = 0
    tracked = 0
    att_results: list[TrackResult] = []
    it: Iterable[int] = range(attacks)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="attack clips", unit="clip")
    for i in it:
        rng = np.random.default_rng([seed, i])
        person = people[int(rng.integers(len(people)))]
        photos = sorted((lfw / person).glob("*.jpg"))
        kind = "print" if i % 2 == 0 else "screen"
        clip = render_attack(load_image(photos[int(rng.integers(len(photos)))]), rng, kind=kind)
        check = PlanarMotionCheck(cfg, landmarks)
        tracks, s, n = run_motion_check(clip.frames, engine.detect, check)
        spent += s
        looks += check.looks
        tracked += n
        # the attack passes if any of its tracks is judged live; else report the main track
        best = max(tracks, key=lambda x: (x[2].live is True, x[1]), default=None)
        if best is None:
            att_results.append(
                TrackResult(f"{kind}:{person}", kind, -1, 0, None, {"note": "no face track"})
            )
        else:
            att_results.append(
                TrackResult(
                    f"{kind}:{person}", kind, best[0], best[1], best[2].live, best[2].evidence
                )
            )
    real: list[TrackResult] = []
    replays: list[TrackResult] = []
    clips = (
        sorted(p for p in video.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        if video.is_dir()
        else []
    )
    for p in clips:
        rel = p.relative_to(video).as_posix()
        replay = rel in VIDEO_REPLAYS
        in_cal = rel in CALIBRATION_CLIPS
        if not replay and split != "all" and in_cal != (split == "calibration"):
            continue
        check = PlanarMotionCheck(cfg, landmarks)
        tracks, s, n = run_motion_check(_video_frames(p), engine.detect, check)
        spent += s
        looks += check.looks
        tracked += n
        for tid, frames, v in tracks:
            if v.evidence.get("views", 0) < 2:
                continue  # never seen large enough to look at
            r = TrackResult(
                rel, "video-replay" if replay else "real", tid, frames, v.live, v.evidence
            )
            (replays if replay else real).append(r)
    return MotionReport(
        split,
        att_results,
        real,
        replays,
        1000 * spent / max(looks, 1),
        1000 * spent / max(tracked, 1),
        cfg.model_dump(),
    )
