"""Rendered presentation attacks (`facegate_bench.attacks`, `facegate_bench.replay`): their clips,
the runtime's liveness against them (a flat print or screen moves as a plane; a resident's printed
photo never opens the door), video replays on a screen (deterministic, enrolled from frames they
never show), and the door benchmark's attack visits (planned, counted as false opens, decided by
liveness). Moved here from tests/runtime/liveness: they need the renderers."""

from __future__ import annotations

import json
import math
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
from facegate_bench.replay import ReplaySource, load_replay_source, render_replay, replay_person
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
    # the default liveness since issue 14 has the passive model too, which usually speaks first
    # (with the motion check alone this was "(motion)")
    reason = denied[0].reason  # "(passive)", "(screen)", "(passive+motion)", ...
    assert reason.startswith("presentation attack suspected (") and reason.endswith(")")
    assert set(reason.split("(")[1][:-1].split("+")) <= {"passive", "motion", "screen"}
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
                "3",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    assert s["attack_visits"] == 3 and s["resident_visits"] == 0
    assert {k: v["visits"] for k, v in s["attacks_by_kind"].items()} == {
        "print": 1,
        "screen": 1,
        "replay": 1,
    }
    # the default liveness since issue 14 (it was ["motion"])
    assert s["liveness"]["attack"]["checks"] == ["passive", "motion", "screen"]
    assert s["liveness"]["resident"]["checks"] == []
    # the replayed people are residents, enrolled from frames their replays never show
    enrolled = s["replayed_residents"]
    assert enrolled and all(v["accepted"] for v in enrolled.values() if "error" not in v)
    for v in enrolled.values():
        if "error" not in v:
            assert max(v["enrol_frames"]) < v["replay_frames"][0]
    assert s["attack_opens"] == 0


# -- video replays on a screen ------------------------------------------------------------------


def synthetic_source(hopper) -> ReplaySource:
    """A replay source without the shared clips: Grace Hopper's portrait, the face drifting a
    little from frame to frame as in a video."""
    content, boxes = [], []
    for k in range(12):
        m = np.float32([[1, 0, 3 * math.sin(k / 2)], [0, 1, 2 * math.cos(k / 3)]])
        img = cv2.warpAffine(hopper, m, (hopper.shape[1], hopper.shape[0]))
        content.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
        boxes.append((182.6 + m[0, 2], 120.0 + m[1, 2], 170.0, 212.5))
    return ReplaySource("hopper.mp4", replay_person("hopper.mp4"), 15.0, [], content, boxes)


def test_replay_renderer_is_deterministic_and_moves_the_screen(hopper) -> None:
    src = synthetic_source(hopper)
    a = render_replay(src, np.random.default_rng([4, 2]), duration_s=1.5)
    b = render_replay(src, np.random.default_rng([4, 2]), duration_s=1.5)
    assert a.kind == "replay" and len(a.frames) == 22 == len(a.face_boxes)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.face_boxes == b.face_boxes and a.first_visible == b.first_visible
    c = render_replay(src, np.random.default_rng([4, 3]), duration_s=1.5)
    assert not np.array_equal(a.frames[-1], c.frames[-1])  # another seed, another visit
    seen = [box for box in a.face_boxes if box is not None]
    assert len(seen) > 10 and max(w for *_, w, _ in seen) > 1.5 * min(w for *_, w, _ in seen)
    assert a.frames[0].shape == (480, 640, 3)


def test_plan_attacks_with_replays_plays_the_enrolled_clips() -> None:
    enrol = {"Ann": ["Ann/1.jpg"], "Bob": ["Bob/1.jpg"]}
    clips = ["a/x.mp4", "b/y.gif"]
    planned = plan_attacks(enrol, [], 30, seed=1, replays=clips)
    assert [v.kind for v in planned[:6]] == ["print", "screen", "replay"] * 2
    replays = [v for v in planned if v.kind == "replay"]
    assert len(replays) == 10 and {v.image for v in replays} == set(clips)
    assert all(v.person == replay_person(v.image) for v in replays)
    assert planned == plan_attacks(enrol, [], 30, seed=1, replays=clips)


@pytest.mark.data
def test_replay_source_enrols_frames_it_never_replays(engine) -> None:
    video = require_data("video")
    rel = "intel_sample_videos/head-pose-face-detection-male.gif"
    src = load_replay_source(video / rel, engine.detect, clip=rel)
    enrolled, replayed = src.source_frames
    assert enrolled and replayed and max(enrolled) < min(replayed)  # disjoint, enrolment first
    assert len(src) == len(replayed) and len(src.enrol) == len(enrolled)
    clip = render_replay(src, np.random.default_rng([9, 0]))
    again = render_replay(src, np.random.default_rng([9, 0]))
    assert all(np.array_equal(x, y) for x, y in zip(clip.frames, again.frames, strict=True))
    found = [engine.detect(f) for f in clip.frames[::5]]
    assert sum(bool(f) for f in found) >= 4  # the replayed face is a face to the detector
