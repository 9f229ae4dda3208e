"""Calibration by target FMR on all cross-identity pairs: the maths against brute force, the
FMRs the pair count allows, fusions of chosen model subsets under shipped names."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench.tests.conftest import require_data
from facegate.config import EngineConfig, RecognizerConfig
from facegate.engine import FaceEngine
from facegate.errors import DataError
from facegate.gallery.thresholds import Calibration, load_calibrations
from facegate_bench import calibrate


def _unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_impostor_top_matches_brute_force() -> None:
    v = _unit(np.random.default_rng(2), 60)
    ids = np.repeat(np.arange(20), 3)
    top, mean, std, n = calibrate.impostor_top([v], ids, keep_fraction=0.1, chunk=7)
    brute = [float(v[i] @ v[j]) for i in range(60) for j in range(i + 1, 60) if ids[i] != ids[j]]
    assert n == len(brute) == calibrate.cross_identity_pairs(ids)
    assert mean == pytest.approx(np.mean(brute), abs=1e-5)
    assert std == pytest.approx(np.std(brute), abs=1e-5)
    np.testing.assert_allclose(top[:50], sorted(brute, reverse=True)[:50], atol=1e-6)
    t = calibrate.thresholds_from_top(top, n, [0.01])[0.01]
    assert sum(s > t for s in brute) <= math.floor(0.01 * n)


def test_genuine_scores_are_all_same_identity_pairs_fused_like_impostors() -> None:
    rng = np.random.default_rng(3)
    a, b = _unit(rng, 9), _unit(rng, 9)
    ids = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3])
    same = [(i, j) for i in range(9) for j in range(i + 1, 9) if ids[i] == ids[j]]
    got = calibrate.genuine_scores([a], ids)
    np.testing.assert_allclose(sorted(got), sorted(float(a[i] @ a[j]) for i, j in same), atol=1e-6)
    stats = [(0.1, 0.2), (-0.1, 0.5)]
    fused = calibrate.genuine_scores([a, b], ids, stats)
    want = [((a[i] @ a[j] - 0.1) / 0.2 + (b[i] @ b[j] + 0.1) / 0.5) / 2 for i, j in same]
    np.testing.assert_allclose(sorted(fused), sorted(want), atol=1e-5)


def test_fmrs_go_down_while_enough_impostors_rest_above_the_threshold() -> None:
    # gray LFW: 87,307,269 pairs -> 1e-6 leaves 87 above; 1e-7 would leave 8
    assert calibrate.calibration_fmrs(87_307_269) == (1e-3, 1e-4, 1e-5, 1e-6)
    assert calibrate.calibration_fmrs(100_000) == (1e-3, 1e-4)
    assert calibrate.calibration_fmrs(10_000, min_impostors=1) == (1e-3, 1e-4)


def test_merge_keeps_every_value_of_existing_entries_and_adds_missing_fmrs(
    tmp_path: Path,
) -> None:
    old = {"m@1": Calibration("m", "1", False, 0.1, 0.2, {1e-3: 0.30, 1e-4: 0.40}, "run 1")}
    new = {
        "m@1": Calibration("m", "1", False, 0.1000001, 0.2, {1e-3: 0.3000001, 1e-6: 0.6}, "run 2"),
        "n@2": Calibration("n", "2", False, 0.0, 0.1, {1e-3: 0.2}, "run 2"),
    }
    merged = calibrate.merge_calibrations(old, new)
    assert merged["m@1"].thresholds == {1e-3: 0.30, 1e-4: 0.40, 1e-6: 0.6}
    assert (merged["m@1"].impostor_mean, merged["m@1"].source) == (0.1, "run 1")
    assert merged["n@2"] == new["n@2"]
    path = tmp_path / "cal.json"
    calibrate.save_calibrations(path, old)
    before = path.read_text()
    calibrate.save_calibrations(path, merged)
    added = set(path.read_text().splitlines()) - set(before.splitlines())
    assert not set(before.splitlines()) - set(path.read_text().splitlines())  # nothing changed
    assert '        "1e-06": 0.6,' in added
    assert load_calibrations(path)["m@1"].threshold(1e-5) == pytest.approx(0.5)


def test_fusions_must_be_two_or_more_of_the_models(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="two or more"):
        calibrate.calibrate(
            FaceEngine(EngineConfig(cache_dir=tmp_path)), tmp_path, ["sface"], [["sface"]]
        )
    with pytest.raises(DataError, match="two or more"):
        calibrate.calibrate(
            FaceEngine(EngineConfig(cache_dir=tmp_path)), tmp_path, ["sface"], [["sface", "dlib"]]
        )


def test_shipped_calibration_has_reid_and_its_pairs() -> None:
    """The shipped table: every shipped model and the fusions the door may use, flip off
    and on, down to the lowest FMR gray LFW supports."""
    cals = load_calibrations()
    engine = FaceEngine(
        EngineConfig(
            recognizers=[
                RecognizerConfig(name="reid", kind="face_reid"),
                RecognizerConfig(name="sface", kind="sface"),
            ]
        )
    )
    for flip in (False, True):
        for model in ("sface", "dlib", "reid", "fusion:sface+dlib", "fusion:sface+reid"):
            (cal,) = [c for c in cals.values() if c.model == model and c.flip == flip]
            assert sorted(cal.thresholds) == [1e-6, 1e-5, 1e-4, 1e-3]
            t = [cal.thresholds[f] for f in (1e-6, 1e-5, 1e-4, 1e-3)]
            assert t == sorted(t, reverse=True)  # stricter FMR, higher threshold
        assert any(c.model == "fusion:reid+dlib" and c.flip == flip for c in cals.values())
    # configured as [reid, sface], the fusion calibrated as sface+reid is found
    assert engine.fusion_calibration().model == "fusion:sface+reid"
    assert engine.threshold("reid", 1e-6) > engine.threshold("reid", 1e-4)


@pytest.mark.data
@pytest.mark.slow
def test_calibrate_a_fusion_subset_on_a_slice_of_lfw(tmp_path: Path, cache_dir: Path) -> None:
    """Three models, one fusion of two of them, on 40 people of the real gray LFW."""
    root = require_data("lfw")
    people = sorted(p.name for p in (root / "gray").iterdir() if len(list(p.iterdir())) >= 3)[:40]
    small = tmp_path / "lfw"
    for name in people:
        (small / "gray" / name).mkdir(parents=True)
        for f in sorted((root / "gray" / name).iterdir())[:4]:
            (small / "gray" / name / f.name).symlink_to(f)
    engine = FaceEngine(
        EngineConfig(
            cache_dir=cache_dir,
            recognizers=[
                RecognizerConfig(name="sface", kind="sface"),
                RecognizerConfig(name="my_reid", kind="face_reid"),
            ],
        )
    )
    run = calibrate.calibrate(engine, small, ["sface", "my_reid"], [["my_reid", "sface"]], False)
    assert {c.model for c in run.calibrations.values()} == {"sface", "reid", "fusion:reid+sface"}
    assert run.impostor_pairs + run.genuine_pairs == run.images * (run.images - 1) // 2
    assert sorted(run.fmrs) == [1e-3]  # ~10k pairs: 1e-4 would rest on one impostor
    fused = next(c for c in run.calibrations.values() if c.model == "fusion:reid+sface")
    assert fused.impostor_mean == pytest.approx(0.0, abs=1e-3)  # z-scores: mean 0, sd < 1
    assert 0.5 < fused.impostor_std < 1.0
    assert all(0.5 < tar[1e-3] <= 1.0 for tar in run.tar.values())
    assert "impostor pairs" in run.to_text()
