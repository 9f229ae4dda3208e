"""Model preparation (onnx_prep): DequantizeLinear folded by its definition, the prepared file
cached, the INT8 cache keyed by the calibration folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from facegate.models import onnx_prep
from facegate.models.yunet import YuNet


def test_blocked_dequantize_matches_definition() -> None:
    q = np.arange(-6, 6, dtype=np.int8).reshape(2, 6)
    scale = np.array([[0.5, 2.0], [1.0, 3.0]], np.float32)  # blocks of 3 along axis 1
    zero = np.array([[0, 1], [0, -1]], np.int8)
    out = onnx_prep.dequantize(q, scale, zero, axis=1, block_size=3)
    expect = np.array(
        [
            [
                (-6 - 0) * 0.5,
                (-5) * 0.5,
                (-4) * 0.5,
                (-3 - 1) * 2.0,
                (-2 - 1) * 2.0,
                (-1 - 1) * 2.0,
            ],
            [0 * 1.0, 1 * 1.0, 2 * 1.0, (3 + 1) * 3.0, (4 + 1) * 3.0, (5 + 1) * 3.0],
        ],
        np.float32,
    )
    np.testing.assert_allclose(out, expect)


def test_per_axis_dequantize() -> None:
    q = np.ones((3, 2), np.int8)
    out = onnx_prep.dequantize(q, np.array([1, 2, 3], np.float32), None, axis=0, block_size=0)
    np.testing.assert_allclose(out, [[1, 1], [2, 2], [3, 3]])


def test_shipped_files_are_folded_and_cached(cache_dir: Path) -> None:
    YuNet(cache_dir=cache_dir).prepare()
    prepared = sorted((cache_dir / "prepared").glob("*.onnx"))
    assert prepared, "preparation must write a cached model"
    model = onnx.load(str(prepared[0]))
    assert not [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    mtimes = [p.stat().st_mtime_ns for p in prepared]
    YuNet(cache_dir=cache_dir).prepare()  # a second start loads the cache, builds nothing
    assert [p.stat().st_mtime_ns for p in prepared] == mtimes


def test_calibration_id_follows_the_folder(tmp_path: Path, hopper) -> None:
    import cv2

    assert onnx_prep.calibration_id(None) == "demo"
    cv2.imwrite(str(tmp_path / "a.jpg"), hopper)
    first = onnx_prep.calibration_id(tmp_path)
    cv2.imwrite(str(tmp_path / "b.png"), hopper)
    assert first.startswith("dir") and onnx_prep.calibration_id(tmp_path) != first
