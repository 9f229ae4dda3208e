"""`facegate bench reid`: which runtime runs the `face_reid` recogniser (Intel's
face-reidentification-retail-0095), measured against SFace in the same run.

- speed: ms per face, batch 1, at 1 and 2 threads, every candidate timed interleaved
  (`models.interleaved`) from an aligned crop to the L2-normalised embedding: FaceGate's
  `FaceReid` (ONNX Runtime on the shipped FP32 ONNX, PReLUs rewritten), ORT on the file as
  converted, OpenVINO on Intel's FP16 IR at FP32 precision and at the CPU's default precision
  (bf16 where the CPU has AMX, f16 on ARM), OpenVINO on the FP16-INT8 IR, FaceGate's SFace;
- memory and start-up, each probe a fresh subprocess: RSS and time added by importing the
  runtime and by loading the model (first run included), alone and inside a process that
  already runs YuNet + SFace (what `facegate run` holds);
- accuracy: gray LFW View-2 10-fold of every candidate on the same YuNet landmarks, the cosine
  of each reid variant against FaceGate's embedding, and the reid alignment templates.

OpenVINO is optional here (`pip install openvino`); its IRs come from the shared models folder
(`$FACEGATE_MODELS/face-reid-0095`). Without either, those candidates are left out.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from facegate.config import EngineConfig, RecognizerConfig
from facegate.engine import FaceEngine
from facegate.models import face_reid, onnx_prep
from facegate.models.align import ARCFACE_TEMPLATE
from facegate.models.base import l2_normalize
from facegate.models.files import FACE_REID
from facegate_bench import models

IR = {
    "FP16": "FP16/face-reidentification-retail-0095.xml",
    "FP16-INT8": "FP16-INT8/face-reidentification-retail-0095.xml",
}
SFACE = "sface onnxruntime (facegate)"
REID = "reid onnxruntime (facegate)"
REID_PLAIN = "reid onnxruntime, file as converted"
OV_F32 = "reid openvino FP16 IR, f32"
OV_DEFAULT = "reid openvino FP16 IR, CPU default"
OV_INT8 = "reid openvino FP16-INT8 IR"

Embed = Callable[[Sequence[np.ndarray]], np.ndarray]
#: reid alignment templates in pixels of the 128x128 crop: FaceGate's (the README's), the
#: ArcFace 112 template scaled to 128, and Open Model Zoo's own (its model README).
TEMPLATES = {
    "reid": face_reid.TEMPLATE,
    "arcface": ARCFACE_TEMPLATE * (face_reid.INPUT_SIZE / 112.0),
    "omz": np.array(
        [
            [0.31556875, 0.46157411],
            [0.68262292, 0.46157411],
            [0.50026250, 0.64050536],
            [0.34947188, 0.82469196],
            [0.65343646, 0.82469196],
        ]
    )
    * face_reid.INPUT_SIZE,
}


def openvino_version() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return openvino.__version__.split("-")[0]


def openvino_embed(xml: Path, threads: int, precision: str | None) -> tuple[Embed, str]:
    """Batch-1 OpenVINO inference with FaceReid's pre- and post-processing, and the precision
    it runs at (`precision` None: the CPU plugin's default)."""
    import openvino as ov

    core = ov.Core()
    cfg: dict = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(core.read_model(str(xml)), "CPU", cfg)
    request = compiled.create_infer_request()

    def embed(crops: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        for c in crops:  # raw 0-255 BGR NCHW, as FaceReid feeds ORT
            x = c.transpose(2, 0, 1)[None].astype(np.float32)
            out.append(np.array(request.infer([x])[0]).reshape(-1))
        return l2_normalize(np.stack(out))

    return embed, compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()


def ort_as_converted(cache_dir: Path, threads: int) -> Embed:
    """ONNX Runtime on the shipped file with only its batch made dynamic (no rewrite)."""

    def batch_only(m) -> None:
        for vi in (*m.graph.input, *m.graph.output):
            vi.type.tensor_type.shape.dim[0].dim_param = "batch"

    path = onnx_prep.prepared_path(FACE_REID.verified_path(), cache_dir, "b", batch_only)
    sess = onnx_prep.session(path, threads)

    def embed(crops: Sequence[np.ndarray]) -> np.ndarray:
        x = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
        return l2_normalize(sess.run(None, {"data": x})[0].reshape(len(x), -1))

    return embed


def reid_engine(threads: int, cache_dir: Path | None) -> FaceEngine:
    recs = [
        RecognizerConfig(name="sface", kind="sface"),
        RecognizerConfig(name="reid", kind="face_reid"),
    ]
    return FaceEngine(EngineConfig(recognizers=recs, threads=threads, cache_dir=cache_dir))


def candidates(
    threads: int, cache_dir: Path | None, ir_dir: Path | None, plain: bool = True
) -> tuple[dict[str, Embed], dict[str, str]]:
    """The embedders compared, by name, each at `threads`; and the precision each runs at."""
    eng = reid_engine(threads, cache_dir)
    out: dict[str, Embed] = {
        SFACE: eng.embedder("sface").embed_crops,
        REID: eng.embedder("reid").embed_crops,
    }
    if plain:
        out[REID_PLAIN] = ort_as_converted(eng.cache_dir, threads)
    precision = dict.fromkeys(out, "f32")
    if ir_dir is not None and openvino_version():
        for name, rel, hint in (
            (OV_F32, IR["FP16"], "f32"),
            (OV_DEFAULT, IR["FP16"], None),
            (OV_INT8, IR["FP16-INT8"], None),
        ):
            out[name], precision[name] = openvino_embed(ir_dir / rel, threads, hint)
    return out, precision


def crop_kind(name: str) -> str:
    return "sface" if name.startswith("sface") else "reid"


# -- speed -------------------------------------------------------------------------------------


def demo_crops(engine: FaceEngine) -> dict[str, list[np.ndarray]]:
    """Each model's own crops of the demo faces (SFace 112x112, reid 128x128)."""
    from facegate.models.quantize import demo_face_images

    out: dict[str, list[np.ndarray]] = {"sface": [], "reid": []}
    for img in demo_face_images():
        faces = engine.detect(img)
        if faces:
            for m in out:
                out[m].append(engine.align(img, faces[0], m))
    return out


def bench_speed(
    thread_counts: Sequence[int], rounds: int, cache_dir: Path | None, ir_dir: Path | None
) -> dict:
    """ms per face (batch 1) of every candidate at every thread count, all interleaved."""
    crops = demo_crops(reid_engine(1, cache_dir))
    cands: dict[str, Callable[[], object]] = {}
    precision: dict[str, str] = {}
    for t in thread_counts:
        embeds, prec = candidates(t, cache_dir, ir_dir)
        precision.update(prec)
        for name, fn in embeds.items():
            crop = crops[crop_kind(name)][0]
            cands[f"{name}|{t}"] = lambda fn=fn, crop=crop: fn([crop])
    times = models.interleaved(cands, rounds)
    out: dict = {"threads": {}, "precision": precision, "samples": len(next(iter(times.values())))}
    for t in thread_counts:
        table = {}
        for key, samples in times.items():
            name, tt = key.rsplit("|", 1)
            if int(tt) == t:
                table[name] = {**models.summary(samples), "min_ms": round(1000 * min(samples), 3)}
        base = table[SFACE]["median_ms"]
        for v in table.values():
            v["x_vs_sface"] = round(base / v["median_ms"], 2)
        out["threads"][str(t)] = table
    return out


# -- memory and start-up -------------------------------------------------------------------------

_PROBE = r"""
import json, sys, time
from pathlib import Path

def rss():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f if ":" in line)
    return int(d["VmRSS"].split()[0]) / 1024, int(d["VmHWM"].split()[0]) / 1024

import cv2, numpy as np

what, threads, context, cache, ir = sys.argv[1:6]
threads, cache = int(threads), Path(cache)
if context == "1":  # what `facegate run` holds before the second model: YuNet + SFace, warm
    from facegate.config import EngineConfig
    from facegate.engine import FaceEngine
    engine = FaceEngine(EngineConfig(threads=threads, cache_dir=cache))
    engine.warm_up(["sface"])
r0, _ = rss()
t0 = time.perf_counter()
if what == "openvino":
    import openvino as ov
else:
    import onnxruntime
t1 = time.perf_counter()
r1, _ = rss()
if what == "openvino":
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": "f32"}
    req = core.compile_model(core.read_model(ir), "CPU", cfg).create_infer_request()
    req.infer([np.full((1, 3, 128, 128), 128, np.float32)])
elif what == "reid":
    from facegate.models.face_reid import FaceReid
    FaceReid(cache_dir=cache, threads=threads).embed_crops([np.full((128, 128, 3), 128, np.uint8)])
else:
    from facegate.models.arcface import sface
    sface(cache, threads).embed_crops([np.full((112, 112, 3), 128, np.uint8)])
t2 = time.perf_counter()
r2, peak = rss()
print(json.dumps({"base_mb": r0, "import_mb": r1 - r0, "load_mb": r2 - r1, "added_mb": r2 - r0,
                  "import_s": t1 - t0, "load_s": t2 - t1, "total_s": t2 - t0, "peak_mb": peak}))
"""


def _probe(what: str, threads: int, context: bool, cache_dir: Path, ir: str) -> dict:
    args = [what, str(threads), "1" if context else "0", str(cache_dir), ir]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"memory probe {what} failed: {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_memory(
    threads: int, cache_dir: Path | None, ir_dir: Path | None, repeats: int = 3
) -> dict:
    """RSS and time of importing each runtime and loading each model, in fresh processes,
    alone ("alone") and after YuNet + SFace are loaded and warm ("after yunet+sface")."""
    eng = reid_engine(threads, cache_dir)
    eng.warm_up(["sface", "reid"])  # prepared files cached: loads below do not build them
    probes = {"reid onnxruntime": ("reid", "")}
    probes["sface onnxruntime"] = ("sface", "")
    if ir_dir is not None and openvino_version():
        probes["reid openvino FP16 IR"] = ("openvino", str(ir_dir / IR["FP16"]))
        probes["reid openvino FP16-INT8 IR"] = ("openvino", str(ir_dir / IR["FP16-INT8"]))
    runs: dict[tuple[str, bool], list[dict]] = {}
    for _ in range(repeats):  # interleaved, like the timing
        for context in (False, True):
            for name, (what, ir) in probes.items():
                r = _probe(what, threads, context, eng.cache_dir, ir)
                runs.setdefault((name, context), []).append(r)
    out: dict = {"threads": threads, "repeats": repeats, "alone": {}, "after yunet+sface": {}}
    for (name, context), rs in runs.items():
        row = {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]}
        row["added_mb_min"] = round(min(r["added_mb"] for r in rs), 1)
        out["after yunet+sface" if context else "alone"][name] = row
    return out


# -- accuracy --------------------------------------------------------------------------------------


def lfw_accuracy(
    root: Path,
    threads: int,
    cache_dir: Path | None,
    ir_dir: Path | None,
    progress: bool = False,
    chunk: int = 64,
) -> dict:
    """Gray LFW View-2, 10 folds, every candidate (and every reid template) on the same YuNet
    landmarks; cosine of each reid variant against FaceGate's embedding."""
    from tqdm import tqdm

    from facegate_bench import lfw

    pairs = lfw.read_pairs(root)
    rels = list(dict.fromkeys(x for p in pairs for x in (p.a, p.b)))
    idx = {r: i for i, r in enumerate(rels)}
    a = np.array([idx[p.a] for p in pairs])
    b = np.array([idx[p.b] for p in pairs])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    eng = reid_engine(threads, cache_dir)
    faces = lfw.detect_all(eng, root, rels, progress)
    embeds, _ = candidates(threads, cache_dir, ir_dir, plain=False)
    aligners: dict[str, Callable] = {"sface": lambda img, f: eng.align(img, f, "sface")}
    for t, tpl in TEMPLATES.items():
        aligners[t] = lambda img, f, tpl=tpl: face_reid.align(img, f.landmarks, tpl)
        if t != "reid":
            embeds[f"reid template {t}"] = embeds[REID]
    kind = {n: crop_kind(n) if "template" not in n else n.rsplit(" ", 1)[1] for n in embeds}
    vecs: dict[str, list[np.ndarray]] = {n: [] for n in embeds}
    for s in tqdm(range(0, len(rels), chunk), desc="embed", disable=not progress, unit="chunk"):
        imgs = [
            cv2.imread(str(root / "gray" / r), cv2.IMREAD_GRAYSCALE) for r in rels[s : s + chunk]
        ]
        imgs = [cv2.cvtColor(i, cv2.COLOR_GRAY2BGR) for i in imgs]
        crops = {
            k: [fn(i, f) for i, f in zip(imgs, faces[s : s + chunk], strict=True)]
            for k, fn in aligners.items()
        }
        for n, fn in embeds.items():
            vecs[n].append(fn(crops[kind[n]]))
    ref = np.concatenate(vecs[REID])
    out: dict = {"images": len(rels), "pairs": len(pairs), "results": {}}
    for n, chunks in vecs.items():
        v = np.concatenate(chunks)
        scores = np.einsum("ij,ij->i", v[a], v[b])
        acc = lfw.ten_fold_accuracy(scores, same, folds)
        row = {
            "accuracy": round(float(acc.mean()), 5),
            "std": round(float(acc.std()), 5),
            "tar_at_far_1e-3": round(lfw.tar_at_far(scores, same, 1e-3), 4),
        }
        if kind[n] != "sface":
            cos = np.einsum("ij,ij->i", v, ref)
            row["cosine_vs_facegate"] = {
                "mean": round(float(cos.mean()), 5),
                "min": round(float(cos.min()), 5),
            }
        out["results"][n] = row
    return out


# -- the whole report --------------------------------------------------------------------------


def run(
    *,
    thread_counts: Sequence[int] = (1, 2),
    rounds: int = 15,
    lfw_root: Path | None = None,
    ir_dir: Path | None = None,
    cache_dir: Path | None = None,
    memory: bool = True,
    progress: bool = False,
) -> dict:
    ir_dir = ir_dir if ir_dir is not None and (ir_dir / IR["FP16"]).is_file() else None
    report: dict = {"machine": models.machine(), "openvino": openvino_version()}
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").is_file() else []
    # where OpenVINO runs bf16 by default (its "CPU default" candidate)
    report["machine"]["simd"] += [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    report["ir_dir"] = str(ir_dir) if ir_dir else None
    report["speed"] = bench_speed(thread_counts, rounds, cache_dir, ir_dir)
    if memory:
        report["memory"] = bench_memory(max(thread_counts), cache_dir, ir_dir)
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    if lfw_root is not None:
        report["lfw"] = lfw_accuracy(lfw_root, max(thread_counts), cache_dir, ir_dir, progress)
    return report


def to_text(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"{m['cpu']} ({m['cores']} cores, {', '.join(m['simd'])}), onnxruntime "
        f"{m['onnxruntime']}, openvino {r['openvino'] or 'not installed'}, "
        f"load {m['load_avg_1m']} -> {m.get('load_avg_1m_end', '?')}"
    ]
    sp = r["speed"]
    lines.append(
        f"ms per face, batch 1, crop -> normalised embedding ({sp['samples']} samples each, "
        "interleaved): median [min], x = SFace median / median"
    )
    for t, table in sp["threads"].items():
        lines.append(f"  {t} thread(s):")
        for name, s in table.items():
            lines.append(
                f"    {name:<38}{s['median_ms']:>7.2f} [{s['min_ms']:.2f}]  x{s['x_vs_sface']:.2f}"
                f"  ({sp['precision'][name]})"
            )
    if "memory" in r:
        mem = r["memory"]
        lines.append(
            f"memory and start-up, fresh process, {mem['threads']} threads, median of "
            f"{mem['repeats']}: RSS added by import + load [min], time import + load"
        )
        for where in ("alone", "after yunet+sface"):
            note = " (small loads fit in heap the warm-up freed: compare RSS)" * (where != "alone")
            lines.append(f"  {where}:{note}")
            for name, v in mem[where].items():
                lines.append(
                    f"    {name:<30}+{v['import_mb']:.0f} + {v['load_mb']:.0f} = "
                    f"+{v['added_mb']:.0f} MB [{v['added_mb_min']:.0f}]  "
                    f"{1000 * v['import_s']:.0f} + {1000 * v['load_s']:.0f} ms"
                    f"  (RSS {v['base_mb'] + v['added_mb']:.0f} MB)"
                )
    if "lfw" in r:
        lines.append(f"gray LFW View-2 10-fold ({r['lfw']['images']} images, same landmarks):")
        for name, v in r["lfw"]["results"].items():
            cos = v.get("cosine_vs_facegate")
            lines.append(
                f"  {name:<38}{100 * v['accuracy']:.2f} ± {100 * v['std']:.2f}%"
                f"  TAR@1e-3 {100 * v['tar_at_far_1e-3']:.2f}%"
                + (f"  cosine vs facegate {cos['mean']:.4f} (min {cos['min']:.4f})" if cos else "")
            )
    return "\n".join(lines)
