"""How long a fuzz test runs: a few seconds inside `make test`, `FACEGATE_FUZZ_SECONDS` per
target when asked (docs/security.md, "Robustness (fuzzing, load)")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import fuzz_seconds

T = TypeVar("T")

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def run(check: Callable[[T], None], inputs: st.SearchStrategy[T], short_examples: int) -> None:
    """`check` on inputs drawn from `inputs`: `short_examples` of them, derandomised (so
    `make test` is repeatable and takes seconds), when no budget is set; else fresh random
    batches until `FACEGATE_FUZZ_SECONDS` are spent. No per-example deadline: a hang is the
    target's own check (`targets.HANG_S`), a slow example on a busy machine is not a bug."""
    budget = fuzz_seconds()

    def body() -> Callable[[T], None]:
        """A fresh function each round: hypothesis marks the one it decorates."""
        return lambda x: check(x)

    common = {"deadline": None, "database": None, "suppress_health_check": _QUIET}
    if budget <= 0:
        given(inputs)(settings(max_examples=short_examples, derandomize=True, **common)(body()))()
        return
    end = time.monotonic() + budget
    while time.monotonic() < end:
        given(inputs)(settings(max_examples=max(short_examples, 500), **common)(body()))()
