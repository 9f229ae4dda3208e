"""The passive PAD model adapter (`models/pad.py`, MiniFASNet layout): the shipped pair loads
with its sha256 checked, model names, the context crop, Silent-Face's pre-processing checked
against a direct ONNX Runtime run, and scores on a real face and a printed one."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from facegate.errors import ModelError
from facegate.models import files
from facegate.models.pad import SHIPPED_NAME, MiniFASNet, context_box, parse_model_name
from tests.conftest import require_data

SHIPPED_SHA256 = {
    "2.7_80x80_MiniFASNetV2.onnx": (
        "f8b3a873f2f0dd4512072e31fd1b2fbaa0d74a405f1f45caede99575e3981750"
    ),
    "4_0_0_80x80_MiniFASNetV1SE.onnx": (
        "039bf3f404e5157b2fb799937d926e578253df0d7956436d791a21b38c06ce34"
    ),
}


def test_shipped_pair_loads_by_default_with_sha256_checked() -> None:
    model = MiniFASNet().prepare()  # no path: the shipped files
    assert [f.path.name for f in model.files] == list(SHIPPED_SHA256)
    assert model.scales == [2.7, 4.0]
    for f in model.files:
        assert files.sha256_file(f.path) == SHIPPED_SHA256[f.path.name]
        folder = f.path.parent
        assert (folder / "LICENSE").is_file() and "Apache" in (folder / "LICENSE").read_text()
        notice = (folder / "NOTICE").read_text()
        assert "Silent-Face-Anti-Spoofing" in notice and "Apache" in notice
    assert model.known_threshold(0.02) is not None  # the shipped pair has measured thresholds
    assert SHIPPED_NAME.startswith("minifasnet")


def test_shipped_file_with_another_sha256_is_refused(monkeypatch) -> None:
    wrong = tuple(replace(f, sha256="0" * 64) for f in files.MINIFASNET)
    monkeypatch.setattr("facegate.models.pad.MINIFASNET", wrong)
    with pytest.raises(ModelError, match=r"corrupt .*reinstall"):
        MiniFASNet().prepare()


def test_a_user_path_still_works(tmp_path) -> None:
    one = tmp_path / "2.7_80x80_MiniFASNetV2.onnx"
    one.write_bytes(files.MINIFASNET[0].verified_path().read_bytes())
    model = MiniFASNet(one).prepare()
    assert model.scales == [2.7] and model.files[0].path == one
    assert model.known_threshold(0.02) is None  # never measured alone


def test_model_name_and_context_crop() -> None:
    assert parse_model_name(Path("2.7_80x80_MiniFASNetV2.onnx")) == (2.7, 80, 80)
    assert parse_model_name(Path("4_0_0_80x80_MiniFASNetV1SE.onnx")) == (4.0, 80, 80)
    assert parse_model_name(Path("org_1_80x60_x.onnx")) == (None, 80, 60)
    # enlarged about the centre, then shifted back inside the image
    assert context_box((100, 100, 50, 50), 2.0, 640, 480) == (75, 75, 175, 175)
    x0, y0, x1, y1 = context_box((0, 0, 50, 50), 4.0, 640, 480)
    assert (x0, y0) == (0, 0) and (x1, y1) == (200, 200)
    # the scale shrinks when the enlarged box cannot fit
    x0, y0, x1, y1 = context_box((200, 100, 200, 200), 4.0, 640, 480)
    assert y0 == 0 and y1 == 479 and x1 - x0 == pytest.approx(479, abs=1)


def reference_input(bgr: np.ndarray, box, scale: float) -> np.ndarray:
    """Silent-Face-Anti-Spoofing's CropImage and transform, written out again from its
    README: box enlarged by `scale` about its centre (scale shrunk to fit), shifted back
    inside, crop, 80x80, BGR float32 raw 0-255, CHW."""
    src_h, src_w = bgr.shape[:2]
    x, y, w, h = box
    scale = min((src_h - 1) / h, min((src_w - 1) / w, scale))
    nw, nh = w * scale, h * scale
    cx, cy = w / 2 + x, h / 2 + y
    ltx, lty, rbx, rby = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if ltx < 0:
        rbx -= ltx
        ltx = 0
    if lty < 0:
        rby -= lty
        lty = 0
    if rbx > src_w - 1:
        ltx -= rbx - src_w + 1
        rbx = src_w - 1
    if rby > src_h - 1:
        lty -= rby - src_h + 1
        rby = src_h - 1
    crop = bgr[int(lty) : int(rby) + 1, int(ltx) : int(rbx) + 1]
    return cv2.resize(crop, (80, 80)).astype(np.float32).transpose(2, 0, 1)


def test_preprocessing_matches_a_direct_onnxruntime_run(engine, hopper) -> None:
    """The adapter's score equals ONNX Runtime run by hand on the reference crops, for a face
    in the middle and one near the edge (shifted back inside), at both scales."""
    model = MiniFASNet().prepare()
    h = hopper.shape[0]
    face = engine.detect(hopper)[0]
    x, y, bw, bh = (float(v) for v in face.bbox)
    boxes = [(x, y, bw, bh), (2.0, h - bh * 0.8, bw * 0.7, bh * 0.7)]
    expect = np.zeros(len(boxes))
    for f in model.files:
        sess = ort.InferenceSession(str(f.path), providers=["CPUExecutionProvider"])
        batch = np.stack([reference_input(hopper, b, f.scale) for b in boxes])
        logits = sess.run(None, {sess.get_inputs()[0].name: batch})[0].astype(np.float64)
        e = np.exp(logits - logits.max(1, keepdims=True))
        expect += (e / e.sum(1, keepdims=True))[:, 1] / len(model.files)
    got = model.score(hopper, boxes)
    np.testing.assert_allclose(got, expect, atol=1e-5)


def test_minifasnet_scores_live_and_spoof(engine) -> None:
    model = MiniFASNet().prepare()
    root = require_data("antispoof")
    from facegate.imageio import load_image

    real = load_image(root / "real" / "silentface" / "image_T1.jpg")  # EXIF-rotated
    spoof = load_image(
        root / "spoof" / "nuaa" / "0001" / sorted(os.listdir(root / "spoof" / "nuaa" / "0001"))[0]
    )
    s_real = float(model.score(real, engine.detect(real)[:1])[0])
    s_spoof = float(model.score(spoof, engine.detect(spoof)[:1])[0])
    assert s_real > 0.5 > 0.05 > s_spoof
