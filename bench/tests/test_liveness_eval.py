"""`facegate eval liveness` (`facegate_bench.liveness_eval`): a track's outcome is what the
stage said at any frame, and the report counts tracks per kind and times each check."""

from __future__ import annotations

import numpy as np

from facegate.models.base import Face
from facegate.runtime.liveness import LivenessVerdict
from facegate_bench.liveness_eval import CheckTimer, LivenessReport, TrackRun, run_stage


class Stage:
    """Says live from the 5th observed frame of a track on, undecided before."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.checks = {"passive": self}
        self.looks = 0

    def observe(self, track_id, image, face, *rest) -> None:
        self.seen[track_id] = self.seen.get(track_id, 0) + 1
        self.looks += 1

    def verdict(self, track_id) -> LivenessVerdict:
        if self.seen.get(track_id, 0) >= 5:
            return LivenessVerdict(True, True, "passive", 0.9)
        return LivenessVerdict(False, None, "passive", note="wait")

    def forget(self, track_id) -> None:
        self.seen.pop(track_id, None)


def test_outcome_is_what_the_stage_said_at_any_frame() -> None:
    face = Face(np.array([100, 100, 80, 100], np.float32), np.zeros((5, 2), np.float32), 0.9)
    frames = [np.zeros((240, 320, 3), np.uint8)] * 8
    stage = Stage()
    timer = CheckTimer(stage)
    out = run_stage(frames, lambda img: [face], stage)
    assert [(n, outcome, at) for _, n, outcome, at, _ in out] == [(8, "live", 5)]
    assert set(timer.ms_per_face()) == {"passive"} and set(timer.ms_per_look()) == {"passive"}
    short = run_stage(frames[:4], lambda img: [face], Stage(), min_frames=3)
    assert [o for _, _, o, _, _ in short] == ["undecided"]
    rep = LivenessReport(
        "test",
        1,
        {"checks": ["passive"], "need": "all", "on_undecided": "wait"},
        [
            TrackRun("replay:x", "replay", 1, 30, "live", 12),
            TrackRun("print:y", "print", 1, 30, "attack", 11),
            TrackRun("real.mp4", "real", 3, 40, "undecided", None),
        ],
        {"passive": 1.0},
        10.0,
        {"passive": 12.0},
    )
    assert rep.counts()["replay"] == {"n": 1, "live": 1, "attack": 0, "undecided": 0}
    text = rep.to_text()
    assert "replay: 1 tracks, passed (live) 1" in text and "passive 12.0 ms" in text
