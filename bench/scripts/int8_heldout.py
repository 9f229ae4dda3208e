"""INT8 SFace against FP32 on LFW people its calibration never saw: should INT8 be the default?

LFW's View-2 folds are person-disjoint. The INT8 graph is calibrated (activation ranges) on
one image each of people from folds 1-5 plus the two demo photos; everything is measured on
every image of the people who appear only in folds 6-10: all same-person pairs and all
cross-identity pairs. For FP32, INT8 calibrated on the demo photos (the shipped default) and
INT8 calibrated on LFW: TAR at FAR 1e-3/1e-4/1e-5 (thresholds from these impostors), the
false-match rate at the shipped FP32 thresholds (what the door uses: INT8 shares FP32's
calibration), and the cosine of each INT8 embedding with its FP32 one.

    FACEGATE_DATA=../shared/data python bench/scripts/int8_heldout.py [--calib-people 150]

Writes nothing to the repository; the calibration folder and INT8 caches live in a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from facegate.config import EngineConfig
from facegate.demo import astronaut_bgr, grace_hopper_path
from facegate.engine import FaceEngine
from facegate_bench.lfw import embed_lfw, identity, read_pairs


def split_people(root: Path) -> tuple[list[str], list[str]]:
    """(people only in folds 1-5, people only in folds 6-10)."""
    first, second = set(), set()
    for p in read_pairs(root):
        for rel in (p.a, p.b):
            (first if p.fold < 5 else second).add(identity(rel))
    return sorted(first - second), sorted(second - first)


def calibration_folder(root: Path, people: list[str], n: int, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name in people[:n]:
        src = sorted((root / "gray" / name).glob("*.jpg"))[0]
        gray = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(out / src.name), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    cv2.imwrite(str(out / "hopper.jpg"), cv2.imread(str(grace_hopper_path())))
    cv2.imwrite(str(out / "astronaut.jpg"), astronaut_bgr())
    return out


def pair_scores(vecs: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(genuine scores, impostor scores) over all pairs i < j."""
    gen, imp = [], []
    for i in range(len(vecs) - 1):
        s = vecs[i + 1 :] @ vecs[i]
        same = ids[i + 1 :] == ids[i]
        gen.append(s[same])
        imp.append(s[~same])
    return np.concatenate(gen), np.concatenate(imp)


def tar_at(gen: np.ndarray, imp: np.ndarray, far: float) -> float:
    k = max(1, int(far * len(imp)))
    thr = np.partition(imp, -k)[-k]
    return float((gen > thr).mean())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calib-people", type=int, default=150)
    args = ap.parse_args()
    root = Path(os.environ.get("FACEGATE_DATA", "../shared/data")) / "lfw"
    calib_people, held_people = split_people(root)
    held = {n for n in held_people}
    rels = sorted(
        str(p.relative_to(root / "gray")) for n in held for p in (root / "gray" / n).glob("*.jpg")
    )
    ids = np.array([identity(r) for r in rels])
    print(f"held-out: {len(held)} people, {len(rels)} images", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="int8-heldout-"))
    folder = calibration_folder(root, calib_people, args.calib_people, tmp / "calib")
    fp32 = FaceEngine(EngineConfig())
    variants = {
        "fp32": fp32,
        "int8 (demo calibration, shipped)": FaceEngine(
            EngineConfig(precision="int8", cache_dir=tmp / "demo")
        ),
        f"int8 (LFW calibration, {args.calib_people} people)": FaceEngine(
            EngineConfig(precision="int8", int8_calibration=folder, cache_dir=tmp / "lfw")
        ),
    }
    shipped = {f: fp32.threshold("sface", f) for f in (1e-4, 1e-5)}
    ref = None
    report = {"held_out_people": len(held), "images": len(rels), "variants": {}}
    for name, eng in variants.items():
        emb = embed_lfw(eng, root, rels, "sface", progress=False).plain
        emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        gen, imp = pair_scores(emb, ids)
        row = {
            "genuine_pairs": len(gen),
            "impostor_pairs": len(imp),
            **{f"tar_at_far_{f:g}": round(tar_at(gen, imp, f), 4) for f in (1e-3, 1e-4, 1e-5)},
            **{f"fmr_at_shipped_{f:g}": float((imp >= t).mean()) for f, t in shipped.items()},
            **{
                f"tar_at_shipped_{f:g}": round(float((gen >= t).mean()), 4)
                for f, t in shipped.items()
            },
        }
        if ref is None:
            ref = emb
        else:
            cos = np.sum(ref * emb, axis=1)
            row["cosine_vs_fp32_mean"] = round(float(cos.mean()), 4)
            row["cosine_vs_fp32_p1"] = round(float(np.percentile(cos, 1)), 4)
        report["variants"][name] = row
        print(name, json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
