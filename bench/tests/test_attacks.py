"""Rendered presentation attacks (`facegate_bench.attacks`): their clips, the runtime's liveness
against them (a flat print or screen moves as a plane; a resident's printed photo never opens the
door), and the door benchmark's attack visits (planned, counted as false opens, decided by
liveness). Moved here from tests/runtime/liveness: they need the renderers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.tests.conftest import require_data, write_image
from bench.tests.test_clips import HOPPER_CROP
from facegate import api
from facegate.cli import main
from facegate.gallery.store import SQLiteGallery
from facegate.models.base import Face
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness import LivenessConfig, MotionConfig, NoLiveness, build_liveness
from facegate.runtime.quality import QualityConfig
from facegate_bench import door
from facegate_bench.attacks import ATTACK_KINDS, render_attack, render_attack_visit
from facegate_bench.door import Visit, plan_attacks
from tests.runtime.liveness.test_door import run_door
from tests.runtime.liveness.test_motion import motion_verdict


@pytest.fixture(scope="module")
def hopper_face(engine, hopper) -> Face:
    return engine.detect(hopper)[0]


@pytest.fixture
def hopper_gallery(tmp_path, engine, hopper_path) -> Path:
    path = tmp_path / "gallery.sqlite"
    with SQLiteGallery(path) as store:
        assert api.enroll(engine, store, "Grace Hopper", [hopper_path]).accepted
    return path


# -- the clips and the planar-motion check -------------------------------------------------------


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_rendered_attacks_move_as_a_plane(engine, hopper, hopper_face, kind) -> None:
    box = tuple(float(v) for v in hopper_face.bbox)
    clip = render_attack(
        hopper, np.random.default_rng(1), kind=kind, face_box=box, approach=True, duration_s=2.0
    )
    assert len(clip.frames) == len(clip.face_boxes) == len(clip.homographies) == 30
    v = motion_verdict(engine, clip.frames, MotionConfig())
    assert v.checked and v.live is False, v.to_dict()


def test_attack_clip_is_reproducible_and_shaped_like_a_visit(hopper) -> None:
    lfw_like = cv2.resize(hopper, (250, 250))
    a = render_attack_visit(lfw_like, np.random.default_rng(7), kind="screen")
    b = render_attack_visit(lfw_like, np.random.default_rng(7), kind="screen")
    assert len(a.frames) == 30 and a.fps == 15.0 and a.kind == "screen"
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.frames[0].shape == (480, 640, 3) and a.frames[0].dtype == np.uint8
    assert 0 <= a.first_visible < len(a.frames)
    with pytest.raises(ValueError, match="kind"):
        render_attack(hopper, np.random.default_rng(0), kind="mask")  # type: ignore[arg-type]


# -- at the door ----------------------------------------------------------------------------------


def test_residents_printed_photo_never_opens_the_door(
    engine, hopper, hopper_face, hopper_gallery
) -> None:
    box = tuple(float(v) for v in hopper_face.bbox)
    clip = render_attack(
        hopper, np.random.default_rng(3), kind="print", face_box=box, approach=True, duration_s=3.0
    )
    events = run_door(engine, hopper_gallery, clip.frames, build_liveness(LivenessConfig(), engine))
    assert not [e for e in events if e.decision is Decision.OPEN], [e.to_dict() for e in events]
    denied = [e for e in events if e.decision is Decision.DENY]
    assert denied and denied[0].person == "Grace Hopper"
    assert denied[0].snapshot is not None  # journalled with its best shot
    assert denied[0].reason == "presentation attack suspected (motion)"
    assert denied[0].liveness["checked"] and denied[0].liveness["live"] is False


# -- the door benchmark's attack visits --------------------------------------------------------


def _event(decision: Decision, person: str | None, live: bool | None) -> DoorEvent:
    return DoorEvent(
        decision,
        "bench",
        "",
        track=1,
        person=person,
        liveness={"checked": live is not None, "live": live, "method": "motion"},
    )


def test_plan_attacks_shows_each_resident_their_own_photo() -> None:
    enrol = {"Ann": ["Ann/1.jpg", "Ann/2.jpg"], "Bob": ["Bob/1.jpg"]}
    visits = [
        Visit("resident", "Ann", "Ann/3.jpg"),
        Visit("resident", "Bob", "Bob/2.jpg"),
        Visit("stranger", "Cy", "Cy/1.jpg"),
    ]
    planned = plan_attacks(enrol, visits, 40, seed=3)
    assert planned == plan_attacks(enrol, visits, 40, seed=3)  # reproducible
    assert [v.kind for v in planned[:4]] == ["print", "screen", "print", "screen"]
    for v in planned:
        assert v.image.split("/")[0] == v.person  # the resident's own photo
        assert v.person in enrol and v.image != "Cy/1.jpg"
    shown = {v.image for v in planned}
    assert "Ann/3.jpg" in shown and "Ann/1.jpg" in shown  # held-out and enrolled photos
    assert plan_attacks(enrol, visits, 0, seed=3) == []


def test_admitted_attack_is_a_false_open_reported_apart(tmp_path, hopper, monkeypatch) -> None:
    """The benchmark's accounting: an attack visit that opens the door is a false open, counted
    with the attacks (by kind), never with strangers; the outcome says what stopped the others."""
    root = tmp_path / "lfw"
    (root / "gray" / "Grace_Hopper").mkdir(parents=True)
    write_image(
        root / "gray" / "Grace_Hopper" / "Grace_Hopper_0001.jpg", cv2.resize(hopper, (250, 250))
    )
    scripted = iter(
        [
            [_event(Decision.OPEN, "Grace_Hopper", None)],  # admitted: liveness let it through
            [_event(Decision.DENY, "Grace_Hopper", False)],  # recognised, liveness: attack
            [_event(Decision.DENY, "Grace_Hopper", None)],  # recognised, never shown to be live
            [_event(Decision.UNKNOWN, None, None)],  # not recognised at all
        ]
    )
    monkeypatch.setattr(door, "run_visit", lambda *a, **k: (next(scripted), None, 10, 0.1, 0.1))
    planned = [
        door.Visit(kind, "Grace_Hopper", "Grace_Hopper/Grace_Hopper_0001.jpg")
        for kind in ("print", "screen", "print", "screen")
    ]
    results = door.run_attacks(
        None,
        None,
        root,
        planned,
        NoLiveness(),
        decision=DecisionConfig(),
        quality=None,
        seed=0,
        fps=15.0,
        duration_s=0.4,
        progress=False,
    )
    assert [r.outcome for r in results] == [
        "opened",
        "attack_detected",
        "liveness_not_established",
        "not_recognised",
    ]
    assert [r.false_open for r in results] == [True, False, False, False]
    stranger = door.VisitResult(
        door.Visit("stranger", "X", "X/1.jpg"), None, None, 5, 6, 0.1, 0.1, ["unknown"]
    )
    s = door.DoorBenchReport([stranger, *results], 1, 0).summary()
    assert s["false_opens"] == 1 and s["attack_opens"] == 1 and s["false_opens_stranger"] == 0
    assert s["stranger_visits"] == 1 and s["attack_visits"] == 4
    assert s["attacks_by_kind"]["print"] == {
        "visits": 2,
        "opens": 1,
        "attack_detected": 0,
        "liveness_not_established": 1,
        "denied_other": 0,
        "not_recognised": 0,
    }
    assert s["attacks_by_kind"]["screen"]["attack_detected"] == 1
    assert s["attacks_recognised"] == 3
    text = door.DoorBenchReport([stranger, *results], 1, 0).to_text()
    assert "attack opens (false opens): 1" in text
    json.dumps(s)


def test_liveness_verdict_decides_an_attack_visit(engine, hopper, hopper_gallery) -> None:
    """The same rendered attack visit (Grace Hopper's enrolment photo on a screen) through the
    door benchmark's runtime: without liveness the door opens for it - a false open - and with
    the default liveness policy it is denied as a presentation attack."""
    x, y, side = HOPPER_CROP  # Grace Hopper framed like an LFW photo
    face = cv2.resize(hopper[y : y + side, x : x + side], (250, 250), interpolation=cv2.INTER_AREA)
    clip = render_attack_visit(face, np.random.default_rng(5), kind="screen", duration_s=3.0)
    with SQLiteGallery(hopper_gallery, create=False) as store:
        off, *_ = door.run_visit(
            engine, store, clip, DecisionConfig(), QualityConfig(), NoLiveness()
        )
        on, *_ = door.run_visit(
            engine,
            store,
            clip,
            DecisionConfig(),
            QualityConfig(),
            build_liveness(LivenessConfig(), engine),
        )
    assert door.attack_outcome(off)[0] == "opened", [e.to_dict() for e in off]
    outcome, verdict = door.attack_outcome(on)
    assert outcome == "attack_detected", [e.to_dict() for e in on]
    assert verdict["checked"] and verdict["live"] is False


@pytest.mark.data
def test_bench_door_cli_runs_attack_visits(engine, capsys, monkeypatch) -> None:
    lfw = require_data("lfw")
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    assert (
        main(
            [
                "bench",
                "door",
                "--data",
                str(lfw),
                "--residents",
                "2",
                "--visits-per-resident",
                "0",
                "--strangers",
                "0",
                "--attacks",
                "2",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    assert s["attack_visits"] == 2 and s["resident_visits"] == 0
    assert set(s["attacks_by_kind"]) == {"print", "screen"}
    assert s["liveness"]["attack"]["checks"] == ["motion"]
    assert s["liveness"]["resident"]["checks"] == []
    assert s["attack_opens"] == 0
