"""The one scheduler of an entrance's periodic work (gallery reload, access-rule refresh,
journal retention): run from the frame loop between frames, never from another thread, so a
task never races the decision it feeds and needs no lock of its own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("facegate.runtime")


@dataclass
class _Task:
    every_s: float
    due: float  # time.monotonic()
    fn: Callable[[], object]
    name: str


class Scheduler:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tasks: list[_Task] = []

    def every(self, every_s: float, fn: Callable[[], object], name: str | None = None) -> None:
        """Run `fn` every `every_s` seconds of wall time, the first time one period from now."""
        if not every_s > 0:
            raise ValueError(f"a period must be positive, got {every_s}")
        name = name or getattr(fn, "__qualname__", repr(fn))
        self._tasks.append(_Task(every_s, self._clock() + every_s, fn, name))

    @property
    def names(self) -> list[str]:
        return [t.name for t in self._tasks]

    def run_due(self) -> int:
        """Run the tasks that are due; a failure is logged and the task stays scheduled."""
        now, ran = self._clock(), 0
        for task in self._tasks:
            if now >= task.due:
                task.due = now + task.every_s
                ran += 1
                try:
                    task.fn()
                except Exception:
                    log.exception("periodic task %s failed", task.name)
        return ran
