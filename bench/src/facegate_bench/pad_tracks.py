"""The passive check's threshold, chosen per track as the runtime decides (`facegate eval pad`).

The runtime never judges one frame: the passive check averages `passive.samples` scores of a
track (`runtime/liveness/passive.py`). So the threshold is chosen on tracks:

- **NUAA tracks**: each NUAA recording (`<subject>_<session>_..._<nn>_<frame>.jpg`) is cut into
  runs of `samples` consecutive frames (by frame number); a track's score is their mean. The 10
  subjects are split in two halves by subject (odd / even numbers): the threshold is chosen on
  one half and reported on the other, then the reverse;
- **real clips**: every face track of the calibration clips (`pad.CALIBRATION_CLIPS`) is scored
  by the runtime's own `PassiveCheck` (threshold 0, so it records without deciding); none of
  them may be refused.

The rule (`choose_threshold`): the largest threshold that refuses at most `target_bpcer` of the
calibration half's real NUAA tracks, lowered if needed so that no real clip track is refused.
The shipped default is the same rule on all ten subjects.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facegate_bench.pad import (
    CALIBRATION_CLIPS,
    CALIBRATION_SOURCE,
    Rates,
    Sample,
    _subject_key,
    _video_frames,
    threshold_at_bpcer,
)


@dataclass
class NuaaTrack:
    subject: str
    attack: bool
    frames: list[str]
    score: float


def nuaa_tracks(samples: Sequence[Sample], length: int) -> list[NuaaTrack]:
    """Runs of `length` consecutive scored frames of each NUAA recording (the last, shorter
    run of a recording is dropped)."""
    runs: dict[tuple[str, bool, str], list[tuple[int, Sample]]] = defaultdict(list)
    for s in samples:
        if s.source != CALIBRATION_SOURCE or s.score is None:
            continue
        stem = s.path.stem.split("_")
        frame = int(stem[-1]) if stem[-1].isdigit() else 0
        runs[(s.subject, s.attack, "_".join(stem[:-1]))].append((frame, s))
    out = []
    for (subject, attack, _), items in sorted(runs.items()):
        items.sort(key=lambda x: x[0])
        for i in range(0, len(items) - length + 1, length):
            chunk = [s for _, s in items[i : i + length]]
            out.append(
                NuaaTrack(
                    subject,
                    attack,
                    [s.rel for s in chunk],
                    float(np.mean([s.score for s in chunk])),  # type: ignore[misc]
                )
            )
    return out


def clip_track_scores(
    root: Path, detect: Callable[[np.ndarray], list], check: Any, min_frames: int = 6
) -> list[dict[str, Any]]:
    """Every face track of the calibration clips under `root` (the shared `video/` folder) that
    the passive check scored fully: clip, track, frames, score (the check's track score)."""
    from facegate.runtime.tracker import Tracker

    out = []
    for rel in CALIBRATION_CLIPS:
        path = root / rel
        if not path.is_file():
            continue
        tracker = Tracker()
        count: dict[int, int] = defaultdict(int)

        def close(tid: int, rel: str = rel, count: dict[int, int] = count) -> None:
            v = check.verdict(tid)
            check.forget(tid)
            if count[tid] >= min_frames and v.checked:
                out.append({"clip": rel, "track": tid, "frames": count[tid], "score": v.score})

        for k, img in enumerate(_video_frames(path)):
            assigned, ended = tracker.update(detect(img), k / 15.0)
            for track, face in assigned:
                count[track.id] += 1
                check.observe(track.id, img, face, count[track.id])
            for track in ended:
                close(track.id)
        for track in tracker.flush():
            close(track.id)
    return out


def choose_threshold(
    real_tracks: Sequence[float], clip_tracks: Sequence[float], target_bpcer: float
) -> float:
    """The largest threshold refusing at most `target_bpcer` of `real_tracks`, lowered to the
    lowest clip track score when that is below it (no real clip track refused)."""
    t = threshold_at_bpcer(np.asarray(real_tracks), target_bpcer)
    if clip_tracks:
        t = min(t, float(min(clip_tracks)))
    return t


def _track_rates(tracks: Sequence[NuaaTrack], t: float) -> dict[str, Any]:
    att = [x for x in tracks if x.attack]
    real = [x for x in tracks if not x.attack]
    passed = sum(x.score >= t for x in att)
    refused = sum(x.score < t for x in real)
    return {
        "apcer": {"rate": round(passed / len(att), 4) if att else None, "errors": passed},
        "bpcer": {"rate": round(refused / len(real), 4) if real else None, "errors": refused},
        "attack_tracks": len(att),
        "real_tracks": len(real),
    }


def halves_report(
    samples: Sequence[Sample],
    clip_tracks: Sequence[dict[str, Any]],
    *,
    samples_per_track: int,
    target_bpcer: float,
) -> dict[str, Any]:
    """Threshold chosen on one half of the NUAA subjects (and the real clips), reported on the
    other half, both ways; and the threshold the same rule gives on all subjects."""
    tracks = nuaa_tracks(samples, samples_per_track)
    subjects = sorted({t.subject for t in tracks}, key=_subject_key)
    if len(subjects) < 2:
        return {}
    halves = [set(subjects[0::2]), set(subjects[1::2])]
    clip_scores = [c["score"] for c in clip_tracks]
    splits = []
    for i, cal in enumerate(halves):
        test = halves[1 - i]
        t = choose_threshold(
            [x.score for x in tracks if x.subject in cal and not x.attack],
            clip_scores,
            target_bpcer,
        )
        frames = Rates()
        for s in samples:
            if s.source == CALIBRATION_SOURCE and s.subject in test and s.score is not None:
                frames.add(s, t)
        splits.append(
            {
                "calibration_subjects": sorted(cal, key=_subject_key),
                "test_subjects": sorted(test, key=_subject_key),
                "threshold": round(t, 4),
                "test_tracks": _track_rates([x for x in tracks if x.subject in test], t),
                "test_frames": frames.to_dict(),
                "clip_tracks_refused": sum(c < t for c in clip_scores),
            }
        )
    t_all = choose_threshold([x.score for x in tracks if not x.attack], clip_scores, target_bpcer)
    return {
        "rule": f"largest threshold refusing <= {target_bpcer:g} of the calibration half's real "
        f"NUAA tracks ({samples_per_track} frames each), and no real clip track",
        "samples_per_track": samples_per_track,
        "target_bpcer": target_bpcer,
        "splits": splits,
        "threshold_all_subjects": round(t_all, 4),
        "clip_tracks": [
            {**c, "score": round(float(c["score"]), 4)} for c in sorted(clip_tracks, key=_score)
        ],
        "lowest_clip_track": round(min(clip_scores), 4) if clip_scores else None,
        "lowest_real_nuaa_tracks": sorted(round(x.score, 4) for x in tracks if not x.attack)[:5],
        "highest_print_nuaa_tracks": sorted(round(x.score, 4) for x in tracks if x.attack)[-5:],
    }


def _score(c: dict[str, Any]) -> float:
    v = c.get("score")
    return math.inf if v is None else float(v)


def halves_text(d: dict[str, Any]) -> list[str]:
    if not d:
        return []

    def pct(r: dict[str, Any]) -> str:
        return "n/a" if r["rate"] is None else f"{100 * r['rate']:.1f} % ({r['errors']})"

    lines = [f"track-level threshold ({d['rule']}):"]
    for s in d["splits"]:
        tr, fr = s["test_tracks"], s["test_frames"]
        lines.append(
            f"  calibrate {','.join(x.split('/')[-1] for x in s['calibration_subjects'])} -> "
            f"{s['threshold']:.3f}; on {','.join(x.split('/')[-1] for x in s['test_subjects'])}: "
            f"tracks APCER {pct(tr['apcer'])} of {tr['attack_tracks']}, BPCER "
            f"{pct(tr['bpcer'])} of {tr['real_tracks']}; frames APCER "
            + ", ".join(pct(v) for v in fr["apcer"].values())
            + f", BPCER {pct(fr['bpcer'])}; real clip tracks refused {s['clip_tracks_refused']}"
        )
    lines.append(
        f"  all subjects -> {d['threshold_all_subjects']:.3f} (lowest real clip track "
        f"{d['lowest_clip_track']}, {len(d['clip_tracks'])} clip tracks)"
    )
    return lines
