"""Sliding-window rate limits for the server's public endpoints (the self-enrolment link's
page, live hints and photo submission), which anyone holding a link can call without an
account: each request counts against its link and against the client's address, and the
first limit reached refuses it with `TooManyAttempts` (429 with Retry-After).

In memory, per app (on `ServerState`), unlike sign-in throttling (in the database): these
limits protect the CPU of this process (every hint frame is a face detection), not an
account, so a count shared between replicas buys nothing; a restart forgets them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from facegate.server.errors import TooManyAttempts

MAX_KEYS = 10_000  # beyond this, the least recently used keys are forgotten


class RateLimiter:
    """`hit(keys, limit, window_s)`: count one request against every key, or refuse it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, keys: Iterable[str], limit: int, window_s: float, what: str) -> None:
        """Count a request under each key (e.g. "check:link:<id>", "check:ip:<addr>"), or
        raise `TooManyAttempts` naming `what` when any key has had `limit` in the window.
        A refused request is not counted, so waiting always ends the refusal."""
        now = self._clock()
        with self._lock:
            queues = []
            for key in keys:
                q = self._hits.pop(key, None) or deque()
                self._hits[key] = q  # most recently used last
                while q and q[0] <= now - window_s:
                    q.popleft()
                queues.append(q)
            full = [q for q in queues if len(q) >= limit]
            if full:
                wait = max(q[0] + window_s - now for q in full)
                raise TooManyAttempts(
                    f"too many {what}; try again in {math.ceil(wait)} s",
                    max(1, math.ceil(wait)),
                )
            for q in queues:
                q.append(now)
            while len(self._hits) > MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
