"""`facegate eval calibrate`: thresholds by target false-match rate from all cross-identity pairs
of the gray LFW, for each model (flip off and on) and for chosen fusions of them.

Every image is embedded as `lfw.embed_lfw` does (YuNet, each model's own alignment, cached).
The threshold at FMR f is the k-th highest of the n impostor scores, k = floor(f * n), so at
most k impostor pairs score above it. FMRs are decades from 1e-3 down to the lowest that still
leaves `MIN_IMPOSTORS` impostor pairs above its threshold (gray LFW: 87,307,269 pairs, so
1e-6 with 87 above; 1e-7 would rest on 8). A fusion is the mean of its models' impostor
z-scores (`Calibration.normalise`), calibrated the same way. The report adds the share of all
same-identity pairs above each threshold (TAR on the same images).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.engine import FaceEngine
from facegate.errors import DataError
from facegate.gallery.thresholds import Calibration, calibration_key
from facegate_bench import lfw

#: The fewest impostor pairs above a threshold that a calibrated FMR may rest on.
MIN_IMPOSTORS = 10


def calibration_fmrs(pairs: int, min_impostors: int = MIN_IMPOSTORS) -> tuple[float, ...]:
    """Decades from 1e-3 down to the lowest with at least `min_impostors` pairs above."""
    out = []
    k = 3
    while float(f"1e-{k}") * pairs >= min_impostors:
        out.append(float(f"1e-{k}"))
        k += 1
    return tuple(out)


def cross_identity_pairs(ids: np.ndarray) -> int:
    n = len(ids)
    _, counts = np.unique(ids, return_counts=True)
    return n * (n - 1) // 2 - int(sum(c * (c - 1) // 2 for c in counts))


def impostor_top(
    vectors: Sequence[np.ndarray],
    ids: np.ndarray,
    keep_fraction: float,
    stats: Sequence[tuple[float, float]] | None = None,
    chunk: int = 1024,
) -> tuple[np.ndarray, float, float, int]:
    """Highest impostor scores over all cross-identity pairs (i < j), plus their mean/std.

    With several models, the score is the mean z-score given by `stats` (fusion).
    Returns (top scores, descending), mean, std, number of pairs.
    """
    n = len(ids)
    total_pairs = n * (n - 1) // 2
    keep = math.ceil(keep_fraction * total_pairs) + 1
    top = np.empty(0, np.float32)
    s1 = s2 = 0.0
    count = 0
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        sc = None
        for m, v in enumerate(vectors):
            s = v[rows] @ v.T
            if stats is not None:
                mu, sd = stats[m]
                s = (s - mu) / sd
            sc = s if sc is None else sc + s
        sc = sc / len(vectors)
        r = np.arange(rows.start, rows.stop)[:, None]
        mask = (np.arange(n)[None, :] > r) & (ids[rows][:, None] != ids[None, :])
        vals = sc[mask].astype(np.float32)
        s1 += float(vals.sum(dtype=np.float64))
        s2 += float((vals.astype(np.float64) ** 2).sum())
        count += vals.size
        top = np.concatenate([top, vals])
        if top.size > keep:
            top = np.partition(top, top.size - keep)[-keep:]
    mean = s1 / count
    std = math.sqrt(max(s2 / count - mean**2, 1e-12))
    return np.sort(top)[::-1], mean, std, count


def genuine_scores(
    vectors: Sequence[np.ndarray],
    ids: np.ndarray,
    stats: Sequence[tuple[float, float]] | None = None,
) -> np.ndarray:
    """Scores of all same-identity pairs (i < j); fused like `impostor_top` with `stats`."""
    out = []
    for who in np.unique(ids):
        idx = np.flatnonzero(ids == who)
        if len(idx) < 2:
            continue
        iu = np.triu_indices(len(idx), 1)
        parts = []
        for m, v in enumerate(vectors):
            s = (v[idx] @ v[idx].T)[iu]
            if stats is not None:
                s = (s - stats[m][0]) / stats[m][1]
            parts.append(s)
        out.append(np.mean(parts, axis=0))
    return np.concatenate(out) if out else np.zeros(0)


def thresholds_from_top(top: np.ndarray, pairs: int, fmrs: Iterable[float]) -> dict[float, float]:
    """Score t with (impostors > t) / pairs <= fmr; the k-th highest impostor score."""
    return {f: float(top[min(len(top) - 1, math.floor(f * pairs))]) for f in fmrs}


@dataclass
class CalibrationRun:
    calibrations: dict[str, Calibration]
    images: int
    impostor_pairs: int
    genuine_pairs: int
    tar: dict[str, dict[float, float]]  # per calibration: share of genuine pairs above each t

    @property
    def fmrs(self) -> list[float]:
        return sorted({f for c in self.calibrations.values() for f in c.thresholds})

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "impostor_pairs": self.impostor_pairs,
            "genuine_pairs": self.genuine_pairs,
            "impostors_above": {f"{f:g}": math.floor(f * self.impostor_pairs) for f in self.fmrs},
            "lowest_fmr_with_min_impostors": MIN_IMPOSTORS / self.impostor_pairs,
            "calibrations": {
                k: {**c.to_json(), "tar": {f"{f:g}": round(t, 5) for f, t in self.tar[k].items()}}
                for k, c in self.calibrations.items()
            },
        }

    def to_text(self) -> str:
        n = self.impostor_pairs
        lines = [
            f"gray LFW, {self.images:,} images: {n:,} impostor pairs, {self.genuine_pairs:,} "
            f"genuine pairs; at most floor(FMR x {n:,}) impostors above each threshold ("
            + ", ".join(f"{f:g}: {math.floor(f * n)}" for f in self.fmrs)
            + f"); the lowest FMR with {MIN_IMPOSTORS} above would be {MIN_IMPOSTORS / n:.1e}",
        ]
        for k, c in self.calibrations.items():
            lines.append(
                f"{k}: "
                + ", ".join(
                    f"FMR {f:g} -> {t:.4f} (TAR {100 * self.tar[k][f]:.2f}%)"
                    for f, t in sorted(c.thresholds.items(), reverse=True)
                )
            )
        return "\n".join(lines)


def calibrate(
    engine: FaceEngine,
    root: Path,
    models: Sequence[str],
    fusions: Sequence[Sequence[str]] | None = None,
    progress: bool = True,
) -> CalibrationRun:
    """Calibrations for each model, flip off/on, and for each fusion in `fusions` (default:
    the fusion of all `models` when there are several), filed under each model's
    calibration name (`FaceEngine.calibration_name`)."""
    if fusions is None:
        fusions = [models] if len(models) > 1 else []
    for fusion in fusions:
        if len(fusion) < 2 or not set(fusion) <= set(models):
            raise DataError(f"fusion {'+'.join(fusion)}: give two or more of {', '.join(models)}")
    rels = lfw.all_images(root)
    ids = np.array([lfw.identity(r) for r in rels])
    sets = {m: lfw.embed_lfw(engine, root, rels, m, progress=progress) for m in models}
    names = {m: engine.calibration_name(m) for m in models}
    pairs = cross_identity_pairs(ids)
    fmrs = calibration_fmrs(pairs)
    cals: dict[str, Calibration] = {}
    tar: dict[str, dict[float, float]] = {}

    def add(name: str, version: str, flip: bool, vecs, stats, source: str) -> Calibration:
        top, mu, sd, n = impostor_top(vecs, ids, max(fmrs), stats)
        cal = Calibration(name, version, flip, mu, sd, thresholds_from_top(top, n, fmrs), source)
        key = calibration_key(name, version, flip)
        cals[key] = cal
        gen = genuine_scores(vecs, ids, stats)
        tar[key] = {f: float(np.mean(gen > t)) for f, t in cal.thresholds.items()}
        return cal

    for flip in (False, True):
        stats = {}
        for m in models:
            cal = add(
                names[m],
                engine.version(m),
                flip,
                [sets[m].vectors(flip)],
                None,
                f"gray LFW, all {pairs:,} cross-identity pairs of {len(rels):,} images",
            )
            stats[m] = (cal.impostor_mean, cal.impostor_std)
        for fusion in fusions:
            add(
                "fusion:" + "+".join(names[m] for m in fusion),
                "+".join(engine.version(m) for m in fusion),
                flip,
                [sets[m].vectors(flip) for m in fusion],
                [stats[m] for m in fusion],
                f"gray LFW, all {pairs:,} cross-identity pairs, mean z-score of "
                f"{len(fusion)} models",
            )
    genuine = len(rels) * (len(rels) - 1) // 2 - pairs
    return CalibrationRun(cals, len(rels), pairs, genuine, tar)


def merge_calibrations(
    kept: dict[str, Calibration], new: dict[str, Calibration]
) -> dict[str, Calibration]:
    """`new` merged into `kept`: an entry already there keeps every value it has and only
    gains the FMRs it lacks; others are added. A re-run on another CPU reproduces a model's
    thresholds only to the last float digits, and a shipped table should not churn for that."""
    out = {**kept, **new}
    for key, old in kept.items():
        if key in new:
            extra = {f: t for f, t in new[key].thresholds.items() if f not in old.thresholds}
            out[key] = dataclasses.replace(old, thresholds={**old.thresholds, **extra})
    return out


def save_calibrations(path: Path, cals: dict[str, Calibration], note: str = "") -> None:
    """Write `cals` as a calibration.json: the format `load_calibrations` in
    `facegate.gallery.thresholds` reads (the shipped table is one such file)."""
    payload = {"note": note, "calibrations": {k: c.to_json() for k, c in sorted(cals.items())}}
    path.write_text(json.dumps(payload, indent=2) + "\n")
