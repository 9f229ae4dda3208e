"""How many face searches and enrolments the server runs at once, and how many may wait.

Measured (docs/performance.md, "Identify under load"): with one engine behind one lock,
every request beyond the first queued on the lock, so latency grew with the number of
clients (20 clients: p95 21x a single request) while the throughput stayed that of one
request at a time, each model session spreading itself over both cores. Two changes:

- `slots` requests run at once (default: one per CPU core), each ONNX session with
  cores / slots intra-op threads (1 on a 2-core box), so two requests use the two cores
  instead of two threads of one request contending with the next;
- at most `queue` more wait for a slot; beyond that the request is refused at once with
  503 and Retry-After (`Busy`), instead of holding one of the web server's threads for
  seconds and answering after the client gave up.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from facegate.models.config import EngineConfig
from facegate.server.errors import Busy


def slots_for(configured: int) -> int:
    """`server.inference_slots`, 0 meaning one per CPU core."""
    return configured or os.cpu_count() or 1


def engine_config_for(engine: EngineConfig, slots: int) -> EngineConfig:
    """The API engine's settings: `engine.threads` when set, else the cores shared among the
    slots (a session with every core's thread per concurrent request oversubscribes them)."""
    if engine.threads:
        return engine
    threads = max(1, (os.cpu_count() or 1) // slots)
    return engine.model_copy(update={"threads": threads})


class InferenceGate:
    """`slots` holders at once, `queue` more waiting, `Busy` for the rest. Thread-safe: the
    API's sync endpoints run in the web server's thread pool."""

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = slots
        self.queue = queue
        self._running = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._admitted = 0
        self._mean_s = 0.0  # running mean of a request's time in a slot, for Retry-After

    @contextmanager
    def admit(self) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self.slots + self.queue:
                raise Busy(
                    f"the server is busy with {self._admitted} face searches or enrolments "
                    f"({self.slots} at a time); try again shortly",
                    retry_after=self._retry_after(),
                )
            self._admitted += 1
        try:
            with self._running:
                t0 = time.perf_counter()
                try:
                    yield
                finally:
                    self._record(time.perf_counter() - t0)
        finally:
            with self._lock:
                self._admitted -= 1

    def _record(self, seconds: float) -> None:
        with self._lock:
            self._mean_s = seconds if not self._mean_s else 0.9 * self._mean_s + 0.1 * seconds

    def _retry_after(self) -> int:
        """Whole seconds until the queue ahead has likely drained (at least 1)."""
        return max(1, math.ceil(self._admitted / self.slots * self._mean_s))
