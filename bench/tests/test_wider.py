"""WIDER FACE detection AP: hand-made cases with known answers, and one run on the shared data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from facegate.errors import DataError
from facegate_bench.data import data_dir
from facegate_bench.wider import GTBox, average_precision, evaluate, match, read_ground_truth


def _data_root() -> Path:
    return data_dir("wider-face-val-subset")


def det(x: float, y: float, w: float, h: float, score: float) -> list[float]:
    return [x, y, w, h, score]


FACE_A = GTBox(10, 10, 50, 50)
FACE_B = GTBox(200, 10, 60, 60)


def test_perfect_detector_has_ap_one() -> None:
    gt = {"a.jpg": [FACE_A, FACE_B], "b.jpg": [GTBox(5, 5, 80, 100)], "empty.jpg": []}
    dets = {
        "a.jpg": [det(10, 10, 50, 50, 0.9), det(201, 11, 60, 60, 0.7)],
        "b.jpg": [det(5, 5, 80, 100, 0.95)],
    }
    assert average_precision(dets, gt) == pytest.approx(1.0)


def test_false_positive_ranked_first_halves_ap() -> None:
    gt = {"a.jpg": [FACE_A]}
    dets = {"a.jpg": [det(300, 300, 50, 50, 0.9), det(10, 10, 50, 50, 0.8)]}
    # Ranks: FP (P=0, R=0), TP (P=1/2, R=1) -> AP = 0.5.
    assert average_precision(dets, gt) == pytest.approx(0.5)
    # The same FP ranked last costs nothing: the envelope keeps precision 1 up to recall 1.
    dets = {"a.jpg": [det(300, 300, 50, 50, 0.1), det(10, 10, 50, 50, 0.8)]}
    assert average_precision(dets, gt) == pytest.approx(1.0)


def test_duplicate_detection_is_a_false_positive_and_iou_below_half_misses() -> None:
    gt = {"a.jpg": [FACE_A, FACE_B]}
    dets = {
        "a.jpg": [det(10, 10, 50, 50, 0.9), det(12, 12, 50, 50, 0.8), det(200, 10, 60, 60, 0.7)]
    }
    # TP (1, 1/2), FP (1/2, 1/2), TP (2/3, 1) -> 0.5 * 1 + 0.5 * 2/3.
    assert average_precision(dets, gt) == pytest.approx(0.5 + 1 / 3)
    shifted = {"a.jpg": [det(40, 10, 50, 50, 0.9)]}  # IoU = 1000/4000 < 0.5
    assert average_precision(shifted, {"a.jpg": [FACE_A]}) == pytest.approx(0.0)


def test_ignore_gt_is_neither_tp_nor_fp_nor_positive() -> None:
    crowd = GTBox(300, 300, 30, 30, invalid=True)
    gt = {"a.jpg": [FACE_A, crowd]}
    dets = {"a.jpg": [det(300, 300, 30, 30, 0.95), det(10, 10, 50, 50, 0.6)]}
    m = match(dets, gt)
    assert m.positives == 1
    assert list(m.tp) == [True]  # the detection on the ignore box is not counted at all
    assert m.ap() == pytest.approx(1.0)
    # A zero-area box (present in the real file) is an ignore region too.
    assert match({}, {"a.jpg": [GTBox(706, 94, 0, 1)]}).positives == 0


def test_intercom_setting_keeps_only_faces_of_40px() -> None:
    gt = {"a.jpg": [GTBox(10, 10, 50, 50), GTBox(200, 10, 20, 20)]}
    dets = {
        "a.jpg": [
            det(200, 10, 20, 20, 0.9),  # the small face: TP in all faces, ignored at >= 40 px
            det(500, 500, 10, 10, 0.85),  # small FP: ignored at >= 40 px
            det(10, 10, 50, 50, 0.8),  # the big face
            det(600, 600, 60, 60, 0.5),  # big FP: counted in both, but ranked after the TP
        ]
    }
    # All faces: TP (1, 1/2), FP (1/2, 1/2), TP (2/3, 1), FP -> 0.5 * 1 + 0.5 * 2/3.
    assert average_precision(dets, gt) == pytest.approx(0.5 + 1 / 3)
    m = match(dets, gt, min_size=40)
    assert m.positives == 1
    assert list(m.tp) == [True, False]
    assert m.ap() == pytest.approx(1.0)
    assert m.recall_at(0.6) == pytest.approx(1.0)
    assert m.precision_at(0.3) == pytest.approx(0.5)
    # A slightly small box on a 42 px face still matches it: matching comes before the size rule.
    near = {"a.jpg": [det(11, 11, 38, 38, 0.9)]}
    assert average_precision(near, {"a.jpg": [GTBox(10, 10, 42, 42)]}, min_size=40) == 1.0


def test_no_positives_gives_nan() -> None:
    assert math.isnan(average_precision({"a.jpg": [det(0, 0, 50, 50, 0.9)]}, {"a.jpg": []}))


def test_read_ground_truth_official_format(tmp_path: Path) -> None:
    (tmp_path / "wider_face_val_bbx_gt_subset.txt").write_text(
        "0--Parade/a.jpg\n2\n1 2 30 40 2 0 0 0 1 0 \n5 6 7 8 0 1 1 1 2 1 \n"
        "0--Parade/none.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n"
        "0--Parade/c.jpg\n1\n9 9 45 50 0 0 0 0 0 0 \n"
    )
    gt = read_ground_truth(tmp_path)
    assert list(gt) == ["0--Parade/a.jpg", "0--Parade/none.jpg", "0--Parade/c.jpg"]
    assert gt["0--Parade/a.jpg"][1] == GTBox(5, 6, 7, 8, 0, 1, 1, True, 2, 1)
    assert gt["0--Parade/none.jpg"] == []
    assert gt["0--Parade/c.jpg"] == [GTBox(9, 9, 45, 50)]


def test_missing_data_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_ground_truth(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"wider_face_val_bbx_gt_subset\.txt"):
        evaluate(tmp_path, progress=False)


@pytest.mark.data
@pytest.mark.slow
def test_evaluate_on_shared_wider_subset() -> None:
    root = _data_root()
    if not root.is_dir():
        pytest.skip(f"WIDER FACE subset not found at {root} (set FACEGATE_DATA)")
    report = evaluate(root, progress=False)
    print(report.to_text())
    assert report.images == 351
    assert report.gt_boxes == 5075
    assert (report.all_faces.positives, report.intercom.positives) == (4869, 800)
    # Measured: AP 0.698 (all) and 0.962 (>= 40 px), recall@0.6 0.931 (>= 40 px).
    assert report.all_faces.ap > 0.6
    assert report.intercom.ap > 0.9
    assert report.intercom.recall_at_op > 0.85
    assert report.ms_per_image > 0
    assert json.loads(json.dumps(report.to_dict()))["images"] == 351
