"""Liveness: the planar-motion check, the passive-model adapter, the policy, the door.

Tests that must run everywhere use Grace Hopper's photo (matplotlib) rendered two ways by the
same code: as a flat sheet moved in front of the camera (what a print or a screen does), and
as a relief with a face-shaped depth map turning its head (a crude 3D head). Tests that need
the shared models or data skip with the reason when they are absent.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate import api
from facegate.bench.attacks import ATTACK_KINDS, render_attack, render_attack_visit
from facegate.cli import main
from facegate.errors import ConfigError
from facegate.gallery.store import SQLiteGallery
from facegate.models.base import Face
from facegate.models.pad import MiniFASNet, context_box, parse_model_name
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness import (
    ChallengeCheck,
    ChallengeConfig,
    LivenessConfig,
    LivenessVerdict,
    MotionConfig,
    NoLiveness,
    PlanarMotionCheck,
    PolicyLiveness,
    build_liveness,
    eye_aspect_ratio,
    fit_homography,
    homography_residuals,
    pair_evidence,
    startup_summary,
)
from facegate.runtime.pipeline import Runtime
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import FrameListSource, VirtualClock
from tests.conftest import REPO, require_data, write_image


def shared_models_dir() -> Path:
    env = os.environ.get("FACEGATE_MODELS")
    return Path(env) if env else REPO.parent / "shared" / "models"


def require_pad_model() -> Path:
    path = shared_models_dir() / "minifasnet"
    if not path.is_dir():
        pytest.skip(f"PAD reference model {path} is absent (set FACEGATE_MODELS)")
    return path


# -- synthetic geometry ---------------------------------------------------------------------


def face_points_3d() -> np.ndarray:
    """68 points of a generic face, (x, y, depth) in inter-ocular units, depth towards the
    camera: jaw line far back, nose tip in front (the geometry, not a model of anyone)."""
    jaw = [
        (-2.0 * math.cos(a), 1.6 * math.sin(a) - 0.2, -1.2 * math.cos(a) ** 2)
        for a in np.linspace(0.15, math.pi - 0.15, 17)
    ]
    brows = [(x, -0.75, 0.15) for x in np.r_[np.linspace(-1.3, -0.3, 5), np.linspace(0.3, 1.3, 5)]]
    nose = [(0, y, z) for y, z in ((-0.5, 0.3), (-0.2, 0.5), (0.1, 0.7), (0.4, 0.9))]
    nostrils = [(x, 0.55, 0.5 - 0.3 * abs(x)) for x in np.linspace(-0.35, 0.35, 5)]
    eye = [(-1, 0), (-0.7, -0.12), (-0.3, -0.12), (0, 0), (-0.3, 0.1), (-0.7, 0.1)]
    eyes = [(x - 0.5 + 0.0, y, 0.1) for x, y in eye] + [(-x + 0.5, y, 0.1) for x, y in eye]
    eyes = [(x * 1.0, y, z) for x, y, z in eyes]
    mouth = [
        (0.8 * math.cos(a), 1.1 + 0.25 * math.sin(a), 0.35)
        for a in np.linspace(math.pi, 3 * math.pi, 20, endpoint=False)
    ]
    pts = np.array(jaw + brows + nose + nostrils + eyes + mouth, np.float64)
    assert pts.shape == (68, 3)
    return pts


def project(
    pts: np.ndarray, yaw: float, pitch: float, dist: float, f: float = 500.0, scale: float = 0.03
) -> np.ndarray:
    """Pinhole view of the points (inter-ocular distance = `scale` metres) at `dist` m."""
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    p = (pts * [1, 1, -1]) * scale @ (ry @ rx).T + [0, 0, dist]
    return f * p[:, :2] / p[:, 2:3] + [320, 240]


def test_homography_fit_and_residuals() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((68, 2)) * 100
    H = np.array([[1.1, 0.1, 5], [0.05, 0.9, 3], [1e-3, 2e-4, 1]])
    b = cv2.perspectiveTransform(a.reshape(-1, 1, 2), H).reshape(-1, 2)
    np.testing.assert_allclose(fit_homography(a, b), H, atol=1e-6)
    assert homography_residuals(a, b) < 1e-6
    noisy = b + rng.normal(0, 1, b.shape)
    H2, _ = cv2.findHomography(a, noisy, 0)
    ref = cv2.perspectiveTransform(a.reshape(-1, 1, 2), H2).reshape(-1, 2)
    assert homography_residuals(a, noisy) == pytest.approx(
        np.sqrt(((ref - noisy) ** 2).sum(1).mean()), rel=0.02
    )
    batch = homography_residuals(np.stack([a, a]), np.stack([b, noisy]))
    assert batch.shape == (2,) and batch[0] < 1e-6 < batch[1]


def test_plane_fits_one_homography_a_head_does_not() -> None:
    pts = face_points_3d()
    flat = pts * [1, 1, 0]
    # coming straight closer gives the least parallax (the nose grows against the jaw line)
    for yaw, pitch, dist, least in (
        (15, 0, 0.8, 0.02),
        (0, 12, 0.8, 0.02),
        (0, 0, 0.45, 0.005),
        (-10, 8, 0.6, 0.02),
    ):
        head_res, head_motion = pair_evidence(
            project(pts, 0, 0, 1.0)[None], project(pts, yaw, pitch, dist)
        )
        flat_res, flat_motion = pair_evidence(
            project(flat, 0, 0, 1.0)[None], project(flat, yaw, pitch, dist)
        )
        assert flat_res[0] < 1e-6, "a plane's landmarks fit one homography exactly"
        assert head_res[0] > least, f"parallax expected at yaw {yaw} pitch {pitch} d {dist}"
        assert head_motion[0] > 0.05 and flat_motion[0] > 0.05
    # no motion, nothing to tell: both fit
    still, motion = pair_evidence(project(pts, 0, 0, 1.0)[None], project(pts, 0, 0, 1.0))
    assert still[0] < 1e-9 and motion[0] < 1e-9


# -- rendered clips: a flat sheet vs a relief turning its head -------------------------------


def relief_views(
    photo: np.ndarray,
    face: Face,
    n: int = 16,
    depth: float = 1.0,
    size: tuple[int, int] = (320, 240),
) -> list[np.ndarray]:
    """The photo as a relief turning its head from one side to the other while coming closer;
    depth=0 is the flat photo moved the same way (a print). The relief is about as deep as a
    head: a dome 0.6 face widths deep with a nose 0.3 face widths high. Rendered by inverse
    mapping (a few fixed-point iterations for the depth), on a small frame to stay fast."""
    x, y, bw, bh = (float(v) for v in face.bbox)
    cx, cy = x + bw / 2, y + bh * 0.55
    nose = face.landmarks[2]
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dome = np.sqrt(np.clip(1 - ((xx - cx) / (0.6 * bw)) ** 2 - ((yy - cy) / (0.7 * bh)) ** 2, 0, 1))
    bump = np.exp(
        -(((xx - nose[0]) / (0.1 * bw)) ** 2 + ((yy - nose[1] + 0.05 * bh) / (0.22 * bh)) ** 2)
    )
    D = (depth * bw * (0.6 * dome + 0.3 * bump)).astype(np.float32)  # towards the camera
    W, H = size
    uu, vv = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    frames = []
    for k in range(n):
        t = k / (n - 1)
        yaw = math.radians(-25 + 50 * t)
        s = min((0.5 + 0.35 * t) * 160 / bw, 0.8 * H / bh)  # face ~80 px to ~135 px wide
        ox, oy = W / 2 + 15 * math.sin(4 * t), H / 2 + 5
        # output (u, v) <- source (x, y): u = ox + s((x - cx) cos + D sin), v = oy + s(y - cy)
        sy = (vv - oy) / s + cy
        sx = (uu - ox) / (s * math.cos(yaw)) + cx
        for _ in range(3):
            d = cv2.remap(D, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            sx = ((uu - ox) / s - d * math.sin(yaw)) / math.cos(yaw) + cx
        frames.append(
            cv2.remap(
                photo,
                sx,
                sy,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(90, 110, 130),
            )
        )
    return frames


def motion_verdict(engine, frames: list[np.ndarray], cfg: MotionConfig | None = None):
    check = PlanarMotionCheck(cfg or MotionConfig(every=1))
    for k, img in enumerate(frames):
        faces = engine.detect(img)
        if faces:
            check.observe(1, img, faces[0], k)
    return check.verdict(1)


@pytest.fixture(scope="module")
def hopper_face(engine, hopper) -> Face:
    return engine.detect(hopper)[0]


def test_relief_shows_parallax_a_flat_photo_does_not(engine, hopper, hopper_face) -> None:
    """The same photo moved the same way: as a flat sheet it is judged planar; as a relief
    (depth like a head's) it shows several times the parallax per unit of motion."""
    cfg = MotionConfig(every=1, min_pairs=4)
    flat = motion_verdict(engine, relief_views(hopper, hopper_face, depth=0.0), cfg)
    relief = motion_verdict(engine, relief_views(hopper, hopper_face, depth=1.0), cfg)
    assert flat.checked and flat.live is False, flat.to_dict()
    assert relief.evidence["ratio"] > 2 * flat.evidence["ratio"], (relief.to_dict(), flat.to_dict())
    json.dumps([relief.to_dict(), flat.to_dict()])  # evidence is plain JSON


def video_frames(path: Path, max_fps: float = 15.0, limit: int = 400) -> list[np.ndarray]:
    from facegate.bench.pad import _video_frames

    return list(_video_frames(path, max_fps))[:limit]


@pytest.mark.data
def test_real_head_is_live_replayed_video_is_not_caught_by_motion(engine) -> None:
    """A real person in front of a webcam moves as a head; the same person replayed on a
    screen moves as a head too (the planar check cannot see a video replay: the passive
    model's job)."""
    video = require_data("video") / "apfol_liveness"
    live = motion_verdict(engine, video_frames(video / "real2.webm", limit=75), MotionConfig())
    assert live.checked and live.live is True, live.to_dict()
    replay = motion_verdict(engine, video_frames(video / "fake2.webm", limit=75), MotionConfig())
    assert replay.live is not False, replay.to_dict()


def test_standing_still_is_undecided(engine, hopper, hopper_face) -> None:
    frames = [cv2.GaussianBlur(hopper, (0, 0), 0.3 + 0.01 * k) for k in range(16)]
    canvas = [cv2.copyMakeBorder(f, 40, 40, 40, 40, cv2.BORDER_REPLICATE) for f in frames]
    v = motion_verdict(engine, canvas)
    assert not v.checked and v.live is None
    assert "too little motion" in v.note


def test_pairs_whose_alignment_did_not_converge_are_no_evidence() -> None:
    """Misplaced landmarks (a face cut by the photo's edge, half hidden by another) leave an
    alignment the flow cannot close in one pass: such a pair's residual is the failed
    alignment, not parallax, so it must not make a photo look live."""

    def verdict(pairs, **cfg):
        check = PlanarMotionCheck(MotionConfig(**cfg))
        st = check._tracks.get(1)
        st.looks = 9
        st.pairs.extend(pairs)
        return check.verdict(1)

    unconverged = [(0.4, 0.05, 0.3)] * 8  # (motion, residual, second-pass correction)
    v = verdict(unconverged, max_correction=10.0)
    assert v.checked and v.live is True  # what the check said before the gate
    v = verdict(unconverged)
    assert not v.checked and v.evidence["unaligned_pairs"] == 8, v.to_dict()
    assert v.evidence["moved_pairs"] == 0 and "too little motion" in v.note
    v = verdict(unconverged + [(0.2, 0.002, 0.01)] * 6)
    assert v.checked and v.live is False and v.evidence["unaligned_pairs"] == 8, v.to_dict()
    # landmarks that fail on half the pairs are not trusted to vouch for a live face ...
    headlike = [(0.3, 0.03, 0.01)] * 8
    v = verdict(unconverged + headlike)
    assert not v.checked and "landmarks unreliable" in v.note, v.to_dict()
    # ... an occasional failure is fine
    v = verdict(unconverged[:2] + headlike)
    assert v.checked and v.live is True and v.evidence["unaligned_pairs"] == 2, v.to_dict()


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


# -- the policy ----------------------------------------------------------------------------


class Fixed:
    """A check that says what it is told."""

    def __init__(self, name: str, verdict: LivenessVerdict) -> None:
        self.name = name
        self.v = verdict
        self.seen = 0

    def observe(self, track_id, image, face, t) -> None:
        self.seen += 1

    def verdict(self, track_id) -> LivenessVerdict:
        return self.v

    def forget(self, track_id) -> None:
        pass


LIVE = LivenessVerdict(True, True, "x", 0.9)
ATTACK = LivenessVerdict(True, False, "x", 0.1, note="flat")
UNSURE = LivenessVerdict(False, None, "x", note="too little motion to tell")


@pytest.mark.parametrize(
    ("a", "b", "need", "on_undecided", "expect"),
    [
        (LIVE, LIVE, "all", "wait", (True, True, False)),
        (LIVE, ATTACK, "any", "allow", (True, False, False)),  # an attack verdict always wins
        (LIVE, UNSURE, "all", "wait", (False, None, True)),  # the door waits
        (LIVE, UNSURE, "all", "allow", (False, None, False)),
        (LIVE, UNSURE, "any", "wait", (True, True, False)),
        (UNSURE, UNSURE, "any", "challenge", (False, None, True)),
    ],
)
def test_policy_combines_checks(a, b, need, on_undecided, expect) -> None:
    cfg = LivenessConfig(need=need, on_undecided=on_undecided)
    pol = PolicyLiveness(cfg, {"passive": Fixed("passive", a), "motion": Fixed("motion", b)})
    v = pol.verdict(3)
    assert (v.checked, v.live, v.required) == expect
    assert set(v.evidence) == {"passive", "motion"}


def test_config_defaults_and_validation(tmp_path) -> None:
    assert LivenessConfig().active_checks() == ["motion"]
    assert LivenessConfig(model=tmp_path).active_checks() == ["passive", "motion"]
    with pytest.raises(ValueError, match=r"needs liveness\.model"):
        LivenessConfig(checks=["passive"])
    with pytest.raises(ValueError):
        LivenessConfig(motion={"live_ratio": 0.05, "planar_ratio": 0.1})
    assert isinstance(build_liveness(LivenessConfig(checks=[])), NoLiveness)


def test_without_a_passive_model_every_verdict_says_so(engine) -> None:
    liv = build_liveness(LivenessConfig(), engine)
    assert "no passive PAD model" in startup_summary(liv)
    assert "no passive PAD model" in liv.verdict(1).note
    assert liv.verdict(1).required  # default policy: wait, never a silent "live"
    assert startup_summary(NoLiveness()).startswith("liveness: OFF")


def test_unknown_pad_model_needs_an_explicit_threshold(tmp_path) -> None:
    model = require_pad_model()
    one = tmp_path / "2.7_80x80_MiniFASNetV2.onnx"
    one.write_bytes((model / "2.7_80x80_MiniFASNetV2.onnx").read_bytes())
    with pytest.raises(ConfigError, match="threshold"):
        build_liveness(LivenessConfig(model=one))
    liv = build_liveness(LivenessConfig(model=one, passive={"threshold": 0.5}))
    assert liv.describe()["passive_threshold"] == 0.5


# -- the challenge ---------------------------------------------------------------------------


class ScriptedLandmarks:
    """Landmarks with the eyes opening and closing as scripted (eye aspect ratio per call)."""

    def __init__(self, ears: list[float]) -> None:
        self.ears = list(ears)
        base = face_points_3d()[:, :2] * 30 + [320, 240]
        self.base = base

    def __call__(self, image, bbox) -> np.ndarray:
        ear = self.ears.pop(0) if self.ears else 0.3
        lm = self.base.copy()
        for a in (36, 42):
            c = lm[a : a + 6].mean(0)
            width = np.linalg.norm(lm[a + 3] - lm[a])
            for i, sign in ((1, -1), (2, -1), (4, 1), (5, 1)):
                lm[a + i, 1] = c[1] + sign * ear * width / 2
        return lm


def test_blink_challenge_prompts_and_passes() -> None:
    prompts = []
    now = [0.0]
    lm = ScriptedLandmarks([0.3, 0.31, 0.12, 0.1, 0.3])
    assert eye_aspect_ratio(lm(None, None)) == pytest.approx(0.3, abs=0.01)
    lm.ears = [0.3, 0.31, 0.12, 0.1, 0.3]
    ch = ChallengeCheck(
        ChallengeConfig(after_s=0.5),
        lm,
        prompt=lambda t, s: prompts.append(s),
        clock=lambda: now[0],
    )
    pol = PolicyLiveness(LivenessConfig(checks=["challenge"]), {"challenge": ch}, ch)
    face = Face(np.array([250, 170, 140, 170], np.float32), np.zeros((5, 2), np.float32), 0.9)
    img = np.zeros((480, 640, 3), np.uint8)
    for _ in range(12):
        pol.observe(5, img, face)
        now[0] += 0.2
    assert prompts == ["Please blink"]
    v = pol.verdict(5)
    assert v.checked and v.live is True, v.to_dict()


def test_challenge_not_done_in_time_fails() -> None:
    now = [0.0]
    ch = ChallengeCheck(
        ChallengeConfig(after_s=0.0, timeout_s=1.0),
        ScriptedLandmarks([0.3] * 50),
        clock=lambda: now[0],
    )
    pol = PolicyLiveness(LivenessConfig(checks=["challenge"]), {"challenge": ch}, ch)
    face = Face(np.array([250, 170, 140, 170], np.float32), np.zeros((5, 2), np.float32), 0.9)
    for _ in range(10):
        pol.observe(1, np.zeros((480, 640, 3), np.uint8), face)
        now[0] += 0.25
    v = pol.verdict(1)
    assert v.checked and v.live is False and "not done" in v.note


# -- the door ----------------------------------------------------------------------------------


@pytest.fixture
def hopper_gallery(tmp_path, engine, hopper_path) -> Path:
    path = tmp_path / "gallery.sqlite"
    with SQLiteGallery(path) as store:
        assert api.enroll(engine, store, "Grace Hopper", [hopper_path]).accepted
    return path


def run_door(engine, gallery: Path, frames, liveness) -> list[DoorEvent]:
    events: list[DoorEvent] = []
    clock = VirtualClock()
    with SQLiteGallery(gallery, create=False) as store:
        Runtime(
            entrance="main",
            engine=engine,
            store=store,
            source=FrameListSource(frames, fps=15, pace="simulated", clock=clock),
            clock=clock,
            sinks=[events.append],
            liveness=liveness,
            decision=DecisionConfig(),
        ).run()
    return events


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


@pytest.mark.data
def test_real_resident_opens_replay_with_passive_model_does_not(engine, tmp_path) -> None:
    video = require_data("video") / "apfol_liveness"
    real = video_frames(video / "real2.webm", limit=90)
    gallery = tmp_path / "g.sqlite"
    with SQLiteGallery(gallery) as store:
        enrol = cv2.imencode(".png", real[3])[1].tobytes()
        assert api.enroll(engine, store, "Resident", [enrol]).accepted
    events = run_door(engine, gallery, real[10:], build_liveness(LivenessConfig(), engine))
    opens = [e for e in events if e.decision is Decision.OPEN]
    assert len(opens) == 1, [e.to_dict() for e in events]
    assert opens[0].liveness["checked"] and opens[0].liveness["live"]
    assert "no passive PAD model" in opens[0].liveness["note"]
    model = require_pad_model()
    replay = video_frames(video / "fake2.webm", limit=75)
    events = run_door(engine, gallery, replay, build_liveness(LivenessConfig(model=model), engine))
    assert events and not [e for e in events if e.decision is Decision.OPEN], [
        e.to_dict() for e in events
    ]
    for e in events:  # recognised (DENY as an attack) or not (UNKNOWN): never live
        assert e.liveness["live"] is not True, e.to_dict()
        if e.decision is Decision.DENY:
            assert "presentation attack" in e.reason


# -- the passive model ------------------------------------------------------------------------


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


def test_cli_liveness_image_and_video(engine, hopper, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    img = write_image(tmp_path / "hopper.png", hopper)
    assert main(["liveness", str(img), "--json"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    face = line["faces"][0]
    assert face["live"] is None and not face["checked"] and "no passive PAD" in face["note"]
    model = require_pad_model()
    assert main(["liveness", "--pad-model", str(model), str(img), "--json"]) == 0
    face = json.loads(capsys.readouterr().out.splitlines()[0])["faces"][0]
    assert face["checked"] and isinstance(face["live"], bool) and 0 <= face["score"] <= 1
    assert "passive" in face["checks"] and len(face["bbox"]) == 4


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
    from facegate.bench.door import Visit, plan_attacks

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
    from facegate.bench import door

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
    from facegate.bench import door
    from tests.test_clips import HOPPER_CROP

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
