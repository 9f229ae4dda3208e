"""The entrance runtime: one loop over the newest frame, each stage doing one thing.

    source -> detect -> track -> quality + liveness -> embed (fast model, batched) -> match
           -> decide (second model on the best shot) -> door + journal

Work is spent where it changes a decision: every frame is detected (tracking needs it), but a
face is embedded only while its track is undecided, only on good shots, and within a budget;
the slower recogniser runs once per visit, on the best shot. Events from other threads (camera
outages, door adapter failures) go through the same `emit`, which is thread-safe.

With a `VirtualClock` (files replayed "simulated" or "fast") the loop advances the clock by
its own measured processing time, so a replay behaves like a live camera on this CPU:
frames that arrive while a frame is being processed are skipped, and time-to-open includes
every millisecond of work, without waiting in real time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from facegate.engine import FaceEngine
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import GalleryStore
from facegate.models.align import align_arcface
from facegate.models.base import Face
from facegate.runtime.access import AccessConfig, AccessPolicy
from facegate.runtime.decision import Decider, DecisionConfig, Shot, TrackEvidence
from facegate.runtime.events import DoorEvent
from facegate.runtime.liveness import Liveness, NoLiveness
from facegate.runtime.memory import release_free_memory
from facegate.runtime.quality import QualityConfig, assess
from facegate.runtime.sources import Clock, Source, VirtualClock
from facegate.runtime.tracker import Tracker

log = logging.getLogger("facegate.runtime")

STAGES = ("read", "detect", "track", "quality", "embed", "decide", "emit")


@dataclass
class RunStats:
    frames: int = 0
    wall_s: float = 0.0
    events: dict[str, int] = field(default_factory=dict)
    stage_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict:
        per = {k: round(1000 * v / max(1, self.frames), 2) for k, v in self.stage_s.items()}
        return {
            "frames": self.frames,
            "seconds": round(self.wall_s, 3),
            "fps": round(self.fps, 2),
            "events": self.events,
            "ms_per_frame": per,
        }


class Runtime:
    def __init__(
        self,
        *,
        entrance: str,
        engine: FaceEngine,
        store: GalleryStore,
        source: Source,
        clock: Clock,
        decision: DecisionConfig | None = None,
        quality: QualityConfig | None = None,
        liveness: Liveness | None = None,
        access: AccessPolicy | None = None,
        sinks: list[Callable[[DoorEvent], None]] | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.entrance = entrance
        self.engine = engine
        self.store = store
        self.source = source
        self.clock = clock
        self.quality = quality or QualityConfig()
        self.liveness = liveness or NoLiveness()
        self.tracker = tracker or Tracker()
        self.sinks = sinks or []
        self._lock = threading.Lock()
        self.fast = engine.embedder()
        self.decider = Decider(
            decision or DecisionConfig(),
            entrance,
            engine,
            self.load_galleries(),
            self.liveness,
            access or AccessPolicy(AccessConfig()),
        )
        self.evidence: dict[int, TrackEvidence] = {}
        self.stats = RunStats()
        self._periodic: list[list] = []  # [interval_s, due (monotonic), fn]
        self._gallery_version = store.data_version()
        self._warm = False

    def load_galleries(self) -> dict[str, Gallery]:
        """The fast model's gallery, and the confirming model's when it has templates."""
        out = {}
        for name in self.engine.model_names:
            ts = self.store.templates(name)
            if name == self.engine.config.model or len(ts.matrix):
                out[name] = Gallery(ts, self.engine.version(name))
        return out

    def reload_gallery(self) -> None:
        """Pick up enrolments made while running (CLI, server sync), when there are any."""
        version = self.store.data_version()
        if version != self._gallery_version:
            self.decider.set_galleries(self.load_galleries())
            self._gallery_version = version
            log.info("gallery reloaded")

    def every(self, interval_s: float, fn: Callable[[], object]) -> None:
        """Run `fn` from the loop every `interval_s` (wall time); failures are logged."""
        self._periodic.append([interval_s, time.monotonic() + interval_s, fn])

    def _housekeeping(self) -> None:
        now = time.monotonic()
        for task in self._periodic:
            if now >= task[1]:
                task[1] = now + task[0]
                try:
                    task[2]()
                except Exception:
                    log.exception("periodic task %r failed", task[2])

    def emit(self, event: DoorEvent) -> None:
        """Hand an event to every sink; safe to call from other threads."""
        with self._lock:
            n = self.stats.events.get(event.decision.value, 0)
            self.stats.events[event.decision.value] = n + 1
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a failing sink (journal, door, printer) must not stop the door
                log.exception("event sink %r failed for %s", sink, event.decision.value)

    def step(self) -> bool:
        """Process the newest frame; False at the end of the stream."""
        st = self.stats.stage_s
        t0 = time.perf_counter()
        frame = self.source.read()
        t1 = time.perf_counter()
        st["read"] += t1 - t0
        if frame is None:
            for track in self.tracker.flush():
                self._finish(track.id)
            return False
        virtual = isinstance(self.clock, VirtualClock)
        if virtual and self.clock.now() < frame.t:  # "fast" replay: stream time moves on
            self.clock.advance_to(frame.t)
        faces = self.engine.detect(frame.image)
        t2 = time.perf_counter()
        assigned, ended = self.tracker.update(faces, frame.t)
        t3 = time.perf_counter()
        batch: list[tuple[TrackEvidence, Shot]] = []
        crops = []
        touched = []
        for track, face in assigned:
            ev = self.evidence.get(track.id)
            if ev is None:
                ev = self.evidence[track.id] = TrackEvidence(track.id, track.first_t)
            touched.append(ev)
            self.liveness.observe(track.id, frame.image, face)
            if not self.decider.wants_embedding(ev):
                continue
            crop = align_arcface(frame.image, face.landmarks)
            q = assess(face, crop, self.quality)
            if q.ok and self.decider.worth_embedding(ev, q):
                batch.append((ev, Shot.cut(frame.image, face, q)))
                crops.append(crop)
        t4 = time.perf_counter()
        if batch:
            if getattr(self.fast, "input_size", None) == 112:  # ArcFace layout: reuse the crop
                embs = self.fast.embed_crops(crops, flip=self.engine.config.flip)
            else:
                embs = self.fast.embed(
                    frame.image, [s.face for _, s in batch], flip=self.engine.config.flip
                )
            for (ev, shot), emb in zip(batch, embs, strict=True):
                self.decider.add_shot(ev, shot, emb)
        t5 = time.perf_counter()
        events = []
        for ev in touched:
            # on a virtual clock, "now" must include this frame's work so far
            now = self.clock.now() + (time.perf_counter() - t1 if virtual else 0.0)
            event = self.decider.decide(ev, now)
            if event is not None:
                events.append(event)
        t6 = time.perf_counter()
        for event in events:
            self.emit(event)
        for track in ended:
            self._finish(track.id)
        t7 = time.perf_counter()
        if virtual:
            self.clock.advance(t7 - t1)
        for k, dt in zip(
            STAGES[1:], (t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6), strict=True
        ):
            st[k] += dt
        self.stats.frames += 1
        self.stats.wall_s += t7 - t0
        return True

    def _finish(self, track_id: int) -> None:
        ev = self.evidence.pop(track_id, None)
        if ev is not None:
            event = self.decider.finish(ev)
            if event is not None:
                self.emit(event)

    def warm_up(self) -> None:
        """Load and run once every model this entrance uses, before the first frame: the
        first visitor must not wait while the confirming model loads mid-visit, and ONNX
        Runtime allocates its buffers on the first run. Then hand the loaders' freed heap back
        to the system: this process lives for months on a small board."""
        image = np.full((160, 160, 3), 128, np.uint8)
        face = Face(
            np.array([40, 30, 80, 100], np.float32),
            np.array([[62, 70], [98, 70], [80, 90], [66, 110], [94, 110]], np.float32),
            1.0,
        )
        self.engine.detect(image)
        for model in {self.engine.config.model, self.decider.confirm_model} - {None}:
            self.engine.embed(image, face, model)
        release_free_memory()

    def run(self, max_frames: int | None = None) -> RunStats:
        if not self._warm:
            self.warm_up()
            self._warm = True
        while max_frames is None or self.stats.frames < max_frames:
            if not self.step():
                break
            if self._periodic:
                self._housekeeping()
        return self.stats
