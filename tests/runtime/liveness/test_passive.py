"""The passive check's model adapter (MiniFASNet layout): model names, the context crop, and
scores on a real face and a printed one (with the shared model and data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facegate.models.pad import MiniFASNet, context_box, parse_model_name
from tests.conftest import require_data
from tests.runtime.liveness.helpers import require_pad_model


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


def test_minifasnet_scores_live_and_spoof(engine) -> None:
    model = MiniFASNet(require_pad_model()).prepare()
    assert model.scales == [2.7, 4.0]
    assert model.known_threshold(0.02) == pytest.approx(0.0909)
    root = require_data("antispoof")
    from facegate.imageio import load_image

    real = load_image(root / "real" / "silentface" / "image_T1.jpg")  # EXIF-rotated
    spoof = load_image(
        root / "spoof" / "nuaa" / "0001" / sorted(os.listdir(root / "spoof" / "nuaa" / "0001"))[0]
    )
    s_real = float(model.score(real, engine.detect(real)[:1])[0])
    s_spoof = float(model.score(spoof, engine.detect(spoof)[:1])[0])
    assert s_real > 0.5 > 0.05 > s_spoof
