"""`facegate bench search`: 1:N search time against gallery size, FaceGate's `Gallery.search`
against the previous implementation in the same run.

The gallery is synthetic (random unit vectors, 1-4 templates per person, as enrolment makes):
search time depends on the number of templates and their dimension, not on what they hold.
The baseline (`dict_search`) is the matcher as it was before issue 17: a per-person max by
`np.maximum.at`, a Python dict of every person, then a full sort; it is kept here only as the
yardstick. Both answer with the same top-k (checked on every size before timing).

What a server-side search at city scale would add beyond one matrix per entrance (an ANN
index, pgvector) is discussed in docs/performance.md; nothing here needs it: an intercom's
gallery is one building's residents.
"""

from __future__ import annotations

import statistics

import numpy as np

from facegate.gallery.matcher import Gallery
from facegate.gallery.store import TemplateSet
from facegate_bench.models import interleaved

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def synthetic_gallery(templates: int, dim: int, seed: int = 0) -> Gallery:
    """About `templates` rows of random unit vectors, 1-4 per person, rows shuffled."""
    rng = np.random.default_rng(seed)
    per_person = rng.integers(1, 5, templates)  # at most `templates` people
    pids = np.repeat(np.arange(len(per_person)), per_person)[:templates]
    rng.shuffle(pids)
    m = rng.standard_normal((len(pids), dim), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    names = {int(p): f"person {p}" for p in np.unique(pids)}
    return Gallery(TemplateSet("synthetic", pids, names, m, {"v"}), "v")


def dict_search(g: Gallery, embedding: np.ndarray, top_k: int = 5) -> list[tuple[int, float]]:
    """The pre-issue-17 matcher: scatter-max into every person, a dict, a full sort."""
    sims = g.matrix @ embedding
    unique = g.person_order
    slot = np.searchsorted(unique, g.person_ids)
    best = np.full(len(unique), -np.inf, np.float32)
    np.maximum.at(best, slot, sims)
    scores = {int(p): float(s) for p, s in zip(unique, best, strict=True)}
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:top_k]


def run(sizes: tuple[int, ...] = SIZES, dim: int = 128, rounds: int = 10, seed: int = 0) -> dict:
    rows = []
    for n in sizes:
        g = synthetic_gallery(n, dim, seed)
        probe = g.matrix[len(g.matrix) // 2] + 0.05 * np.random.default_rng(
            seed + 1
        ).standard_normal(dim, dtype=np.float32)
        probe /= np.linalg.norm(probe)
        new = [(c.person_id, round(c.score, 5)) for c in g.search(probe, 5)]
        old = [(p, round(s, 5)) for p, s in dict_search(g, probe, 5)]
        if [p for p, _ in new] != [p for p, _ in old]:
            raise AssertionError(f"{n} templates: search {new} != baseline {old}")
        t = interleaved(
            {
                "facegate": lambda g=g, v=probe: g.search(v, 5),
                "baseline": lambda g=g, v=probe: dict_search(g, v, 5),
                "matvec": lambda g=g, v=probe: g.matrix @ v,
            },
            rounds=rounds if n < 1_000_000 else max(3, rounds // 3),
            reps=3,
            pause_s=0.0,
        )
        med = {k: statistics.median(v) * 1000 for k, v in t.items()}
        rows.append(
            {
                "templates": len(g.matrix),
                "people": len(g),
                "dim": dim,
                "ms": {k: round(v, 4) for k, v in med.items()},
                "speedup": round(med["baseline"] / med["facegate"], 1),
                "matrix_mb": round(g.matrix.nbytes / 2**20, 1),
            }
        )
    return {"dim": dim, "rows": rows}


def to_text(r: dict) -> str:
    lines = [
        f"1:N search, top 5, {r['dim']}-d float32 templates (median ms per query; numpy's "
        "BLAS with its default threads)",
        "  templates    people   matrix MB   facegate   baseline   x     mat-vec alone",
    ]
    for row in r["rows"]:
        ms = row["ms"]
        lines.append(
            f"  {row['templates']:9d} {row['people']:9d} {row['matrix_mb']:10.1f} "
            f"{ms['facegate']:10.3f} {ms['baseline']:10.3f} {row['speedup']:5.1f} "
            f"{ms['matvec']:10.3f}"
        )
    return "\n".join(lines)
