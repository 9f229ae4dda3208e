"""The public endpoints' sliding-window limits: each key counts, the first full one
refuses with when to come back, refused requests are not counted, and the window slides."""

from __future__ import annotations

import pytest

from facegate.server.errors import TooManyAttempts
from facegate.server.ratelimit import RateLimiter


def test_the_first_full_key_refuses_and_waiting_ends_it() -> None:
    now = [1000.0]
    limits = RateLimiter(clock=lambda: now[0])
    for _ in range(3):
        limits.hit(["link:a", "ip:1"], 3, 60, "checks")
    with pytest.raises(TooManyAttempts) as exc:
        limits.hit(["link:b", "ip:1"], 3, 60, "checks")  # another link, the same client
    assert exc.value.retry_after == 60 and "too many checks" in str(exc.value)
    limits.hit(["link:b", "ip:2"], 3, 60, "checks")  # another client is not affected
    now[0] += 30
    with pytest.raises(TooManyAttempts) as exc:
        limits.hit(["link:a", "ip:3"], 3, 60, "checks")
    assert exc.value.retry_after == 30
    now[0] += 30.5  # the first three left the window; the refusals were never counted
    for _ in range(3):
        limits.hit(["link:a", "ip:1"], 3, 60, "checks")
