"""The LFW protocol and the calibration maths, checked against brute force on small data."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.tests.conftest import require_data
from facegate.config import EngineConfig
from facegate.engine import FaceEngine
from facegate_bench import lfw


def test_best_threshold_separates_separable_scores() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    same = np.array([False, False, False, True, True, True])
    t = lfw.best_threshold(scores, same)
    assert 0.3 < t < 0.7


def test_ten_fold_uses_other_folds_for_the_threshold() -> None:
    rng = np.random.default_rng(1)
    same = np.tile([True, False], 500)
    folds = np.repeat(np.arange(10), 100)
    scores = np.where(same, rng.normal(0.6, 0.1, 1000), rng.normal(0.1, 0.1, 1000))
    acc = lfw.ten_fold_accuracy(scores, same, folds)
    assert acc.shape == (10,)
    # two unit-variance-apart Gaussians 5 sd apart: Bayes accuracy ~ 99.4 %
    assert 0.98 < acc.mean() <= 1.0


def test_fusion_normalises_each_fold_without_its_own_pairs() -> None:
    same = np.tile([True, False], 10)
    folds = np.repeat(np.arange(2), 10)
    a = np.where(same, 5.0, 1.0) + np.arange(20) * 0.01
    fused = lfw.fused_fold_scores([a, a * 2], same, folds)
    train_imp = a[(folds == 1) & ~same]
    expect0 = (a[folds == 0] - train_imp.mean()) / train_imp.std()
    np.testing.assert_allclose(fused[folds == 0], expect0)


def test_identity_merges_known_duplicates() -> None:
    assert lfw.identity("Carlos_Beltran/Carlos_Beltran_0001.jpg") == "Raul_Ibanez"
    assert lfw.identity("George_W_Bush/George_W_Bush_0123.jpg") == "George_W_Bush"


@pytest.mark.data
def test_pairs_file_and_a_slice_of_fold_one(engine: FaceEngine) -> None:
    root = require_data("lfw")
    pairs = lfw.read_pairs(root)
    assert len(pairs) == 6000 and {p.fold for p in pairs} == set(range(10))
    assert sum(p.same for p in pairs) == 3000
    subset = [p for p in pairs if p.fold == 0][:60] + [p for p in pairs if p.fold == 0][300:360]
    emb = lfw.embed_lfw(
        engine, root, [x for p in subset for x in (p.a, p.b)], "sface", progress=False
    )
    scores = lfw.pair_scores(emb, subset, flip=False)
    same = np.array([p.same for p in subset])
    t = engine.threshold("sface", 1e-3)
    assert np.mean((scores >= t) == same) > 0.95


@pytest.fixture(scope="module")
def int8_engine(cache_dir: Path) -> FaceEngine:
    return FaceEngine(EngineConfig(cache_dir=cache_dir, precision="int8"))


@pytest.mark.slow
def test_lfw_embeddings_are_cached_per_precision(
    int8_engine: FaceEngine, engine: FaceEngine, tmp_path: Path, hopper, astronaut
) -> None:
    """INT8 shares FP32's model version (galleries stay valid), but an LFW evaluation with
    `precision: int8` must measure INT8 vectors, not read FP32's cached ones."""
    rels = ["Grace_Hopper/Grace_Hopper_0001.jpg", "Astronaut/Astronaut_0001.jpg"]
    for rel, img in zip(rels, (hopper, astronaut), strict=True):
        (tmp_path / "gray" / rel).parent.mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "gray" / rel), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    e32 = lfw.embed_lfw(engine, tmp_path, rels, "sface", progress=False).plain
    e8 = lfw.embed_lfw(int8_engine, tmp_path, rels, "sface", progress=False).plain
    cos = np.einsum("ij,ij->i", e8, e32)
    assert cos.min() > 0.98 and cos.max() < 0.9999  # close, and really computed by INT8
