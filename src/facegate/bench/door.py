"""Door benchmark: the real runtime on rendered visits, scored as a building manager would.

Residents are LFW people with enough photos: some photos are enrolled, the others are held out
as visits. Strangers are LFW people never enrolled. Each visit is rendered as a short clip of
the person walking up to the camera (`bench.clips`), and the unchanged intercom runtime
processes it on a virtual clock that advances by the measured processing time, so frames that
arrive while the CPU is busy are skipped exactly as on a live camera, and time-to-open
includes every millisecond of work on this machine, without waiting in real time.

Time-to-open runs from the first frame in which the whole face is visible (known from the
renderer) to the door command. Fixed seed: the same command renders the same visits.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facegate import service
from facegate.bench.clips import VisitClip, render_visit
from facegate.engine import FaceEngine
from facegate.errors import DataError
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness import Liveness
from facegate.runtime.pipeline import Runtime
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import FrameListSource, VirtualClock


@dataclass(frozen=True)
class Visit:
    kind: str  # "resident" or "stranger" (attack kinds come with liveness)
    person: str  # who is really there
    image: str  # LFW relative path of the face shown


@dataclass
class VisitResult:
    visit: Visit
    opened_for: str | None
    time_to_open_ms: float | None
    frames: int
    rendered: int
    cpu_s: float
    wall_s: float
    decisions: list[str]

    @property
    def false_open(self) -> bool:
        return self.opened_for is not None and (
            self.visit.kind != "resident" or self.opened_for != self.visit.person)

    @property
    def missed(self) -> bool:
        return self.visit.kind == "resident" and self.opened_for != self.visit.person


def lfw_people(root: Path) -> dict[str, list[str]]:
    gray = root / "gray"
    if not gray.is_dir():
        raise DataError(f"{gray} not found: --data must point at the LFW folder")
    people: dict[str, list[str]] = {}
    for p in sorted(gray.glob("*/*.jpg")):
        people.setdefault(p.parent.name, []).append(f"{p.parent.name}/{p.name}")
    return people


def plan(
    people: dict[str, list[str]], residents: int, enrol_photos: int, visits_per_resident: int,
    strangers: int, seed: int,
) -> tuple[dict[str, list[str]], list[Visit]]:
    """Pick residents (enrol photos) and the visits: held-out photos, then strangers."""
    rng = np.random.default_rng(seed)
    eligible = sorted(n for n, imgs in people.items() if len(imgs) > enrol_photos)
    if len(eligible) < residents:
        raise DataError(f"only {len(eligible)} LFW people have > {enrol_photos} photos")
    chosen = [eligible[i] for i in rng.choice(len(eligible), residents, replace=False)]
    enrol: dict[str, list[str]] = {}
    visits: list[Visit] = []
    for name in chosen:
        imgs = [people[name][i] for i in rng.permutation(len(people[name]))]
        enrol[name] = imgs[:enrol_photos]
        visits += [Visit("resident", name, r) for r in imgs[enrol_photos:][:visits_per_resident]]
    others = sorted(set(people) - set(chosen))
    if len(others) < strangers:
        raise DataError(f"only {len(others)} LFW people are left to be strangers")
    for i in rng.choice(len(others), strangers, replace=False):
        name = others[i]
        visits.append(Visit("stranger", name, people[name][rng.integers(len(people[name]))]))
    return enrol, visits


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass
class DoorBenchReport:
    results: list[VisitResult]
    enrolled: int
    rejected_photos: int
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        res = [r for r in self.results if r.visit.kind == "resident"]
        others = [r for r in self.results if r.visit.kind != "resident"]
        tto = [r.time_to_open_ms for r in res if not r.missed and r.time_to_open_ms is not None]
        frames = sum(r.frames for r in self.results)
        wall = sum(r.wall_s for r in self.results)
        by_kind: dict[str, dict] = {}
        for r in self.results:
            k = by_kind.setdefault(r.visit.kind, {"visits": 0, "false_opens": 0, "missed": 0})
            k["visits"] += 1
            k["false_opens"] += r.false_open
            k["missed"] += r.missed
        return {
            "visits": len(self.results),
            "resident_visits": len(res),
            "stranger_visits": len(others),
            "false_opens": sum(r.false_open for r in self.results),
            "false_opens_stranger": sum(r.false_open for r in others),
            "false_opens_wrong_resident": sum(r.false_open for r in res),
            "missed_opens": sum(r.missed for r in res),
            "missed_open_rate": round(sum(r.missed for r in res) / max(1, len(res)), 4),
            "time_to_open_ms_p50": percentile(tto, 50),
            "time_to_open_ms_p95": percentile(tto, 95),
            "frames_per_s": round(frames / wall, 2) if wall else None,
            "frames_processed_share": round(frames / max(1, sum(r.rendered for r in
                                                                self.results)), 3),
            "cpu_ms_per_visit": round(1000 * float(np.mean([r.cpu_s for r in self.results])), 1),
            "by_kind": by_kind,
            "enrolled_residents": self.enrolled,
            "rejected_enrolment_photos": self.rejected_photos,
            **self.settings,
        }

    def to_text(self) -> str:
        s = self.summary()

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.0f} ms"

        return "\n".join([
            f"door benchmark: {s['visits']} visits ({s['resident_visits']} resident, "
            f"{s['stranger_visits']} other), {s['enrolled_residents']} residents enrolled",
            f"  false opens:  {s['false_opens']} (strangers {s['false_opens_stranger']}, "
            f"wrong resident {s['false_opens_wrong_resident']})",
            f"  missed opens: {s['missed_opens']} ({100 * s['missed_open_rate']:.2f} %)",
            f"  time-to-open: p50 {fmt(s['time_to_open_ms_p50'])}, "
            f"p95 {fmt(s['time_to_open_ms_p95'])}",
            f"  throughput:   {s['frames_per_s']} frames/s processed, "
            f"{100 * s['frames_processed_share']:.0f} % of rendered frames, "
            f"{s['cpu_ms_per_visit']} ms CPU per visit",
        ])


def run_visit(
    engine: FaceEngine,
    store: SQLiteGallery,
    clip: VisitClip,
    decision: DecisionConfig,
    quality: QualityConfig,
    liveness: Liveness | None = None,
) -> tuple[list[DoorEvent], float | None, int, float, float]:
    """One visit through the real runtime: (events, time-to-open ms, frames, cpu s, wall s)."""
    clock = VirtualClock()
    source = FrameListSource(clip.frames, clip.fps, "simulated", clock)
    events: list[DoorEvent] = []
    opened_at: list[float] = []
    runtime: Runtime | None = None

    def sink(event: DoorEvent) -> None:
        events.append(event)
        if event.decision is Decision.OPEN and runtime is not None:
            first = runtime.evidence[event.track].first_t
            opened_at.append(first + event.time_to_open_ms / 1000.0)

    runtime = Runtime(entrance="bench", engine=engine, store=store, source=source, clock=clock,
                      decision=decision, quality=quality, liveness=liveness, sinks=[sink])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stats = runtime.run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    tto = None
    if opened_at:
        tto = 1000.0 * (opened_at[0] - clip.first_visible / clip.fps)
    return events, tto, stats.frames, cpu, wall


def run(
    engine: FaceEngine,
    root: Path,
    *,
    residents: int = 100,
    enrol_photos: int = 2,
    visits_per_resident: int = 3,
    strangers: int = 2000,
    seed: int = 0,
    fps: float = 15.0,
    duration_s: float = 2.0,
    decision: DecisionConfig | None = None,
    quality: QualityConfig | None = None,
    progress: bool = True,
    on_result: Callable[[VisitResult], None] | None = None,
) -> DoorBenchReport:
    from tqdm import tqdm

    decision = decision or DecisionConfig()
    quality = quality or QualityConfig()
    people = lfw_people(root)
    enrol, visits = plan(people, residents, enrol_photos, visits_per_resident, strangers, seed)
    results: list[VisitResult] = []
    rejected = 0
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.sqlite") as store:
        enrolled = 0
        for name, rels in tqdm(enrol.items(), desc="enrol", disable=not progress):
            rep = service.enroll(engine, store, name, [root / "gray" / r for r in rels])
            rejected += len(rep.rejected)
            enrolled += bool(rep.accepted)
        for i, visit in enumerate(tqdm(visits, desc="visits", disable=not progress)):
            face = cv2.imread(str(root / "gray" / visit.image), cv2.IMREAD_GRAYSCALE)
            clip = render_visit(face, np.random.default_rng([seed, i]), fps=fps,
                                duration_s=duration_s)
            events, tto, frames, cpu, wall = run_visit(engine, store, clip, decision, quality)
            opened = next((e.person for e in events if e.decision is Decision.OPEN), None)
            result = VisitResult(visit, opened, tto, frames, len(clip.frames), cpu, wall,
                                 [e.decision.value for e in events])
            results.append(result)
            if on_result:
                on_result(result)
    settings = {"seed": seed, "fps": fps, "duration_s": duration_s, "fmr": decision.fmr,
                "min_votes": decision.min_votes, "confirm": decision.confirm,
                "confirm_fmr": decision.confirm_fmr, "model": engine.config.model}
    return DoorBenchReport(results, enrolled, rejected, settings)
