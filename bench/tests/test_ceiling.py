"""The still-photo bound of the door benchmark: fewest misses with zero false opens when the
thresholds are picked in hindsight. Made-up score matrices (rows visits, columns residents),
then one small real run on LFW when the shared data is there."""

from __future__ import annotations

import numpy as np
import pytest

from bench.tests.conftest import require_data
from facegate_bench import ceiling

NEG = -1.0  # a resident's score for someone else


def matrix(rows: list[tuple[int, float]], n: int = 3) -> np.ndarray:
    """One row per visit: (column of its best resident, that score); every other column NEG."""
    m = np.full((len(rows), n), NEG, np.float32)
    for i, (col, score) in enumerate(rows):
        m[i, col] = score
    return m


def test_one_gate_keeps_every_resident_above_the_highest_stranger() -> None:
    votes = matrix([(0, 0.5), (1, 0.7), (2, 0.8), (1, 0.6)])  # last row: a stranger at 0.6
    truth = np.array([0, 1, 2, ceiling.STRANGER])
    r = ceiling.ceiling(votes, truth)
    assert r["missed"] == 1 and r["threshold"] == pytest.approx(0.7)
    assert r["highest_impostor"] == pytest.approx(0.6)
    # the calibrated-style check at that threshold: no false open, the same one miss
    assert ceiling.at_thresholds(votes, truth, 0.7) == {
        "false_opens": 0,
        "missed": 1,
        "missed_pct": pytest.approx(33.33),
        "false_open_pairs": [],
    }
    looser = ceiling.at_thresholds(votes, truth, 0.55)
    assert looser["false_opens"] == 1 and looser["false_open_pairs"] == [(3, 1)]  # as resident 1


def test_a_resident_matched_best_to_someone_else_is_a_miss_and_an_impostor() -> None:
    votes = matrix([(1, 0.9), (1, 0.8)])  # visit 0 is resident 0, but looks most like 1
    truth = np.array([0, 1])
    r = ceiling.ceiling(votes, truth)
    assert r["best_match_is_someone_else"] == 1
    assert r["missed"] == 2  # resident 1 (0.8) cannot be opened without also opening 0 as 1


def test_second_gate_rescues_a_resident_the_first_alone_would_lose() -> None:
    votes = matrix([(0, 0.80), (1, 0.95), (2, 0.90)])
    confirm = matrix([(0, 0.90), (1, 0.50), (2, 0.20)])  # the stranger (row 2) fails confirm
    truth = np.array([0, 1, ceiling.STRANGER])
    alone = ceiling.ceiling(votes, truth)
    both = ceiling.ceiling(votes, truth, confirm)
    assert alone["missed"] == 1  # 0.80 is below the stranger's 0.90
    assert both["missed"] == 0
    assert both["threshold"] == pytest.approx(0.80)
    assert 0.2 < both["confirm_threshold"] <= 0.5
    assert ceiling.at_thresholds(votes, truth, 0.8, confirm, 0.3)["false_opens"] == 0


def test_no_face_is_a_miss_for_a_resident_and_never_an_open() -> None:
    votes = matrix([(0, 0.9), (0, 0.0)])
    votes[1] = -np.inf  # a stranger's photo without a face
    votes = np.vstack([votes, np.full((1, 3), -np.inf, np.float32)])  # a resident's, no face
    truth = np.array([0, ceiling.STRANGER, 1])
    r = ceiling.ceiling(votes, truth)
    assert r["missed"] == 1 and r["highest_impostor"] is None


@pytest.mark.data
@pytest.mark.slow
def test_bound_on_a_small_lfw_plan(engine) -> None:
    root = require_data("lfw")
    report = ceiling.run(engine, root, residents=4, strangers=20, seed=5, progress=False)
    assert report["resident_visits"] > 0 and report["stranger_visits"] == 20
    for rule, r in report["bound"].items():
        # the bound picks its thresholds in hindsight, so no calibrated rule can beat it
        calibrated = [c for name, c in report["calibrated"].items() if name.startswith(rule)]
        for c in calibrated:
            if c["false_opens"] == 0:
                assert r["missed"] <= c["missed"], rule
    assert set(report["bound"]) >= {"sface", "reid", "fusion", "sface votes, reid confirms"}
    pv = report["per_visit"]["sface at 1e-05, reid at 0.0001"]
    assert pv["strangers"] == 20 and pv["both"]["k"] <= pv["vote"]["k"]
    looser = pv["confirm_given_vote"]  # strangers past looser votes: never fewer
    assert looser["0.001"][1] >= looser["0.0001"][1] >= looser["1e-05"][1] == pv["vote"]["k"]


def test_a_resident_with_no_enrolled_photo_is_always_missed() -> None:
    votes = matrix([(0, 0.9), (1, 0.95)])  # visit 1: a resident whose enrolment failed
    truth = np.array([0, ceiling.NOT_ENROLLED])
    r = ceiling.ceiling(votes, truth)
    assert r["residents"] == 2 and r["strangers"] == 0
    # opening visit 1 would admit them as resident 1, so 0.95 is an impostor score
    assert r["missed"] == 2 and r["highest_impostor"] == pytest.approx(0.95)


def test_recognised_counts_right_matches_at_the_threshold_among_residents_only() -> None:
    votes = matrix([(0, 0.6), (1, 0.4), (0, 0.7), (2, 0.9)])  # visit 2 is resident 1, seen as 0
    truth = np.array([0, 1, 1, ceiling.STRANGER])
    assert ceiling.recognised(votes, truth, 0.5) == pytest.approx(100 / 3, abs=0.01)
    assert ceiling.recognised(votes, truth, 0.3) == pytest.approx(200 / 3, abs=0.01)


def test_upper_bound_is_the_clopper_pearson_one_sided_limit() -> None:
    assert ceiling.upper_bound(0, 2000) == pytest.approx(1 - 0.05 ** (1 / 2000))  # ~3/n
    assert ceiling.upper_bound(5, 100) == pytest.approx(0.1023, abs=1e-4)
    assert ceiling.upper_bound(3, 3) == 1.0


def test_per_visit_counts_strangers_passing_each_gate_on_their_best_resident() -> None:
    votes = matrix([(0, 0.9), (1, 0.6), (0, 0.7), (1, 0.2)])  # two residents, two strangers
    confirm = matrix([(0, 0.9), (1, 0.9), (0, 0.8), (1, 0.9)])
    truth = np.array([0, 1, ceiling.STRANGER, ceiling.STRANGER])
    r = ceiling.per_visit(votes, truth, 0.5, confirm, 0.85)
    assert r["strangers"] == 2
    assert r["vote"]["k"] == 1 and r["confirm"]["k"] == 1  # each gate fooled once ...
    assert r["both"]["k"] == 0  # ... by different strangers, so nobody gets in
    assert r["independent"] == pytest.approx(0.25)


def test_the_visit_is_the_centred_face_not_the_largest() -> None:
    from facegate.models.base import Face
    from facegate_bench.lfw import centre_face

    def face(x, y, w, h) -> Face:
        return Face(np.array([x, y, w, h], np.float32), np.zeros((5, 2), np.float32), 0.9)

    big_at_edge = face(170, 40, 90, 110)  # someone else in shot
    centred = face(90, 80, 70, 90)
    assert centre_face([big_at_edge, centred], (250, 250, 3)) is centred
