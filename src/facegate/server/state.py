"""Everything one server instance owns, created by `create_app` and kept on `app.state`:
no module-level globals, so tests can run several apps side by side."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import FaceGateConfig
from facegate.engine import FaceEngine
from facegate.fleet.protocol import Signer
from facegate.runtime.journal import Journal
from facegate.server.inference import InferenceGate, engine_config_for, slots_for
from facegate.server.metrics import Metrics
from facegate.server.operations.devices import BrokerLink, NoBroker
from facegate.server.ratelimit import RateLimiter
from facegate.server.runtimes import EntranceManager
from facegate.server.sql_gallery import SqlGallery


@dataclass
class ServerState:
    config: FaceGateConfig
    db: Engine
    sessions: sessionmaker[Session]
    gallery: SqlGallery
    journal: Journal
    entrances: EntranceManager
    metrics: Metrics
    limits: RateLimiter = field(default_factory=RateLimiter)  # public endpoints
    signer: Signer | None = None  # the fleet's signing key (server.fleet.signing)
    fleet: BrokerLink = field(default_factory=NoBroker)  # FleetService with a broker
    _engine: FaceEngine | None = None
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)
    _gate: InferenceGate = field(init=False)

    def __post_init__(self) -> None:
        sc = self.config.server
        self._gate = InferenceGate(slots_for(sc.inference_slots), sc.inference_queue)

    @contextmanager
    def face_engine(self) -> Iterator[FaceEngine]:
        """The API's engine, shared by `server.inference_slots` requests at once (ONNX
        Runtime sessions run concurrently; see `inference`), `Busy` when the queue is full;
        the runtimes have engines of their own. Built and warmed once, under a lock, so two
        first requests neither load a model twice nor write its cache file together."""
        with self._gate.admit():
            yield self._ready_engine()

    def _ready_engine(self) -> FaceEngine:
        with self._engine_lock:
            if self._engine is None:
                cfg = engine_config_for(self.config.engine, self._gate.slots)
                self._engine = FaceEngine(cfg)
            self._engine.warm_up(self._engine.model_names)
            return self._engine
