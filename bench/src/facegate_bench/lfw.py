"""LFW: the standard 10-fold verification protocol (calibration on all pairs: calibrate.py).

The shared LFW is the deep-funneled set in gray (250x250, already roughly aligned). Each image
is detected with YuNet and aligned per model as in production; when YuNet finds no face, the
mean landmarks of the images where it did are used (LFW is centred), and the count is reported.
Embeddings are cached per model version under `<cache>/eval/`, so reruns are fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facegate.engine import FaceEngine
from facegate.errors import DataError
from facegate.models.base import Face, l2_normalize

#: Two people in LFW are the same photo under two names (see data README).
DUPLICATES = {"Carlos_Beltran_0001": "Raul_Ibanez_0001", "Bart_Hendricks_0001": "Ricky_Ray_0001"}


@dataclass(frozen=True)
class Pair:
    fold: int
    a: str  # relative path under gray/
    b: str
    same: bool


def image_rel(name: str, idx: int) -> str:
    return f"{name}/{name}_{idx:04d}.jpg"


def read_pairs(root: Path) -> list[Pair]:
    path = root / "pairs.txt"
    try:
        lines = path.read_text().split("\n")
    except FileNotFoundError:
        raise DataError(f"{path} not found: --data must point at the LFW folder") from None
    folds, per = (int(v) for v in lines[0].split())
    pairs: list[Pair] = []
    rows = [ln.split() for ln in lines[1:] if ln.strip()]
    if len(rows) != folds * per * 2:
        raise DataError(f"{path}: expected {folds * per * 2} pairs, found {len(rows)}")
    for i, r in enumerate(rows):
        fold = i // (2 * per)
        if len(r) == 3:
            pairs.append(Pair(fold, image_rel(r[0], int(r[1])), image_rel(r[0], int(r[2])), True))
        elif len(r) == 4:
            pairs.append(Pair(fold, image_rel(r[0], int(r[1])), image_rel(r[2], int(r[3])), False))
        else:
            raise DataError(f"{path}: malformed line {i + 2}: {' '.join(r)}")
    return pairs


def all_images(root: Path) -> list[str]:
    gray = root / "gray"
    if not gray.is_dir():
        raise DataError(f"{gray} not found: --data must point at the LFW folder")
    return sorted(str(p.relative_to(gray)) for p in gray.glob("*/*.jpg"))


def identity(rel: str) -> str:
    stem = Path(rel).stem
    stem = DUPLICATES.get(stem, stem)
    return stem.rsplit("_", 1)[0]


@dataclass
class EmbeddingSet:
    """Per image: the plain and the mirrored embedding of one model."""

    paths: list[str]
    plain: np.ndarray
    mirror: np.ndarray
    fallback: int = 0  # images where YuNet found no face

    def vectors(self, flip: bool) -> np.ndarray:
        return l2_normalize(self.plain + self.mirror) if flip else self.plain

    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}


def centre_face(faces: Sequence[Face], shape: tuple[int, ...]) -> Face | None:
    """LFW's subject is the face nearest the image centre (the largest can be someone else in
    shot: Julianne_Moore_0001 shows Todd_Haynes beside her)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)


def detect_all(
    engine: FaceEngine, root: Path, rels: Sequence[str], progress: bool = True
) -> list[Face]:
    from tqdm import tqdm

    found: list[Face | None] = []
    for rel in tqdm(rels, desc="detect", disable=not progress, unit="img"):
        img = cv2.imread(str(root / "gray" / rel), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DataError(f"cannot read {root / 'gray' / rel}")
        found.append(centre_face(engine.detect(img), img.shape))
    ok = [f for f in found if f is not None]
    if not ok:
        raise DataError("no face detected in any LFW image")
    mean = Face(np.mean([f.bbox for f in ok], 0), np.mean([f.landmarks for f in ok], 0), 0.0)
    return [f if f is not None else mean for f in found]


def embed_lfw(
    engine: FaceEngine,
    root: Path,
    rels: Sequence[str],
    model: str,
    *,
    batch: int = 32,
    progress: bool = True,
) -> EmbeddingSet:
    """Embeddings (plain and mirrored) of `rels`, computed once and cached by model version
    and variant (INT8 shares FP32's version, so galleries stay valid, but not its vectors)."""
    from tqdm import tqdm

    embedder = engine.embedder(model)
    variant = getattr(embedder, "variant", "fp32")
    suffix = "" if variant == "fp32" else f"-{variant}"  # FP32 caches keep their old names
    cache = engine.cache_dir / "eval" / f"lfw-{model}-{embedder.version}{suffix}.npz"
    have: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        for p, a, b, fb in zip(z["paths"], z["plain"], z["mirror"], z["fallback"], strict=True):
            have[str(p)] = (a, b, bool(fb))
    todo = [r for r in dict.fromkeys(rels) if r not in have]
    if todo:
        faces = detect_all(engine, root, todo, progress)
        fallback = {r for r, f in zip(todo, faces, strict=True) if f.score == 0.0}
        bar = tqdm(total=len(todo), desc=f"embed {model}", disable=not progress, unit="img")
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            crops = []
            for rel, face in zip(chunk, faces[start : start + batch], strict=True):
                img = cv2.imread(str(root / "gray" / rel), cv2.IMREAD_GRAYSCALE)
                crops += embedder.crops(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), [face])
            plain = embedder.embed_crops(crops)
            mirror = embedder.embed_crops([np.ascontiguousarray(c[:, ::-1]) for c in crops])
            for rel, a, b in zip(chunk, plain, mirror, strict=True):
                have[rel] = (a, b, rel in fallback)
            bar.update(len(chunk))
        bar.close()
        cache.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(have)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            paths=np.array(keys),
            plain=np.stack([have[k][0] for k in keys]),
            mirror=np.stack([have[k][1] for k in keys]),
            fallback=np.array([have[k][2] for k in keys]),
        )
        tmp.replace(cache)
    rels = list(dict.fromkeys(rels))
    return EmbeddingSet(
        rels,
        np.stack([have[r][0] for r in rels]),
        np.stack([have[r][1] for r in rels]),
        sum(have[r][2] for r in rels),
    )


# -- 10-fold protocol ----------------------------------------------------------------------


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold that maximises accuracy on (scores, same): midpoints between sorted scores."""
    order = np.argsort(scores)
    s, y = scores[order], same[order]
    # accept when score > t; with t just below s[i], pairs i.. are accepted
    neg_below = np.concatenate([[0], np.cumsum(~y)])  # correct rejections below the cut
    pos_above = np.concatenate([np.cumsum(y[::-1])[::-1], [0]])  # correct accepts above
    correct = neg_below + pos_above
    i = int(np.argmax(correct))
    if i == 0:
        return float(s[0] - 1e-6)
    if i == len(s):
        return float(s[-1] + 1e-6)
    return float((s[i - 1] + s[i]) / 2)


def ten_fold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Per-fold accuracy, each fold's threshold chosen on the other nine."""
    accs = []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        t = best_threshold(scores[train], same[train])
        accs.append(float(np.mean((scores[test] > t) == same[test])))
    return np.array(accs)


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float) -> float:
    imp = np.sort(scores[~same])[::-1]
    k = math.floor(far * len(imp))
    t = imp[k] if k < len(imp) else imp[-1]
    return float(np.mean(scores[same] > t))


def roc_curve(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores)
    y = same[order]
    tpr = np.cumsum(y) / max(1, y.sum())
    fpr = np.cumsum(~y) / max(1, (~y).sum())
    return fpr, tpr


def pair_scores(emb: EmbeddingSet, pairs: Sequence[Pair], flip: bool) -> np.ndarray:
    idx = emb.index()
    v = emb.vectors(flip)
    a = np.array([idx[p.a] for p in pairs])
    b = np.array([idx[p.b] for p in pairs])
    return np.einsum("ij,ij->i", v[a], v[b])


def fused_fold_scores(
    per_model: Sequence[np.ndarray], same: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """z-score fusion with each test fold normalised by impostor statistics of the other nine,
    so no statistic ever sees the fold it is scored on."""
    out = np.zeros_like(per_model[0])
    for k in np.unique(folds):
        train_imp, test = (folds != k) & ~same, folds == k
        out[test] = np.mean(
            [(s[test] - s[train_imp].mean()) / s[train_imp].std() for s in per_model], axis=0
        )
    return out


# -- the report ----------------------------------------------------------------------------


@dataclass
class LfwRow:
    method: str
    flip: bool
    mean: float
    std: float
    tar_1e2: float
    tar_1e3: float
    fpr: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    tpr: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "flip": self.flip,
            "accuracy": round(self.mean, 5),
            "std": round(self.std, 5),
            "tar_at_far_1e-2": round(self.tar_1e2, 4),
            "tar_at_far_1e-3": round(self.tar_1e3, 4),
        }


@dataclass
class LfwReport:
    rows: list[LfwRow]
    images: int
    fallback: dict[str, int]

    def to_dict(self) -> dict:
        return {
            "protocol": "LFW View 2, 10 folds, threshold chosen on the other 9 folds",
            "images": self.images,
            "no_face_detected": self.fallback,
            "results": [r.to_dict() for r in self.rows],
        }

    def to_text(self) -> str:
        lines = [
            f"LFW 10-fold ({self.images} images; YuNet missed "
            + ", ".join(f"{k}: {v}" for k, v in self.fallback.items())
            + ")",
            f"{'method':<26}{'flip':<6}{'accuracy':>18}{'TAR@1e-2':>10}{'TAR@1e-3':>10}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.method:<26}{'yes' if r.flip else 'no':<6}"
                f"{100 * r.mean:>10.2f} ± {100 * r.std:.2f}%"
                f"{100 * r.tar_1e2:>9.2f}%{100 * r.tar_1e3:>9.2f}%"
            )
        return "\n".join(lines)

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4.5))
        for r in self.rows:
            ax.plot(
                np.maximum(r.fpr, 1e-4),
                r.tpr,
                label=f"{r.method}{' +flip' if r.flip else ''} ({100 * r.mean:.2f}%)",
            )
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1)
        ax.set_ylim(0.8, 1.0)
        ax.set_xlabel("false accept rate")
        ax.set_ylabel("true accept rate")
        ax.set_title("LFW (gray, View 2), YuNet alignment")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)


def evaluate(
    engine: FaceEngine, root: Path, models: Sequence[str], progress: bool = True
) -> LfwReport:
    pairs = read_pairs(root)
    rels = [x for p in pairs for x in (p.a, p.b)]
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    sets = {m: embed_lfw(engine, root, rels, m, progress=progress) for m in models}

    def row(name: str, flip: bool, scores: np.ndarray) -> LfwRow:
        acc = ten_fold_accuracy(scores, same, folds)
        fpr, tpr = roc_curve(scores, same)
        return LfwRow(
            name,
            flip,
            float(acc.mean()),
            float(acc.std()),
            tar_at_far(scores, same, 1e-2),
            tar_at_far(scores, same, 1e-3),
            fpr,
            tpr,
        )

    rows = []
    for flip in (False, True):
        per = [pair_scores(sets[m], pairs, flip) for m in models]
        rows += [row(m, flip, s) for m, s in zip(models, per, strict=True)]
        if len(models) > 1:
            rows.append(
                row("fusion(" + "+".join(models) + ")", flip, fused_fold_scores(per, same, folds))
            )
    first = next(iter(sets.values()))
    return LfwReport(rows, len(first.paths), {m: s.fallback for m, s in sets.items()})
