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
from facegate.runtime.journal import Journal
from facegate.server.metrics import Metrics
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
    _engine: FaceEngine | None = None
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def face_engine(self) -> Iterator[FaceEngine]:
        """The API's engine, one request at a time: the CPU has few cores and the models are
        shared; the runtimes have engines of their own."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = FaceEngine(self.config.engine)
            yield self._engine
