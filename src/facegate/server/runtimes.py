"""The entrance runtimes inside the server: one background thread per enabled entrance with
a source, matching against the server's residents (`SqlGallery`) under the server's access
rules (`DbAccessPolicy`), journalling to the shared journal the event API reads.

Each runtime is a `runtime.entrance.Entrance`, assembled exactly as `facegate run`
assembles one, with the server's gallery, access policy, journal and metrics passed in.
A runtime failure (camera gone, bad file, settings that
no longer validate) shows in the entrance's status and never takes the server down; the door
adapter (`DoorActuator`) lives as long as the entrance, so a manual open works whether or not
a camera is configured.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import EngineConfig, RuntimeConfig
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorActuator, build_door
from facegate.runtime.entrance import Entrance as EntranceRuntime
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal, JournalError
from facegate.runtime.liveness import (
    NO_MODEL_NOTE,
    LivenessConfig,
    NoLiveness,
    passive_model_name,
    startup_summary,
)
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig
from facegate.server.access_policy import DbAccessPolicy
from facegate.server.db.models import Entrance
from facegate.server.metrics import Metrics
from facegate.server.schemas import EntranceStatus, LivenessStatus
from facegate.server.sql_gallery import SqlGallery
from facegate.vault import Vault

log = logging.getLogger("facegate.server.runtimes")


@dataclass
class EntranceSettings:
    """An entrance row, validated into the runtime's own config models."""

    id: int
    name: str
    enabled: bool
    source: SourceConfig | None
    runtime: RuntimeConfig

    @classmethod
    def from_row(cls, row: Entrance, base: RuntimeConfig) -> EntranceSettings:
        rc = RuntimeConfig.model_validate(
            {
                **base.model_dump(
                    exclude={"source", "door", "decision", "quality", "liveness", "entrance"}
                ),
                "entrance": row.name,
                "source": SourceConfig.model_validate(row.source) if row.source else None,
                "door": row.door,
                "decision": DecisionConfig.model_validate(row.decision),
                "quality": QualityConfig.model_validate(row.quality),
                "liveness": LivenessConfig.model_validate(row.liveness or {}),
            }
        )
        return cls(row.id, row.name, row.enabled, rc.source, rc)


class _Described:
    """A description dict in the shape `startup_summary` reads from a liveness stage."""

    name = "described"

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def describe(self) -> dict[str, Any]:
        return self._d


def configured_liveness(cfg: LivenessConfig) -> dict[str, Any]:
    """What `build_liveness(cfg).describe()` would say, without loading any model: for the
    entrances whose runtime is not running (no source, disabled, runtimes off)."""
    checks = cfg.active_checks()
    if not checks:
        return NoLiveness().describe()
    d: dict[str, Any] = {
        "checks": checks,
        "need": cfg.need,
        "on_undecided": cfg.on_undecided,
        "passive_model": passive_model_name(cfg, checks),  # the shipped model by default
    }
    if "challenge" in checks or cfg.on_undecided == "challenge":
        d["challenge"] = cfg.challenge.kind
    if "passive" not in checks:
        d["note"] = NO_MODEL_NOTE
    return d


def liveness_status(d: dict[str, Any], described_by: str) -> LivenessStatus:
    """A liveness description for /health and the UI: the PAD model by name only (health
    needs no sign-in), and always a note saying what is not detected."""
    checks = [str(c) for c in d.get("checks", [])]
    passive = "passive" in checks
    model = d.get("passive_model")
    name = Path(model).name if model else None
    note = d.get("note") or ("" if passive else NO_MODEL_NOTE)
    if not checks:
        note = d.get("note") or NoLiveness.NOTE
    summary = startup_summary(_Described({**d, "passive_model": name}))
    return LivenessStatus(
        described_by=described_by,
        checks=checks,
        passive=passive,
        passive_model=name,
        passive_threshold=d.get("passive_threshold"),
        need=d.get("need"),
        on_undecided=d.get("on_undecided"),
        challenge=d.get("challenge"),
        note=note,
        summary=summary,
    )


@dataclass
class _Worker:
    settings: EntranceSettings | None  # None: the stored settings do not validate
    actuator: DoorActuator | None
    status: EntranceStatus = field(default_factory=lambda: EntranceStatus(state="stopped"))
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    liveness: dict[str, Any] | None = None  # the running stage's describe()
    entrance: EntranceRuntime | None = None  # while the runtime runs
    lost_since: float | None = None  # monotonic: the camera reported an outage then

    @property
    def name(self) -> str:
        return self.settings.name if self.settings else "?"

    def set(self, status: EntranceStatus) -> None:
        """The new status, stamped with when its state began (kept while the state stays)."""
        same = status.state == self.status.state and self.status.since is not None
        since = self.status.since if same else datetime.now(UTC)
        self.status = status.model_copy(update={"since": since})

    def current(self) -> EntranceStatus:
        """The status as reported: an outage longer than the source's `reconnect_max_s` (a
        whole backoff cycle without a frame) is `source_lost`, since the outage began."""
        status, lost = self.status, self.lost_since
        if status.state == "reconnecting" and lost is not None and self.settings is not None:
            src = self.settings.source
            if src is not None and time.monotonic() - lost > src.reconnect_max_s:
                return status.model_copy(update={"state": "source_lost"})
        return status

    def liveness_status(self) -> LivenessStatus | None:
        if self.liveness is not None:
            return liveness_status(self.liveness, "runtime")
        if self.settings is None:
            return None
        return liveness_status(configured_liveness(self.settings.runtime.liveness), "config")


class EntranceManager:
    def __init__(
        self,
        factory: sessionmaker[Session],
        engine_config: EngineConfig,
        base: RuntimeConfig,
        journal: Journal,
        metrics: Metrics,
        *,
        vault: Vault,
        run: bool = True,
        timezone: str | None = None,
    ) -> None:
        self._factory = factory
        self._timezone = timezone  # the site's: rule windows are read in it
        self._vault = vault
        self._engine_config = engine_config
        self._base = base
        self.journal = journal
        self.metrics = metrics
        self._run = run
        self._lock = threading.Lock()
        self._workers: dict[int, _Worker] = {}
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    def start_all(self) -> None:
        with self._factory() as s:
            ids = list(s.scalars(select(Entrance.id).order_by(Entrance.id)))
        for i in ids:
            self.restart(i)

    def restart(self, entrance_id: int) -> None:
        """(Re)start an entrance from its current row; a deleted entrance is just stopped."""
        self.stop(entrance_id)
        with self._factory() as s:
            row = s.get(Entrance, entrance_id)
            try:
                settings = EntranceSettings.from_row(row, self._base) if row else None
            except ValidationError as exc:  # e.g. written by an older FaceGate: show it
                log.error("entrance %d: stored settings are invalid: %s", entrance_id, exc)
                with self._lock:
                    self._workers[entrance_id] = _Worker(
                        None,
                        None,
                        EntranceStatus(
                            state="error",
                            since=datetime.now(UTC),
                            detail="stored settings are invalid, save them again: "
                            + "; ".join(
                                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                            ),
                        ),
                    )
                return
        if settings is None or self._closed:
            return
        rc = settings.runtime
        actuator = DoorActuator(
            build_door(rc.door, rc.entrance), pulse_s=rc.door.pulse_s, on_done=self._door_done
        )
        worker = _Worker(settings, actuator)
        if not settings.enabled:
            worker.set(EntranceStatus(state="disabled"))
        elif settings.source is None:
            worker.set(
                EntranceStatus(state="no_source", detail="set a camera or video file to watch")
            )
        elif not self._run:
            worker.set(
                EntranceStatus(
                    state="stopped", detail="runtimes are off (server.run_entrances: false)"
                )
            )
        else:
            worker.set(EntranceStatus(state="starting"))
            worker.thread = threading.Thread(
                target=self._loop, args=(worker,), name=f"entrance-{settings.name}", daemon=True
            )
        with self._lock:
            self._workers[entrance_id] = worker
        if worker.thread is not None:
            worker.thread.start()

    def stop(self, entrance_id: int, timeout: float = 10.0) -> None:
        with self._lock:
            worker = self._workers.pop(entrance_id, None)
        if worker is None:
            return
        worker.stop.set()
        if worker.entrance is not None:  # also ends a wait for a camera that is away
            worker.entrance.stop()
        if worker.thread is not None:
            worker.thread.join(timeout)
            if worker.thread.is_alive():
                log.error("entrance %s did not stop within %g s", worker.name, timeout)
        if worker.actuator is not None:
            worker.actuator.close()
        if worker.settings is not None:
            self._idle_gauges(worker.name)

    def _idle_gauges(self, name: str) -> None:
        """An entrance that is not processing frames shows 0 frames/s, not its last rate."""
        self.metrics.fps.labels(name).set(0)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            ids = list(self._workers)
        for i in ids:
            self.stop(i)

    def status(self, entrance_id: int) -> EntranceStatus:
        with self._lock:
            worker = self._workers.get(entrance_id)
        if worker is None:
            return EntranceStatus(state="stopped")
        return worker.current().model_copy(update={"liveness": worker.liveness_status()})

    def latest_frame(self, entrance_id: int) -> tuple[Any, float] | None:
        """The newest camera frame of a running entrance (BGR) and its wall-clock time; the
        runtime keeps only a reference, so the caller encodes it (and only when asked)."""
        with self._lock:
            worker = self._workers.get(entrance_id)
        entrance = worker.entrance if worker is not None else None
        frame = entrance.runtime.last_frame if entrance is not None else None
        if frame is None:
            return None
        return frame.image, entrance.runtime.last_frame_at

    def wait(self, entrance_id: int, timeout: float) -> EntranceStatus:
        """Block until the entrance's runtime ends (file sources), for tests and tools."""
        with self._lock:
            worker = self._workers.get(entrance_id)
        if worker is not None and worker.thread is not None:
            worker.thread.join(timeout)
        return self.status(entrance_id)

    # -- events -----------------------------------------------------------------------------

    def _record(self, event: DoorEvent) -> int | None:
        self.metrics.record(event)
        try:
            return self.journal.record(event)
        except JournalError as exc:  # the door keeps working; the log keeps the event
            log.error("journal: %s; event was %s", exc, event.to_dict())
            return None

    def _door_done(self, event: DoorEvent, outcome: dict[str, Any]) -> None:
        """What the door did for an open (automatic or manual), onto the open's own event:
        a failed one is journalled as `open_failed` with the error, and counted."""
        if not outcome.get("actuated"):
            self.metrics.door_failures.labels(event.entrance).inc()
        try:
            self.journal.settle_door(event, outcome)
        except JournalError as exc:
            log.error("journal: %s; door outcome was %s for %s", exc, outcome, event.to_dict())

    def open_door(self, entrance_id: int, reason: str, actor: str) -> tuple[bool, int | None]:
        """A manual open: commanded through the entrance's adapter and journalled."""
        with self._lock:
            worker = self._workers.get(entrance_id)
        if worker is None or worker.settings is None or worker.actuator is None:
            raise FaceGateError(f"entrance {entrance_id} is not running")
        event = DoorEvent(
            Decision.OPEN,
            worker.settings.name,
            f"manual open by {actor}: {reason}",
            liveness={"checked": False, "manual": True},
        )
        queued = worker.actuator.request_open(event)
        return queued, self._record(event) if queued else None

    # -- the runtime thread -------------------------------------------------------------------

    def _loop(self, worker: _Worker) -> None:
        st, actuator = worker.settings, worker.actuator
        assert st is not None and st.source is not None and actuator is not None
        try:
            engine = FaceEngine(self._engine_config)
            with EntranceRuntime(
                st.runtime,
                engine,
                SqlGallery(self._factory, self._vault),
                access=DbAccessPolicy(self._factory, self._timezone),
                journal=self.journal,
                actuator=actuator,
                sinks=[self.metrics.record, functools.partial(self._source_event, worker)],
            ) as entrance:
                worker.entrance = entrance
                if worker.stop.is_set():  # stopped while the source was opening
                    return
                worker.liveness = entrance.liveness.describe()
                entrance.start()  # warm-up: the first visitor does not wait for model loading
                if worker.lost_since is None:  # "running" comes with the first frame
                    worker.set(
                        EntranceStatus(
                            state="starting", detail=f"waiting for {entrance.source.name}"
                        )
                    )
                self._run_loop(worker, entrance)
        except FaceGateError as exc:
            log.error("entrance %s: %s", st.name, exc)
            worker.set(worker.status.model_copy(update={"state": "error", "detail": str(exc)}))
        except Exception as exc:  # a bug must show in the status, not kill the server
            log.exception("entrance %s failed", st.name)
            worker.set(
                worker.status.model_copy(
                    update={"state": "error", "detail": f"internal error: {exc!r}"}
                )
            )
        finally:
            self._idle_gauges(st.name)

    def _source_event(self, worker: _Worker, event: DoorEvent) -> None:
        """A camera's outage and recovery (reported from its own thread) in the status: a
        dead camera is `reconnecting`, then `source_lost`, never a `running` with 0 frames."""
        if event.decision is Decision.SOURCE_LOST:
            worker.lost_since = time.monotonic()
            self._idle_gauges(worker.name)
            worker.set(
                worker.status.model_copy(
                    update={"state": "reconnecting", "detail": event.reason, "fps": 0.0}
                )
            )
        elif event.decision is Decision.SOURCE_RESTORED:
            worker.lost_since = None
            worker.set(
                worker.status.model_copy(update={"state": "running", "detail": event.reason})
            )

    def _run_loop(self, worker: _Worker, entrance: EntranceRuntime) -> None:
        window_start, window_frames = time.monotonic(), 0
        name = worker.name
        while not worker.stop.is_set():
            if not entrance.step():
                if not worker.stop.is_set():
                    worker.set(
                        self._snapshot(
                            worker,
                            entrance,
                            "ended",
                            "the source ended (a file played to its end)",
                            0.0,
                        )
                    )
                    return
                break
            window_frames += 1
            self.metrics.frames.labels(name).inc()
            now = time.monotonic()
            first = worker.status.state == "starting"
            if first or now - window_start >= 2.0:
                fps = window_frames / max(now - window_start, 1e-3) if not first else None
                if fps is not None:
                    self.metrics.fps.labels(name).set(fps)
                    window_start, window_frames = now, 0
                if worker.lost_since is None:  # not while the camera reports an outage
                    detail = entrance.source.name if first else worker.status.detail
                    worker.set(self._snapshot(worker, entrance, "running", detail, fps))
        worker.set(self._snapshot(worker, entrance, "stopped", "stopped", 0.0))

    @staticmethod
    def _snapshot(
        worker: _Worker, runtime: EntranceRuntime, state: str, detail: str, fps: float | None = None
    ) -> EntranceStatus:
        return EntranceStatus(
            state=state,
            detail=detail,
            frames=runtime.stats.frames,
            fps=round(fps if fps is not None else runtime.stats.fps, 2),
            events=dict(runtime.stats.events),
        )
