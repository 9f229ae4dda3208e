"""`facegate bench stream`: whole-stream throughput of the FaceGate runtime against the loops a
user would otherwise write, on the same decoded frames, in one process, with the door decisions
of each compared.

Loops (every frame of the clip, in order; decoding is done once beforehand and not timed):

- `facegate <precision>`: the real entrance (`Entrance`, default quality gate and votes) with
  one recogniser deciding, like the baselines; `facegate <first> +confirm` adds the default
  confirmation by the second recogniser (dlib, once per visit). Fed by a `FrameListSource` at
  pace "fast" (every frame);
- `opencv zoo`: OpenCV Zoo's demo loop - `cv2.FaceDetectorYN` at the frame's own size, then
  `cv2.FaceRecognizerSF` alignCrop + feature on every face of every frame; `opencv zoo @640`
  is the same loop on frames first shrunk to a 640 px long side, as FaceGate detects;
- `face_recognition`: face_recognition's loop written with the dlib calls it makes - HOG
  detector (upsample 1) on the frame shrunk to 640 px, 5-point landmarks, ResNet descriptor,
  match at its 0.6 distance tolerance.

Decisions: the gallery holds the clip's visitor (the best face of the clip by the runtime's
quality gate, enrolled by each pipeline with its own model from that frame) and Grace Hopper
(the demo photo, never in the clips). A baseline opens for a person once `min_votes` face
matches agree (no tracking, no quality gate), the runtime by its own policy; the set of people
each admits is compared. Each loop gets wall-clock ms per frame; the runtime's per-stage
profile (RunStats) says where its time goes.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np

from facegate.config import EngineConfig
from facegate.engine import FaceEngine
from facegate.gallery.store import NewTemplate, SQLiteGallery
from facegate.models.align import align_arcface
from facegate.models.base import Face
from facegate.models.files import DLIB_RESNET, DLIB_SHAPE5, YUNET
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.entrance import Entrance
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness import NoLiveness
from facegate.runtime.quality import QualityConfig, assess
from facegate.runtime.sources import FrameListSource, VirtualClock
from facegate_bench.models import machine

#: The shared clips (relative to the data folder): 720p one face, 1080p several faces.
DEFAULT_CLIPS = ("video/sihanwang_face_detection/test.mp4", "video/facenet_pytorch/video.mp4")
RESIDENT = "visitor"
STRANGER = "Grace Hopper"
FR_TOLERANCE = 0.6  # face_recognition.compare_faces default


def decode(path: Path, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while max_frames is None or len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames, float(fps)


def shrink(frame: np.ndarray, max_side: int = 640) -> tuple[np.ndarray, float]:
    h, w = frame.shape[:2]
    if max(h, w) <= max_side:
        return frame, 1.0
    s = max_side / max(h, w)
    return cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), s


def enrol_face(engine: FaceEngine, frames: Sequence[np.ndarray]) -> tuple[int, Face]:
    """The visitor to enrol: the best face by the runtime's quality score (big, sharp,
    frontal) that passes its quality gate, in every 5th frame of the middle half."""
    n = len(frames)
    best: tuple[float, int, Face] | None = None
    for i in range(n // 4, max(n // 4 + 1, 3 * n // 4), 5):
        for face in engine.detect(frames[i]):
            q = assess(face, align_arcface(frames[i], face.landmarks), QualityConfig())
            if q.ok and (best is None or q.score > best[0]):
                best = (q.score, i, face)
    if best is None:
        raise ValueError("no face in the clip passes the quality gate; cannot enrol anyone")
    return best[1], best[2]


def nearest(centres: np.ndarray, face: Face) -> int:
    """Index of the detection whose centre is nearest the enrolled face's centre."""
    return int(np.argmin(np.linalg.norm(centres - np.asarray(face.center), axis=1)))


# -- baselines -----------------------------------------------------------------------------------


class Votes:
    """Per-person vote counts; a person is admitted at `min_votes` (first frame recorded)."""

    def __init__(self, min_votes: int) -> None:
        self.min_votes = min_votes
        self.count: dict[str, int] = {}
        self.opened: dict[str, int] = {}

    def add(self, person: str, frame: int) -> None:
        self.count[person] = self.count.get(person, 0) + 1
        if self.count[person] >= self.min_votes and person not in self.opened:
            self.opened[person] = frame


class OpenCVZoo:
    """YuNet + SFace through OpenCV's FaceDetectorYN / FaceRecognizerSF."""

    def __init__(self, sface_path: Path, threads: int, max_side: int | None) -> None:
        cv2.setNumThreads(threads)
        self.det = cv2.FaceDetectorYN.create(
            str(YUNET.verified_path()), "", (320, 320), 0.6, 0.3, 5000
        )
        self.rec = cv2.FaceRecognizerSF.create(str(sface_path), "")
        self.max_side = max_side
        self.size: tuple[int, int] | None = None

    def faces(self, frame: np.ndarray) -> np.ndarray:
        img, s = shrink(frame, self.max_side) if self.max_side else (frame, 1.0)
        size = (img.shape[1], img.shape[0])
        if size != self.size:
            self.det.setInputSize(size)
            self.size = size
        rows = self.det.detect(img)[1]
        if rows is None:
            return np.zeros((0, 15), np.float32)
        rows = rows.copy()
        rows[:, :14] /= s
        return rows

    def features(self, frame: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
        return [self.rec.feature(self.rec.alignCrop(frame, r)).ravel().copy() for r in rows]


class FaceRecognitionLoop:
    """face_recognition's calls (HOG, 5-point shape, ResNet) made directly on dlib."""

    def __init__(self, max_side: int = 640) -> None:
        import dlib

        self.hog = dlib.get_frontal_face_detector()
        self.sp = dlib.shape_predictor(str(DLIB_SHAPE5.verified_path()))
        self.net = dlib.face_recognition_model_v1(str(DLIB_RESNET.verified_path()))
        self.max_side = max_side

    def encodings(self, frame: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(face centres in frame pixels, descriptors)."""
        img, s = shrink(frame, self.max_side)
        rgb = np.ascontiguousarray(img[..., ::-1])
        rects = self.hog(rgb, 1)
        centres = np.array(
            [[(r.left() + r.right()) / 2 / s, (r.top() + r.bottom()) / 2 / s] for r in rects]
        ).reshape(-1, 2)
        return centres, [
            np.asarray(self.net.compute_face_descriptor(rgb, self.sp(rgb, r), 1)) for r in rects
        ]


def run_zoo(
    zoo: OpenCVZoo,
    frames: Sequence[np.ndarray],
    gallery: dict[str, np.ndarray],
    threshold: float,
    min_votes: int,
) -> tuple[float, Votes]:
    votes = Votes(min_votes)
    names = list(gallery)
    g = np.stack([gallery[n] / np.linalg.norm(gallery[n]) for n in names])
    t0 = time.perf_counter()
    for i, frame in enumerate(frames):
        rows = zoo.faces(frame)
        for f in zoo.features(frame, rows):
            sc = g @ (f / max(float(np.linalg.norm(f)), 1e-12))
            k = int(np.argmax(sc))
            if sc[k] >= threshold:
                votes.add(names[k], i)
    return time.perf_counter() - t0, votes


def run_face_recognition(
    loop: FaceRecognitionLoop,
    frames: Sequence[np.ndarray],
    gallery: dict[str, np.ndarray],
    min_votes: int,
) -> tuple[float, Votes]:
    votes = Votes(min_votes)
    names = list(gallery)
    g = np.stack([gallery[n] for n in names])
    t0 = time.perf_counter()
    for i, frame in enumerate(frames):
        for e in loop.encodings(frame)[1]:
            d = np.linalg.norm(g - e, axis=1)
            k = int(np.argmin(d))
            if d[k] <= FR_TOLERANCE:
                votes.add(names[k], i)
    return time.perf_counter() - t0, votes


# -- FaceGate ------------------------------------------------------------------------------------


def facegate_gallery(
    engine: FaceEngine, store: SQLiteGallery, frame: np.ndarray, visitor: Face, hopper: np.ndarray
) -> None:
    faces = engine.detect(frame)
    face = faces[nearest(np.array([f.center for f in faces]), visitor)]
    for name, img, f in ((RESIDENT, frame, face), (STRANGER, hopper, engine.detect(hopper)[0])):
        store.add_person(
            name,
            [
                NewTemplate(m, engine.version(m), engine.embed(img, f, m))
                for m in engine.model_names
            ],
        )


def run_facegate(
    engine: FaceEngine,
    store: SQLiteGallery,
    frames: Sequence[np.ndarray],
    fps: float,
    decision: DecisionConfig,
) -> tuple[float, dict[str, int], dict]:
    """The clip through the real entrance (`Entrance`, as `facegate run` assembles it, no
    liveness: the baselines have none). The timing starts after `start()` (warm-up), as the
    baselines' timing starts after their models are loaded."""
    clock = VirtualClock()
    source = FrameListSource(frames, fps, "fast", clock)
    opened: dict[str, int] = {}
    rc = RuntimeConfig(entrance="bench", decision=decision)

    def sink(event: DoorEvent) -> None:  # `entrance` is bound before the first event
        if event.decision is Decision.OPEN and event.person:
            opened.setdefault(event.person, entrance.stats.frames)

    with Entrance(
        rc, engine, store, source=source, clock=clock, liveness=NoLiveness(), sinks=[sink]
    ) as entrance:
        entrance.start()
        t0 = time.perf_counter()
        while entrance.step():
            pass
        wall = time.perf_counter() - t0
    return wall, opened, entrance.stats.to_dict()


# -- start-up and memory of the edge runtime -----------------------------------------------------


def startup_and_memory(
    clip: Path,
    gallery: Path,
    precision: str,
    cache_dir: Path | None,
    max_frames: int = 150,
    liveness: bool = True,
) -> dict:
    """`facegate run` in a fresh process with cached models: seconds from launch to the first
    door decision, wall seconds of a run that stops after one frame (start-up: imports, config,
    models, gallery, first frame), and peak resident memory (ru_maxrss of the child).
    `liveness=False` runs with `runtime.liveness.checks: []` to tell its share apart."""
    out = _run_once(clip, gallery, precision, cache_dir, max_frames, liveness)
    one = _run_once(clip, gallery, precision, cache_dir, 1, liveness)
    out["one_frame_run_s"] = one["wall_s"]
    return out


#: `facegate` in a child that writes its /proc/self/status at exit: VmHWM is then the peak of
#: that process alone (a fork's ru_maxrss would include the benchmark's own decoded frames).
_REPORT_PEAK = (
    "import atexit, sys\n"
    "out = sys.argv[1]\n"
    "atexit.register(lambda: open(out, 'w').write(open('/proc/self/status').read()))\n"
    "sys.argv = ['facegate', *sys.argv[2:]]\n"
    "from facegate.cli import main\n"
    "sys.exit(main())\n"
)


def _run_once(
    clip: Path,
    gallery: Path,
    precision: str,
    cache_dir: Path | None,
    max_frames: int,
    liveness: bool,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "entrance.yaml"
        doc: dict = {"engine": {"precision": precision}}
        if not liveness:
            doc["runtime"] = {"liveness": {"checks": []}}
        cfg.write_text(json.dumps(doc))
        env = dict(os.environ)
        if cache_dir is not None:
            env["FACEGATE_CACHE"] = str(cache_dir)
        status_file = Path(tmp) / "status"
        cmd = [
            sys.executable,
            "-c",
            _REPORT_PEAK,
            str(status_file),
            "run",
            "--config",
            str(cfg),
            "--source",
            str(clip),
            "--db",
            str(gallery),
            "--pace",
            "fast",
            "--json",
            "--max-frames",
            str(max_frames),
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )
        first = None
        decision = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if first is None and '"decision"' in line:
                first = time.perf_counter() - t0
                decision = json.loads(line).get("decision")
        proc.wait()
        wall = time.perf_counter() - t0
        peak = (
            [
                ln.split()[1]
                for ln in status_file.read_text().splitlines()
                if ln.startswith("VmHWM:")
            ]
            if status_file.is_file()
            else []
        )
    rss_mb = round(int(peak[0]) / 1024, 1) if peak else None  # not Linux: unknown
    return {
        "precision": precision,
        "liveness": liveness,
        "first_decision_s": None if first is None else round(first, 2),
        "first_decision": decision,
        "peak_rss_mb": rss_mb,
        "wall_s": round(wall, 2),
        "exit_code": proc.returncode,
    }


# -- the report ----------------------------------------------------------------------------------


LoopResult = tuple[float, dict[str, int], dict | None]  # wall s, opened person -> frame, stats


def _opened(result: tuple[float, Votes]) -> LoopResult:
    return result[0], result[1].opened, None


def bench_clip(
    path: Path,
    precisions: Sequence[str],
    threads: int,
    cache_dir: Path | None,
    max_frames: int | None,
    with_face_recognition: bool,
    native_zoo: bool,
    rounds: int = 3,
) -> dict:
    """Every loop over the whole clip, `rounds` times, the loops' order rotating each round
    (interleaved); fps is the median round. Decisions are deterministic: the first round's."""
    from facegate.demo import grace_hopper_path
    from facegate_bench.models import plain_ort_sface

    frames, fps = decode(path, max_frames)
    if not frames:
        raise ValueError(f"{path}: no frames")
    h, w = frames[0].shape[:2]
    decision = DecisionConfig()
    single = decision.model_copy(update={"confirm": False})  # one model, like the baselines
    hopper = cv2.imread(str(grace_hopper_path()), cv2.IMREAD_COLOR)
    engines = {
        p: FaceEngine(EngineConfig(precision=p, threads=threads, cache_dir=cache_dir))
        for p in precisions
    }
    ref = engines[precisions[0]]
    k, visitor = enrol_face(ref, frames)
    threshold = ref.threshold("sface", decision.fmr)
    out: dict = {
        "clip": str(path),
        "size": f"{w}x{h}",
        "frames": len(frames),
        "fps_source": round(fps, 2),
        "enrol_frame": k,
        "rounds": rounds,
        "loops": {},
    }
    loops: dict[str, Callable[[], LoopResult]] = {}

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        galleries = {}
        for p, eng in engines.items():
            galleries[p] = Path(tmp) / f"gallery-{p}.sqlite"
            store = stack.enter_context(SQLiteGallery(galleries[p]))
            facegate_gallery(eng, store, frames[k], visitor, hopper)
            run_facegate(eng, store, frames[:3], fps, decision)  # warm up
            policies = [(f"facegate {p}", single)]
            if p == precisions[0]:
                policies.append((f"facegate {p} +confirm", decision))
            for name, dc in policies:
                loops[name] = lambda eng=eng, store=store, dc=dc: run_facegate(
                    eng, store, frames, fps, dc
                )
        zoo_path = plain_ort_sface(ref)
        zoo_sides = ((None, "opencv zoo"),) if native_zoo else ()
        for side, name in (*zoo_sides, (640, "opencv zoo @640")):
            zoo = OpenCVZoo(zoo_path, threads, side)
            gallery = {}
            for person, img in ((RESIDENT, frames[k]), (STRANGER, hopper)):
                rows = zoo.faces(img)
                pick = (
                    nearest(rows[:, :2] + rows[:, 2:4] / 2, visitor)
                    if person == RESIDENT
                    else int(np.argmax(rows[:, 2] * rows[:, 3]))
                )
                gallery[person] = zoo.features(img, rows[[pick]])[0]
            run_zoo(zoo, frames[:3], gallery, threshold, decision.min_votes)
            loops[name] = lambda zoo=zoo, gallery=gallery: _opened(
                run_zoo(zoo, frames, gallery, threshold, decision.min_votes)
            )
        if with_face_recognition:
            fr = FaceRecognitionLoop()
            fr_gallery = {}
            for person, img in ((RESIDENT, frames[k]), (STRANGER, hopper)):
                centres, encs = fr.encodings(img)
                if encs:
                    fr_gallery[person] = encs[
                        nearest(centres, visitor) if person == RESIDENT else 0
                    ]
            if fr_gallery:
                loops["face_recognition"] = lambda: _opened(
                    run_face_recognition(fr, frames, fr_gallery, decision.min_votes)
                )

        walls: dict[str, list[float]] = {n: [] for n in loops}
        names = list(loops)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                wall, opened, stats = loops[name]()
                walls[name].append(wall)
                if name not in out["loops"]:
                    res = out["loops"][name] = {"opened": dict(opened)}
                    if stats is not None:
                        res["stage_ms_per_frame"] = stats["ms_per_frame"]
                        res["events"] = stats["events"]
        for name, ws in walls.items():
            wall = float(np.median(ws))
            out["loops"][name].update(
                {
                    "ms_per_frame": round(1000 * wall / len(frames), 2),
                    "fps": round(len(frames) / wall, 2),
                    "fps_rounds": [round(len(frames) / x, 2) for x in ws],
                }
            )
        # the edge runtime as deployed: fresh process, cached models
        stack.close()
        out["startup"] = [
            startup_and_memory(path, galleries[p], p, cache_dir, liveness=lv)
            for p in precisions
            for lv in (True, False)
        ]
    res = out["loops"]
    for name, ours in res.items():
        if not name.startswith("facegate"):
            continue
        ours["speedup"] = {
            n: round(ours["fps"] / v["fps"], 2)
            for n, v in res.items()
            if not n.startswith("facegate")
        }
        ours["same_decisions"] = {
            n: sorted(v["opened"]) == sorted(ours["opened"]) for n, v in res.items() if n != name
        }
    return out


def run(
    clips: Sequence[Path],
    *,
    precisions: Sequence[str] = ("fp32", "int8"),
    threads: int = 2,
    cache_dir: Path | None = None,
    max_frames: int | None = None,
    with_face_recognition: bool = True,
    native_zoo: bool = True,
    rounds: int = 3,
) -> dict:
    report = {"machine": machine(), "threads": threads, "clips": []}
    for c in clips:
        report["clips"].append(
            bench_clip(
                c,
                precisions,
                threads,
                cache_dir,
                max_frames,
                with_face_recognition,
                native_zoo,
                rounds,
            )
        )
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["peak_rss_mb_bench_process"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return report


def to_text(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"{m['cpu']} ({m['cores']} cores), {r['threads']} threads, load "
        f"{m['load_avg_1m']} -> {m.get('load_avg_1m_end', '?')}"
    ]
    for c in r["clips"]:
        lines.append(
            f"{c['clip']} ({c['size']}, {c['frames']} frames, enrolled from frame "
            f"{c['enrol_frame']}):"
        )
        for name, v in c["loops"].items():
            extra = ""
            if "speedup" in v:
                extra = "  " + ", ".join(f"x{s:.2f} vs {n}" for n, s in v["speedup"].items())
            lines.append(
                f"  {name:<18}{v['fps']:>7.1f} fps {v['ms_per_frame']:>8.1f} ms/frame  "
                f"opened {sorted(v['opened']) or 'nobody'}{extra}"
            )
        for name, v in c["loops"].items():
            if "same_decisions" in v:
                same = [n for n, ok in v["same_decisions"].items() if ok]
                lines.append(
                    f"  {name}: same decisions as {', '.join(same) or 'none'}; "
                    "ms/frame by stage "
                    + ", ".join(f"{k} {x}" for k, x in v["stage_ms_per_frame"].items())
                )
        for s in c["startup"]:
            lines.append(
                f"  facegate run ({s['precision']}, liveness "
                f"{'on' if s['liveness'] else 'off'}, cached models): first decision "
                f"'{s['first_decision']}' after {s['first_decision_s']} s, one-frame "
                f"run {s['one_frame_run_s']} s, peak RSS {s['peak_rss_mb']} MB"
            )
    return "\n".join(lines)
