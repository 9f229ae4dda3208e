"""`facegate bench reid`: the candidates compute the same embedding as FaceGate's FaceReid, the
memory probe measures a fresh process, the report prints; on the shared data, reid's LFW
accuracy at its calibrated threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.tests.conftest import require_data
from facegate.engine import FaceEngine
from facegate_bench import lfw, reid
from facegate_bench.data import models_root


@pytest.fixture(scope="module")
def crops(cache_dir: Path) -> dict[str, list[np.ndarray]]:
    return reid.demo_crops(reid.reid_engine(1, cache_dir))


def test_onnxruntime_candidates_agree_with_facegate(crops, cache_dir: Path) -> None:
    embeds, precision = reid.candidates(1, cache_dir, None)
    assert {reid.SFACE, reid.REID, reid.REID_PLAIN} == set(embeds)
    assert set(precision.values()) == {"f32"}
    ours = embeds[reid.REID](crops["reid"])
    plain = embeds[reid.REID_PLAIN](crops["reid"])  # the file without the PReLU rewrite
    assert ours.shape == (len(crops["reid"]), 256)
    np.testing.assert_allclose(np.einsum("ij,ij->i", ours, plain), 1.0, atol=1e-5)


def test_openvino_on_intels_ir_agrees_with_facegate(crops, cache_dir: Path) -> None:
    pytest.importorskip("openvino")
    ir = models_root() / "face-reid-0095"
    if not (ir / reid.IR["FP16"]).is_file():
        pytest.skip(f"Intel's IR is absent under {ir} (set FACEGATE_MODELS)")
    embed, precision = reid.openvino_embed(ir / reid.IR["FP16"], 1, "f32")
    assert precision == "f32"
    ours = reid.reid_engine(1, cache_dir).embedder("reid").embed_crops(crops["reid"])
    cos = np.einsum("ij,ij->i", embed(crops["reid"]), ours)
    assert cos.min() > 0.999  # FP16 weights at FP32 precision vs the FP32 conversion


def test_memory_probe_measures_a_fresh_process(cache_dir: Path) -> None:
    reid.reid_engine(1, cache_dir).embedder("reid")  # prepared file cached
    r = reid._probe("reid", 1, False, cache_dir, "")
    assert r["import_mb"] > 5 and r["load_mb"] > 0 and r["added_mb"] < 300
    assert 0 < r["import_s"] < 30 and r["peak_mb"] >= r["base_mb"] + r["added_mb"] - 1


def test_report_text_names_every_candidate() -> None:
    row = {"median_ms": 5.0, "p25_ms": 4.0, "p75_ms": 6.0, "n": 4, "min_ms": 3.5}
    r = {
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "simd": ["avx2"],
            "onnxruntime": "1",
            "load_avg_1m": 1,
        },
        "openvino": None,
        "speed": {
            "samples": 4,
            "precision": {reid.SFACE: "f32", reid.REID: "f32"},
            "threads": {
                "1": {reid.SFACE: {**row, "x_vs_sface": 1.0}, reid.REID: {**row, "x_vs_sface": 2.0}}
            },
        },
    }
    text = reid.to_text(r)
    assert "openvino not installed" in text and f"{reid.REID}" in text and "x2.00" in text


@pytest.mark.data
@pytest.mark.slow
def test_reid_on_lfw_fold_one_at_its_calibrated_threshold(cache_dir: Path) -> None:
    """Fold 1 of gray LFW View-2 (300 same + 300 different pairs): at reid's calibrated
    FMR 1e-3 threshold it accepts nearly every same pair and almost no different pair."""
    root = require_data("lfw")
    engine: FaceEngine = reid.reid_engine(2, cache_dir)
    pairs = [p for p in lfw.read_pairs(root) if p.fold == 0]
    emb = lfw.embed_lfw(
        engine, root, [x for p in pairs for x in (p.a, p.b)], "reid", progress=False
    )
    scores = lfw.pair_scores(emb, pairs, flip=False)
    same = np.array([p.same for p in pairs])
    t = engine.threshold("reid", 1e-3)
    assert np.mean(scores[same] >= t) > 0.97
    assert np.sum(scores[~same] >= t) <= 3
