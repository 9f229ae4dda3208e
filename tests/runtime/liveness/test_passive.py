"""The passive check (`runtime/liveness/passive.py`): its track rule (every `every`-th frame
until `samples` scores, their mean against the threshold), the default threshold of the
shipped model, and stills of a print and a screen refused by the default configuration.
(The model adapter itself: tests/models/test_pad.py.)"""

from __future__ import annotations

import os

import numpy as np
import pytest

from facegate.errors import ConfigError
from facegate.models.base import Face
from facegate.models.pad import MiniFASNet
from facegate.runtime.liveness import (
    LivenessConfig,
    PassiveCheck,
    PassiveConfig,
    build_liveness,
    check_image,
    passive_threshold,
    still_image_config,
)
from tests.conftest import require_data


class Scripted:
    """A model that returns the next score of a script."""

    path = "scripted"

    def __init__(self, scores) -> None:
        self.scores = list(scores)
        self.calls = 0

    def score(self, image, faces) -> np.ndarray:
        self.calls += 1
        return np.array([self.scores.pop(0)], np.float32)

    def default_threshold(self):
        return None

    def known_threshold(self, target):
        return None


FACE = Face(np.array([100.0, 100.0, 80.0, 100.0]), np.zeros((5, 2)), 0.9)
IMG = np.zeros((480, 640, 3), np.uint8)


def run(check: PassiveCheck, frames: int) -> None:
    for t in range(frames):
        check.observe(1, IMG, FACE, t)


def test_scores_every_other_frame_and_decides_on_the_mean_of_six() -> None:
    cfg = PassiveConfig()
    assert (cfg.every, cfg.samples) == (2, 6)
    model = Scripted([0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.0, 0.0])
    check = PassiveCheck(model, cfg, threshold=0.5)
    run(check, 10)  # frames 0, 2, 4, 6, 8 scored
    v = check.verdict(1)
    assert model.calls == 5 and not v.checked and "5 of 6" in v.note
    run(check, 4)  # one more score, then the check stops scoring
    v = check.verdict(1)
    assert model.calls == 6 and v.checked and v.live is True
    assert v.score == pytest.approx(np.mean([0.9, 0.9, 0.1, 0.9, 0.9, 0.9]))
    low = PassiveCheck(Scripted([0.3] * 6), cfg, threshold=0.5)
    run(low, 12)
    assert low.verdict(1).checked and low.verdict(1).live is False


def test_thresholds_of_the_shipped_and_of_an_unknown_model() -> None:
    shipped = MiniFASNet().prepare()
    assert passive_threshold(shipped, PassiveConfig()) == shipped.default_threshold()
    assert passive_threshold(shipped, PassiveConfig(target_bpcer=0.02)) == pytest.approx(0.0909)
    assert passive_threshold(shipped, PassiveConfig(threshold=0.7)) == 0.7
    with pytest.raises(ConfigError, match="threshold"):
        passive_threshold(Scripted([]), PassiveConfig())


@pytest.mark.data
@pytest.mark.parametrize(
    ("kind", "rel"),
    [
        ("print", "spoof/nuaa/0002"),
        ("print", "spoof/nuaa/0007"),
        ("screen", "spoof/inspireface/rgb_fake.jpg"),
        ("screen", "spoof/silentface/image_F2.jpg"),
    ],
)
def test_print_and_screen_stills_are_refused_by_default(engine, kind, rel) -> None:
    """A still has no motion: only the passive check applies, with the default config."""
    from facegate.imageio import load_image

    path = require_data("antispoof") / rel
    if path.is_dir():
        path = path / sorted(os.listdir(path))[0]
    liveness = build_liveness(still_image_config(LivenessConfig()), engine)
    faces = check_image(engine, liveness, load_image(path))
    assert faces, f"no face in {rel}"
    assert faces[0]["checked"] and faces[0]["live"] is False, faces[0]
