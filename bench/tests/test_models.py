"""The benchmark helpers (timing, ratios, FMR counting): pure functions, no timing asserted."""

from __future__ import annotations

import numpy as np

from facegate_bench import models


def test_interleaved_runs_every_candidate_in_rotating_order() -> None:
    calls: list[str] = []
    cands = {n: (lambda n=n: calls.append(n)) for n in "abc"}
    times = models.interleaved(cands, rounds=3, reps=2, warmup=1, settle=1, pause_s=0)
    assert {k: len(v) for k, v in times.items()} == {"a": 6, "b": 6, "c": 6}
    timed = calls[3:]  # after one warm-up call each; then 3 calls (1 settle + 2) per turn
    firsts = [timed[i] for i in range(0, len(timed), 9)]
    assert firsts == ["a", "b", "c"]  # each round starts with the next candidate


def test_summary_and_ratios() -> None:
    s = models.summary([0.001, 0.002, 0.003, 0.004, 0.005])
    assert s["median_ms"] == 3.0 and s["n"] == 5
    assert models.summary([0.008], per=4)["median_ms"] == 2.0
    table = {"base": {"median_ms": 10.0}, "fast": {"median_ms": 4.0}}
    assert models.ratios(table, "base") == {"fast": 2.5}


def test_impostors_above_counts_cross_identity_pairs_once() -> None:
    v = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]], np.float32)
    ids = np.array(["a", "a", "b", "c"])
    above, total = models.impostors_above(v, ids, [0.5, 0.9], chunk=2)
    # cross-identity pairs: (0,2) 0, (0,3) .6, (1,2) 0, (1,3) .6, (2,3) .8
    assert total == 5 and above == [3, 0]


def test_machine_names_the_cpu() -> None:
    m = models.machine()
    assert m["cores"] >= 1 and "onnxruntime" in m and "load_avg_1m" in m
