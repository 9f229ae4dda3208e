"""1:N search with open-set rejection, and galleries of another model version refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.errors import ModelVersionMismatch
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import NewTemplate, SQLiteGallery


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_best_template_per_person_and_unknown(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person(
            "ann",
            [
                NewTemplate("m", "v1", unit([1, 0, 0]), source="a1"),
                NewTemplate("m", "v1", unit([0, 1, 0]), source="a2"),
            ],
        )
        store.add_person("bob", [NewTemplate("m", "v1", unit([0, 0, 1]), source="b1")])
        gallery = Gallery(store.templates("m"), "v1")
    assert len(gallery) == 2
    m = gallery.identify(unit([0.1, 1, 0]), threshold=0.9)
    assert m.person is not None and m.person.name == "ann"
    assert m.candidates[0].score == pytest.approx(m.score)
    assert m.candidates[1].name == "bob"
    stranger = gallery.identify(unit([1, 1, 1]), threshold=0.9)
    assert stranger.person is None and stranger.score < 0.9


def test_other_model_version_is_refused(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person("ann", [NewTemplate("sface", "oldversion", unit([1, 0]))])
        with pytest.raises(ModelVersionMismatch, match="re-enrol"):
            Gallery(store.templates("sface"), "newversion")


def random_gallery(n_people: int, seed: int = 0) -> tuple[Gallery, np.ndarray, np.ndarray]:
    """1-4 templates per person, rows shuffled so one person's templates are not adjacent."""
    from facegate.gallery.store import TemplateSet

    rng = np.random.default_rng(seed)
    pids = np.repeat(np.arange(10, 10 + n_people), rng.integers(1, 5, n_people))
    rng.shuffle(pids)
    m = rng.standard_normal((len(pids), 16)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    ts = TemplateSet("m", pids, {int(p): f"p{p}" for p in pids}, m, {"v1"})
    return Gallery(ts, "v1"), m, pids


@pytest.mark.parametrize("n_people", [1, 3, 50])
def test_search_agrees_with_brute_force(n_people: int) -> None:
    gallery, m, pids = random_gallery(n_people)
    probe = unit(list(np.random.default_rng(1).standard_normal(16)))
    sims = m @ probe
    truth = {int(p): float(sims[pids == p].max()) for p in np.unique(pids)}
    assert gallery.scores(probe) == pytest.approx(truth, abs=1e-5)
    ranked = sorted(truth.items(), key=lambda kv: (-kv[1], kv[0]))
    got = gallery.search(probe, top_k=5)
    assert [c.person_id for c in got] == [p for p, _ in ranked[:5]]
    assert [c.score for c in got] == pytest.approx([s for _, s in ranked[:5]], abs=1e-5)
    for p, s in truth.items():  # the confirmation's one-person score
        assert gallery.score(probe, p) == pytest.approx(s, abs=1e-5)
    assert gallery.score(probe, 99_999) == float("-inf") and 99_999 not in gallery


def test_an_empty_gallery_finds_nobody() -> None:
    from facegate.gallery.store import TemplateSet

    empty = Gallery(
        TemplateSet("m", np.zeros(0, np.int64), {}, np.zeros((0, 16), np.float32), set()), "v1"
    )
    assert empty.search(unit([1] * 16)) == [] and empty.scores(unit([1] * 16)) == {}
    assert empty.identify(unit([1] * 16), 0.5).person is None and 1 not in empty
