"""`facegate eval pad`: error rates with thresholds fixed on other subjects, never on the
frames they are reported on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.tests.conftest import require_data, require_pad_model, write_image
from facegate.cli import main
from facegate.errors import DataError
from facegate_bench import pad
from facegate_bench.pad import Sample, find_samples, report_passive, threshold_at_bpcer


def test_threshold_at_bpcer_rejects_at_most_the_target() -> None:
    real = np.linspace(0.01, 1.0, 100)
    for target in (0.0, 0.02, 0.05, 0.1):
        t = threshold_at_bpcer(real, target)
        assert (real < t).mean() <= target + 1e-9
    assert threshold_at_bpcer(real, 0.05) == pytest.approx(real[5])
    with pytest.raises(DataError):
        threshold_at_bpcer(np.array([]), 0.05)


def fake_samples() -> list[Sample]:
    """Four NUAA-like subjects: one of them (s4) scores low on real faces; another source
    with a screen attack."""
    out = []
    for subj, real_mu in (("s1", 0.9), ("s2", 0.8), ("s3", 0.85), ("s4", 0.3)):
        for k in range(10):
            out.append(
                Sample(
                    Path(f"r{subj}{k}"),
                    f"nuaa/{subj}/{k}",
                    "nuaa",
                    f"nuaa/{subj}",
                    False,
                    "real",
                    real_mu + 0.01 * k,
                )
            )
            out.append(
                Sample(
                    Path(f"s{subj}{k}"),
                    f"nuaa/{subj}/{k}",
                    "nuaa",
                    f"nuaa/{subj}",
                    True,
                    "print",
                    0.02 + 0.001 * k,
                )
            )
    out.append(Sample(Path("x"), "other/x.jpg", "other", "other", True, "screen", 0.95))
    out.append(Sample(Path("y"), "other/y.jpg", "other", "other", False, "real", None))
    return out


def test_report_is_subject_disjoint() -> None:
    rep = report_passive(fake_samples(), object(), target_bpcer=0.0, folds=4)
    # with target 0 % on the calibration subjects the threshold is the lowest real score
    # among the *other* subjects: s4's real faces (0.3) fall below when s4 is held out
    assert rep.held_out["bpcer"]["errors"] == 10 and rep.held_out["bpcer"]["n"] == 40
    assert rep.held_out["apcer"]["print"]["rate"] == 0.0
    assert rep.fold_thresholds[3] == pytest.approx(0.8)  # fixed on s1-s3 when s4 is out
    assert rep.threshold == pytest.approx(0.3)  # all subjects: what a deployment would use
    assert rep.other["other"]["apcer"]["screen"]["errors"] == 1
    assert rep.no_face == {"real/other": 1}
    d = rep.to_dict()
    json.dumps(d)
    assert d["held_out_subjects"]["acer"] == pytest.approx((0 + 0.25) / 2)
    assert "held-out subjects" in rep.to_text()


def test_find_samples_layout(tmp_path, hopper) -> None:
    for rel in (
        "real/nuaa/0001/a.jpg",
        "spoof/nuaa/0001/b.jpg",
        "spoof/silentface/image_F2.jpg",
        "real/liveness_opencv_x/1.png",
    ):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_image(p, hopper)
    s = {x.rel: x for x in find_samples(tmp_path)}
    assert s["nuaa/0001/a.jpg"].subject == "nuaa/0001" and not s["nuaa/0001/a.jpg"].attack
    assert s["nuaa/0001/b.jpg"].kind == "print"
    assert s["silentface/image_F2.jpg"].kind == "screen"
    assert s["liveness_opencv_x/1.png"].subject == "liveness_opencv_x"
    with pytest.raises(DataError):
        find_samples(tmp_path / "real")


def test_eval_pad_cli_on_a_small_copy(tmp_path, engine, capsys, monkeypatch) -> None:
    """Two NUAA subjects, a few frames each: the command runs end to end on real data."""
    model = require_pad_model()
    root = require_data("antispoof")
    for label in ("real", "spoof"):
        for subj in ("0001", "0002"):
            src = root / label / "nuaa" / subj
            files = sorted(src.iterdir())[:4]
            dst = tmp_path / label / "nuaa" / subj
            dst.mkdir(parents=True)
            for f in files:
                (dst / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    assert (
        main(
            [
                "eval",
                "pad",
                "--data",
                str(tmp_path),
                "--pad-model",
                str(model),
                "--folds",
                "2",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["folds"] == 2 and len(d["fold_thresholds"]) == 2
    assert d["held_out_subjects"]["apcer"]["print"]["n"] == 8
    assert d["held_out_subjects"]["bpcer"]["n"] == 8
    assert d["held_out_subjects"]["apcer"]["print"]["errors"] == 0
    assert pad.CALIBRATION_SOURCE == "nuaa"


# -- the track-level threshold (pad_tracks) -----------------------------------------------------


def nuaa_like(subject: str, attack: bool, scores) -> list[Sample]:
    label = "spoof" if attack else "real"
    return [
        Sample(
            Path(f"{label}/nuaa/{subject}/{subject}_01_00_01_{10 * k}.jpg"),
            f"nuaa/{subject}/{subject}_01_00_01_{10 * k}.jpg",
            "nuaa",
            f"nuaa/{subject}",
            attack,
            "print" if attack else "real",
            s,
        )
        for k, s in enumerate(scores)
    ]


def test_tracks_threshold_halves_and_the_real_clip_cap() -> None:
    from facegate_bench.pad_tracks import choose_threshold, halves_report, nuaa_tracks

    samples = []
    for i, subj in enumerate(["0001", "0002", "0003", "0004"]):
        real = [0.9 - 0.1 * i] * 6 + [0.2 + 0.1 * i] * 6  # two tracks of 6 frames
        samples += nuaa_like(subj, False, real) + nuaa_like(subj, True, [0.01] * 6)
    tracks = nuaa_tracks(samples, 6)
    assert len(tracks) == 12 and {t.score for t in tracks if t.attack} == {0.01}
    # runs in frame order: the first 6 frames (0.8) are one track, the next 6 (0.3) another
    real2 = [t.score for t in tracks if t.subject == "nuaa/0002" and not t.attack]
    assert real2 == pytest.approx([0.8, 0.3])
    assert choose_threshold([0.2, 0.5, 0.9], [0.8], 0.0) == pytest.approx(0.2)
    assert choose_threshold([0.2, 0.5, 0.9], [0.8], 0.34) == pytest.approx(0.5)
    assert choose_threshold([0.2, 0.5, 0.9], [0.4], 0.34) == pytest.approx(0.4)  # no clip refused
    rep = halves_report(
        samples, [{"clip": "c", "track": 1, "score": 0.95}], samples_per_track=6, target_bpcer=0.0
    )
    assert [s["calibration_subjects"] for s in rep["splits"]] == [
        ["nuaa/0001", "nuaa/0003"],
        ["nuaa/0002", "nuaa/0004"],
    ]
    first = rep["splits"][0]  # fixed on 0001/0003's real tracks (lowest 0.2), held out on others
    assert first["threshold"] == pytest.approx(0.2)
    assert first["test_tracks"]["apcer"]["errors"] == 0
    assert first["test_tracks"]["bpcer"]["errors"] == 0 and first["clip_tracks_refused"] == 0
    assert rep["threshold_all_subjects"] == pytest.approx(0.2)
