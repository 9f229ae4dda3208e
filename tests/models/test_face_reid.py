"""The `face_reid` recogniser (Intel's face-reidentification-retail-0095, shipped inside
FaceGate): its preprocessing is the reference's, it tells people apart at the calibrated
thresholds, its weights are the ones shipped, and the engine builds it from config."""

from __future__ import annotations

import fnmatch
import shutil
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from facegate.config import EngineConfig, RecognizerConfig
from facegate.engine import FaceEngine
from facegate.errors import ModelError
from facegate.models.face_reid import FaceReid
from facegate.models.files import FACE_REID, PackagedFile

REPO = Path(__file__).resolve().parents[2]
#: The reference alignment template (shared models README), in pixels of the 128x128 crop.
README_TEMPLATE = (
    np.array(
        [
            (30.2946 / 96, 51.6963 / 112),
            (65.5318 / 96, 51.5014 / 112),
            (48.0252 / 96, 71.7366 / 112),
            (33.5493 / 96, 92.3655 / 112),
            (62.7299 / 96, 92.2041 / 112),
        ]
    )
    * 128
)


@pytest.fixture(scope="module")
def reid_engine(cache_dir: Path) -> FaceEngine:
    return FaceEngine.from_config(
        {
            "engine": {
                "cache_dir": str(cache_dir),
                "recognizers": [
                    {"name": "sface", "kind": "sface"},
                    {"name": "reid", "kind": "face_reid"},
                ],
            }
        }
    )


def reference_embedding(crop: np.ndarray, channels: str = "bgr", scale: float = 1.0) -> np.ndarray:
    """The shipped ONNX, untouched, run directly: [1,3,128,128] float32."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(
        str(FACE_REID.verified_path()), opts, providers=["CPUExecutionProvider"]
    )
    img = crop[..., ::-1] if channels == "rgb" else crop
    x = img.transpose(2, 0, 1)[None].astype(np.float32) * scale
    e = sess.run(None, {"data": x})[0].reshape(-1)
    return e / np.linalg.norm(e)


def test_crop_is_the_reference_128_bgr_crop_and_raw_pixels_reach_the_network(
    reid_engine: FaceEngine, hopper: np.ndarray
) -> None:
    face = reid_engine.detect(hopper)[0]
    crop = reid_engine.align(hopper, face, "reid")
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
    m, _ = cv2.estimateAffinePartial2D(
        face.landmarks.astype(np.float32), README_TEMPLATE.astype(np.float32), method=cv2.LMEDS
    )
    by_hand = cv2.warpAffine(hopper, m, (128, 128), flags=cv2.INTER_LINEAR, borderValue=0)
    assert np.abs(crop.astype(int) - by_hand.astype(int)).max() <= 1
    ours = reid_engine.embed(hopper, face, model="reid")
    assert ours.shape == (256,) and abs(float(np.linalg.norm(ours)) - 1) < 1e-5
    assert float(ours @ reference_embedding(by_hand)) > 0.9999
    # the check can fail: RGB or 0-1 input gives another embedding
    assert float(ours @ reference_embedding(by_hand, "rgb")) < 0.99
    assert float(ours @ reference_embedding(by_hand, scale=1 / 255)) < 0.99


def test_prepared_graph_replaces_every_prelu_and_takes_any_batch(
    reid_engine: FaceEngine, hopper: np.ndarray
) -> None:
    emb = reid_engine.embedder("reid")
    ops = [n.op_type for n in onnx.load(str(emb.path)).graph.node]
    assert "PRelu" not in ops and ops.count("LeakyRelu") == 48
    face = reid_engine.detect(hopper)[0]
    crop = emb.crops(hopper, [face])[0]
    one = emb.embed_crops([crop])
    three = emb.embed_crops([crop, crop[:, ::-1], crop])
    np.testing.assert_allclose(three[[0, 2]], np.vstack([one, one]), atol=1e-5)
    mirrored = np.ascontiguousarray(crop[:, ::-1])
    flipped = emb.embed_crops([crop], flip=True)[0]
    expected = one[0] + emb.embed_crops([mirrored])[0]
    np.testing.assert_allclose(flipped, expected / np.linalg.norm(expected), atol=1e-5)
    assert emb.embed_crops([]).shape == (0, 256)


def test_engine_embeds_with_reid_from_config(
    reid_engine: FaceEngine, hopper: np.ndarray, hopper_reshot: np.ndarray
) -> None:
    assert reid_engine.version("reid") == FACE_REID.version == "0a6d16b39877"
    assert reid_engine.embedder("reid").uses_arcface_crop is False
    faces = reid_engine.detect(hopper)
    batch = reid_engine.embed_faces(hopper, faces, model="reid", flip=True)
    assert batch.shape == (len(faces), 256)
    assert reid_engine.embed(hopper_reshot, reid_engine.detect(hopper_reshot)[0], "reid").shape == (
        256,
    )
    assert reid_engine.calibration_name("reid") == "reid"


def test_shipped_weights_are_verified_and_carry_their_licence() -> None:
    path = FACE_REID.verified_path()  # sha256 of the installed file
    assert path.parent.name == "face_reid_0095"
    notice = (path.parent / "NOTICE").read_text()
    assert "face-reidentification-retail-0095" in notice and "converted to ONNX" in notice
    assert "Apache License" in (path.parent / "LICENSE").read_text()
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["facegate"]
    for f in ("face_reid_0095_fp32.onnx", "LICENSE", "NOTICE"):
        rel = f"models/weights/face_reid_0095/{f}"
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not package data"


def test_corrupt_weights_are_a_clear_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged copy of the shipped file (one byte changed) is refused before ORT sees it."""
    pkg = tmp_path / "fakegate"
    dest = pkg / FACE_REID.relpath
    dest.parent.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copyfile(FACE_REID.verified_path(), dest)
    data = bytearray(dest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dest.write_bytes(bytes(data))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakegate", raising=False)
    damaged = PackagedFile("fakegate", FACE_REID.relpath, FACE_REID.sha256, "facegate")
    with pytest.raises(ModelError, match=r"corrupt .*pip install --force-reinstall facegate"):
        FaceReid(model=damaged, cache_dir=tmp_path / "cache").prepare()
    dest.unlink()
    with pytest.raises(ModelError, match="missing"):
        FaceReid(model=damaged, cache_dir=tmp_path / "cache").prepare()


def test_a_user_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    from tests.models.test_arcface import tiny_arcface

    path = tiny_arcface(tmp_path / "arcface.onnx", with_normalisation=False)
    cfg = EngineConfig(
        recognizers=[RecognizerConfig(name="mine", kind="face_reid", path=path)],
        model="mine",
        cache_dir=tmp_path,
    )
    with pytest.raises(ModelError, match=r"expected input \[N,3,128,128\]"):
        FaceEngine(cfg).embedder("mine")


def test_same_person_passes_and_another_fails_the_calibrated_threshold(
    reid_engine: FaceEngine,
    hopper: np.ndarray,
    hopper_reshot: np.ndarray,
    astronaut: np.ndarray,
) -> None:
    """Grace Hopper and a re-shot of her (rotated, smaller, darker, JPEG) score above reid's
    FMR 1e-4 threshold; Eileen Collins scores below it against both, alone and fused."""
    emb = {
        m: [
            reid_engine.embed(img, reid_engine.detect(img)[0], m)
            for img in (hopper, hopper_reshot, astronaut)
        ]
        for m in ("sface", "reid")
    }
    t = reid_engine.threshold("reid", 1e-4)
    a, b, c = emb["reid"]
    assert reid_engine.compare(a, b) > t
    assert reid_engine.compare(a, c) < t and reid_engine.compare(b, c) < t
    fused_t = reid_engine.fusion_calibration().threshold(1e-4)

    def fuse(i: int, j: int) -> float:
        return reid_engine.fuse({m: reid_engine.compare(emb[m][i], emb[m][j]) for m in emb})

    assert fuse(0, 1) > fused_t and fuse(0, 2) < fused_t and fuse(1, 2) < fused_t
