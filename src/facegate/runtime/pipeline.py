"""The entrance runtime: one loop over the newest frame, each stage doing one thing.

    source -> idle gate -> detect (whole frame, or around tracks) -> track -> quality + liveness
           -> embed (fast model, batched) -> match -> decide (second model on the best shot)
           -> door + journal

Work is spent where it changes a decision: frames of an empty scene are gated (`idle`), a
visit's frames are detected around the tracked faces (`regions`), a
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from facegate.engine import FaceEngine
from facegate.gallery.matcher import Gallery, load_galleries
from facegate.gallery.store import GalleryStore
from facegate.models.align import align_arcface
from facegate.runtime.access import AccessConfig, AccessPolicy
from facegate.runtime.decision import Decider, DecisionConfig, Shot, TrackEvidence, decision_models
from facegate.runtime.events import DoorEvent, EventBus
from facegate.runtime.idle import IdleConfig, IdleGate
from facegate.runtime.liveness.base import Liveness, NoLiveness
from facegate.runtime.memory import release_free_memory
from facegate.runtime.quality import QualityConfig, assess
from facegate.runtime.regions import RegionConfig, RegionDetector
from facegate.runtime.scheduler import Scheduler
from facegate.runtime.sources import Clock, Frame, Source, VirtualClock
from facegate.runtime.tracker import Tracker

log = logging.getLogger("facegate.runtime")

STAGES = ("read", "gate", "detect", "track", "quality", "embed", "decide", "emit")


@dataclass
class RunStats:
    frames: int = 0
    detected: int = 0  # frames the detector ran on (the rest the idle gate skipped)
    detected_in_regions: int = 0  # of those, only around the tracked faces (runtime.regions)
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
            "detected": self.detected,
            "detected_in_regions": self.detected_in_regions,
            "seconds": round(self.wall_s, 3),
            "fps": round(self.fps, 2),
            "events": self.events,
            "ms_per_frame": per,
        }


class Runtime:
    """The frame loop over parts it is given; `runtime.entrance.Entrance` assembles them.

    Everything comes in through the constructor: the events go to `events` (an `EventBus`
    made before the source, so a camera's outage at start is not lost), periodic work runs
    from `scheduler` between frames, and `warm_up()` runs before the first frame.
    """

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
        events: EventBus | None = None,
        sinks: list[Callable[[DoorEvent], object]] | None = None,
        scheduler: Scheduler | None = None,
        track_max_age_s: float = 1.0,
        idle: IdleConfig | None = None,
        regions: RegionConfig | None = None,
    ) -> None:
        if events is not None and sinks:
            raise ValueError("give the sinks to the EventBus, or sinks without one")
        self.entrance = entrance
        self.engine = engine
        self.store = store
        self.source = source
        self.clock = clock
        self.quality = quality or QualityConfig()
        self.liveness = liveness or NoLiveness()
        self.tracker = Tracker(max_age_s=track_max_age_s)
        self.idle = IdleGate(idle)
        self.detector = RegionDetector(engine.detector, regions, engine.config.detector.max_side)
        self.events = events or EventBus(sinks or [])
        self.scheduler = scheduler or Scheduler()
        self.fast = engine.embedder()
        decision = decision or DecisionConfig()
        self._models = [m for m in decision_models(decision, engine) if m]
        self._gallery_version = store.data_version()
        self.decider = Decider(
            decision,
            entrance,
            engine,
            self.load_galleries(),
            self.liveness,
            access or AccessPolicy(AccessConfig()),
        )
        self.evidence: dict[int, TrackEvidence] = {}
        self.stats = RunStats(events=self.events.counts)
        # the newest frame read and when (wall clock): a reference, kept for the server's
        # live view, which encodes it only when someone asks (`EntranceManager.latest_frame`)
        self.last_frame: Frame | None = None
        self.last_frame_at = 0.0
        self._warm = False

    def load_galleries(self) -> dict[str, Gallery]:
        """Every gallery the decision uses, empty ones included (`gallery.load_galleries`)."""
        return load_galleries(self.store, {m: self.engine.version(m) for m in self._models})

    def reload_gallery(self) -> bool:
        """Pick up enrolments made while running (CLI, server); True when it reloaded."""
        version = self.store.data_version()
        if version == self._gallery_version:
            return False
        self.decider.set_galleries(self.load_galleries())
        self._gallery_version = version
        log.info("gallery reloaded")
        return True

    def emit(self, event: DoorEvent) -> None:
        """Hand an event to every sink; safe to call from other threads."""
        self.events.emit(event)

    def step(self) -> bool:
        """Process the newest frame; False at the end of the stream."""
        st = self.stats.stage_s
        t0 = time.perf_counter()
        frame = self.source.read()
        t1 = time.perf_counter()
        st["read"] += t1 - t0
        if frame is not None:
            self.last_frame, self.last_frame_at = frame, time.time()
        if frame is None:
            for track in self.tracker.flush():
                self._finish(track.id)
            return False
        virtual = isinstance(self.clock, VirtualClock)
        if virtual and self.clock.now() < frame.t:  # "fast" replay: stream time moves on
            self.clock.advance_to(frame.t)
        if not self.idle.should_detect(frame.image, frame.t, tracking=bool(self.tracker.tracks)):
            self._account(t0, t1, (time.perf_counter() - t1,), virtual)
            return True
        tg = time.perf_counter()
        detected = self.detector.detect(frame.image, frame.t, self.tracker.tracks.values())
        self.idle.after_detection(frame.t, bool(detected))
        self.stats.detected += 1
        self.stats.detected_in_regions = self.detector.region_frames
        t2 = time.perf_counter()
        assigned, ended = self.tracker.update(detected, frame.t)
        t3 = time.perf_counter()
        batch: list[tuple[TrackEvidence, Shot]] = []
        crops = []
        faces = []  # of the batch, in frame coordinates (a Shot's are in its cut's)
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
                faces.append(face)
        t4 = time.perf_counter()
        if batch:
            if self.fast.uses_arcface_crop:  # embed the quality gate's crop, align once
                embs = self.fast.embed_crops(crops, flip=self.engine.config.flip)
            else:
                embs = self.fast.embed(frame.image, faces, flip=self.engine.config.flip)
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
        self._account(
            t0, t1, (tg - t1, t2 - tg, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6), virtual
        )
        return True

    def _account(self, t0: float, t1: float, stages: tuple[float, ...], virtual: bool) -> None:
        """Stage times of one frame (`gate` first, then as far as it went), the virtual clock,
        and the periodic work between frames: gallery reload, rules, retention."""
        for k, dt in zip(STAGES[1:], stages, strict=False):
            self.stats.stage_s[k] += dt
        if virtual:
            self.clock.advance(sum(stages))
        self.stats.frames += 1
        self.stats.wall_s += t1 - t0 + sum(stages)
        self.scheduler.run_due()

    def _finish(self, track_id: int) -> None:
        ev = self.evidence.pop(track_id, None)
        if ev is not None:
            event = self.decider.finish(ev)
            if event is not None:
                self.emit(event)

    def warm_up(self) -> None:
        """Load and run once every model this entrance uses, before the first frame (the
        engine does each only once, so entrances sharing an engine pay once). Then hand the
        loaders' freed heap back to the system: this process lives for months on a small
        board."""
        if not self._warm:
            if self.engine.warm_up(self.decider.models):
                release_free_memory()
            self._warm = True

    def run(self, max_frames: int | None = None) -> RunStats:
        """Warm up, then process frames until the source ends or `max_frames`."""
        self.warm_up()
        while max_frames is None or self.stats.frames < max_frames:
            if not self.step():
                break
        return self.stats
