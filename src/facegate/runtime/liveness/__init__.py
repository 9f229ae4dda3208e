"""Liveness: is the face in front of the camera a live person, or a photo or a screen?

The stage sees every tracked detection (`observe`) and gives a per-track verdict. Three checks
exist, combined by a per-entrance policy (`LivenessConfig`, `build_liveness`):

- `passive`: a presentation-attack model (MiniFASNet layout, `facegate.models.pad`) the user
  configures; FaceGate ships no such weights. Scores a few frames per track and averages.
- `motion` (model-free, on by default): a printed photo or a photo on a screen moves as a
  plane, so across a track's frames its dense landmarks (dlib's 68-point predictor) all follow
  one homography; a real head's do not (the nose, the eye corners and the jaw line sit at
  different depths and shift against each other as the head turns or comes closer). When the
  face has not moved enough to tell, the check says so (`checked: false`) and the policy
  decides: allow, wait for more frames (deny when the track ends), or ask for a challenge.
- `challenge` (optional, for high-security entrances): the door's display/speaker is asked to
  prompt "please blink" or "please turn your head", and the eyes (eye aspect ratio) or the
  head (nose against the face outline) must do it within a time limit.

Every verdict says what was checked and what was not: without a passive model the note says
so in every event, and `NoLiveness` (no check at all) never claims a face was live.

Costs per tracked face and frame: the 68-point predictor runs on every `motion.every`-th
frame (about 1-3 ms on one core), the passive model on every `passive.every`-th frame until
it has `passive.samples` scores (about 7 ms per call); a track whose verdict is final costs
nothing more. State per track is a bounded ring buffer, dropped in `forget`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import cv2
import numpy as np
from pydantic import Field, model_validator

from facegate.errors import ConfigError
from facegate.models.base import Face
from facegate.models.files import default_cache_dir
from facegate.models.shape68 import Shape68
from facegate.schema import StrictModel

if TYPE_CHECKING:  # the engine imports the config, which imports this module
    from facegate.engine import FaceEngine
    from facegate.models.pad import MiniFASNet

log = logging.getLogger("facegate.liveness")

CheckName = Literal["passive", "motion", "challenge"]
Prompt = Callable[[int, str], None]  # (track id, text to show/say at the door)


@dataclass(frozen=True)
class LivenessVerdict:
    checked: bool  # False: no check ran (no model, or not enough evidence yet)
    live: bool | None  # None when undecided
    method: str
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    required: bool = False  # the entrance policy wants a decided verdict before opening

    def to_dict(self) -> dict[str, Any]:
        d = {"checked": self.checked, "live": self.live, "method": self.method}
        if self.score is not None:
            d["score"] = round(self.score, 4)
        if self.evidence:
            d["evidence"] = self.evidence
        if self.note:
            d["note"] = self.note
        if self.required:
            d["required"] = True
        return d


class Liveness(Protocol):
    name: str

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None: ...

    def verdict(self, track_id: int) -> LivenessVerdict: ...

    def forget(self, track_id: int) -> None: ...


class NoLiveness:
    """The explicit absence of a check."""

    name = "none"
    NOTE = "no presentation-attack detection configured: a photo or screen is not detected"

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None:
        return None

    def verdict(self, track_id: int) -> LivenessVerdict:
        return LivenessVerdict(False, None, self.name, note=self.NOTE)

    def forget(self, track_id: int) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"checks": [], "note": self.NOTE}


# -- configuration -----------------------------------------------------------------------------


class PassiveConfig(StrictModel):
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="P(real) below this is an attack; default: the measured "
        "threshold for a known model at `target_bpcer`",
    )
    target_bpcer: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="share of real frames the threshold may reject "
        "(measured per frame; `facegate eval pad` reports the APCER that goes with it)",
    )
    every: int = Field(3, ge=1, description="score every n-th frame of a track")
    samples: int = Field(3, ge=1, description="scores averaged before deciding")
    min_face_px: float = Field(40.0, ge=0, description="smaller faces are not scored")


class MotionConfig(StrictModel):
    every: int = Field(2, ge=1, description="look at every n-th frame of a track")
    window: int = Field(16, ge=4, le=64, description="earlier views kept per track")
    offsets: list[int] = Field(
        [2, 4, 8],
        min_length=1,
        description="each new view is compared with the views this "
        "many looks back (bounded by `window`)",
    )
    min_face_px: float = Field(
        60.0, ge=20, description="faces narrower than this are too small for the landmarks"
    )
    min_motion: float = Field(
        0.08,
        gt=0,
        description="viewpoint change (scale change + non-similar landmark motion, "
        "inter-ocular units) a pair of views needs to count",
    )
    max_correction: float = Field(
        0.12,
        gt=0,
        description="a pair whose alignment the second flow pass still had to "
        "move by more than this (RMS over the face, inter-ocular units) did not converge "
        "(landmarks misplaced, e.g. on a face cut by the photo's edge or half hidden by "
        "another): its residual measures the failed alignment, not parallax, so it is no "
        "evidence",
    )
    max_unaligned: float = Field(
        0.25,
        ge=0,
        le=1,
        description="share of a track's pairs that may fail to align "
        "(see max_correction) before the track can still be judged live: landmarks that fail "
        "this often are not trusted to vouch for a face (an attack verdict is never held back)",
    )
    min_pairs: int = Field(6, ge=1, description="moved pairs needed before deciding")
    min_live_pairs: int = Field(
        8,
        ge=1,
        description="moved pairs needed before deciding 'live' (the costly mistake "
        "needs more evidence)",
    )
    live_ratio: float = Field(
        0.065,
        gt=0,
        description="median parallax per unit of motion at or above which the "
        "face is live (a plane has none)",
    )
    planar_ratio: float = Field(
        0.03,
        gt=0,
        description="median parallax per unit of motion below which the face "
        "moved as a plane (photo, screen)",
    )

    @model_validator(mode="after")
    def _order(self) -> MotionConfig:
        if self.planar_ratio > self.live_ratio:
            raise ValueError("planar_ratio must not exceed live_ratio")
        if max(self.offsets) >= self.window + 1:
            raise ValueError("offsets must be at most `window`")
        return self


class ChallengeConfig(StrictModel):
    kind: Literal["blink", "turn"] = "blink"
    after_s: float = Field(
        1.0,
        ge=0,
        description="ask once the face has been tracked this long (when the "
        "challenge is a fallback: once the other checks are still undecided)",
    )
    timeout_s: float = Field(6.0, gt=0, description="time allowed to do it after the prompt")
    min_face_px: float = Field(70.0, ge=20)
    ear_closed: float = Field(0.18, gt=0, description="eye aspect ratio of a closed eye")
    ear_open: float = Field(0.24, gt=0, description="eye aspect ratio of an open eye")
    turn: float = Field(
        0.25,
        gt=0,
        description="nose shift against the face outline for a head turn "
        "(fraction of the half face width)",
    )


class LivenessConfig(StrictModel):
    """Presentation-attack detection for one entrance."""

    model: Path | None = Field(
        None,
        description="passive PAD model: a folder of MiniFASNet-layout ONNX files or one "
        "file (never shipped or downloaded by FaceGate)",
    )
    checks: list[CheckName] | None = Field(
        None,
        description="checks that must vouch for a face; default: motion, plus passive "
        "when `model` is set; [] turns liveness off",
    )
    need: Literal["all", "any"] = Field(
        "all",
        description="all required checks must say live, or any one of them (an attack "
        "verdict from any check always denies)",
    )
    on_undecided: Literal["allow", "wait", "challenge"] = Field(
        "wait",
        description="when the checks cannot decide yet: allow (open unchecked), wait "
        "(keep the door shut; deny when the visitor leaves), challenge (ask for a blink/turn)",
    )
    passive: PassiveConfig = PassiveConfig()
    motion: MotionConfig = MotionConfig()
    challenge: ChallengeConfig = ChallengeConfig()

    @model_validator(mode="after")
    def _consistent(self) -> LivenessConfig:
        if self.checks is not None:
            if len(set(self.checks)) != len(self.checks):
                raise ValueError(f"checks must not repeat, got {self.checks}")
            if "passive" in self.checks and self.model is None:
                raise ValueError("check 'passive' needs liveness.model (a PAD ONNX file/folder)")
        return self

    def active_checks(self) -> list[str]:
        if self.checks is not None:
            return list(self.checks)
        return (["passive"] if self.model is not None else []) + ["motion"]


# -- landmarks ---------------------------------------------------------------------------------

#: dlib's 68-point predictor expects its own detector's box: about 1.09 YuNet box widths,
#: square, 4 % of the box height lower (measured on 94 LFW/NUAA faces).
_DLIB_BOX = (1.09, -0.03, 0.043)


class Landmarks68:
    """dlib's 68-point landmark model (face_recognition_models), run on the YuNet box by
    `models.shape68.Shape68`: the same trees in 33 MB instead of dlib's 65-98 MB."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._model = Shape68(cache_dir=cache_dir or default_cache_dir())

    def prepare(self) -> Landmarks68:
        self._model.prepare()
        return self

    def __call__(self, bgr: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
        """(68, 2) float32 landmarks in image coordinates."""
        x, y, w, h = (float(v) for v in bbox)
        k, dx, dy = _DLIB_BOX
        s = k * w
        x0, y0 = x + w / 2 + dx * w - s / 2, y + h / 2 + dy * h - s / 2
        H, W = bgr.shape[:2]
        m = 0.25 * s
        cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
        cx1, cy1 = min(W, int(x0 + s + m) + 1), min(H, int(y0 + s + m) + 1)
        if cx1 - cx0 < 8 or cy1 - cy0 < 8:
            return np.full((68, 2), np.nan, np.float32)
        patch = bgr[cy0:cy1, cx0:cx1]
        gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
        rect = (round(x0 - cx0), round(y0 - cy0), round(x0 - cx0 + s), round(y0 - cy0 + s))
        return self._model(np.ascontiguousarray(gray), rect) + np.float32([cx0, cy0])


def interocular(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def eye_aspect_ratio(lm: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes (Soukupova & Cech 2016): ~0.3 open, <0.2 closed."""
    out = []
    for a in (36, 42):
        e = lm[a : a + 6]
        v = np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])
        h = 2 * np.linalg.norm(e[0] - e[3])
        out.append(v / max(h, 1e-6))
    return float(np.mean(out))


def head_turn(lm: np.ndarray) -> float:
    """Nose tip against the face outline, in half face widths: 0 frontal, >0 turned so the nose
    moves to the image's right."""
    left, right = lm[0], lm[16]  # jaw ends at the ears
    mid = (left + right) / 2
    half = max(float(np.linalg.norm(right - left)) / 2, 1e-6)
    axis = (right - left) / (2 * half)
    return float((lm[30] - mid) @ axis / half)


# -- planar-motion geometry ----------------------------------------------------------------


def _normalise(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hartley normalisation of (..., n, 2) point sets: centroid 0, mean distance sqrt(2)."""
    c = p.mean(axis=-2, keepdims=True)
    q = p - c
    s = np.sqrt(2) / np.maximum(np.sqrt((q**2).sum(-1)).mean(-1, keepdims=True), 1e-9)
    return q * s[..., None], c, s


def homography_residuals(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance (pixels) of each `b[k]` from the least-squares homography image of
    `a[k]`; a and b are (m, n, 2) (or (n, 2)). Linear (DLT on normalised points, h33 = 1),
    batched: a few hundred microseconds for a whole window of pairs."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    single = a.ndim == 2
    if single:
        a, b = a[None], b[None]
    an, _, _ = _normalise(a)
    bn, _bc, bs = _normalise(b)
    x, y = an[..., 0], an[..., 1]
    u, v = bn[..., 0], bn[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    rows_u = np.stack([x, y, one, zero, zero, zero, -x * u, -y * u], -1)
    rows_v = np.stack([zero, zero, zero, x, y, one, -x * v, -y * v], -1)
    A = np.concatenate([rows_u, rows_v], axis=-2)  # (m, 2n, 8)
    rhs = np.concatenate([u, v], axis=-1)  # (m, 2n)
    AtA = A.transpose(0, 2, 1) @ A
    Atb = A.transpose(0, 2, 1) @ rhs[..., None]  # (m, 8, 1)
    try:
        h = np.linalg.solve(AtA + 1e-9 * np.eye(8), Atb)[..., 0]
    except np.linalg.LinAlgError:
        return np.full(len(a), np.inf)
    H = np.concatenate([h, np.ones((len(a), 1))], -1).reshape(-1, 3, 3)
    ph = np.concatenate([an, np.ones((*an.shape[:-1], 1))], -1) @ H.transpose(0, 2, 1)
    pred = ph[..., :2] / np.where(np.abs(ph[..., 2:]) < 1e-9, 1e-9, ph[..., 2:])
    err = np.sqrt(((pred - bn) ** 2).sum(-1).mean(-1)) / bs[..., 0]  # back to pixels
    return err[0] if single else err


def homography_residual(a: np.ndarray, b: np.ndarray) -> float:
    """RMS distance (pixels) of `b` from the least-squares homography image of `a`."""
    return float(homography_residuals(a, b))


def similarity_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity a -> b for (m, n, 2) pairs: (scale*rotation as complex
    numbers, RMS residual in pixels), each (m,)."""
    za = a[..., 0] + 1j * a[..., 1]
    zb = b[..., 0] + 1j * b[..., 1]
    za = za - za.mean(-1, keepdims=True)
    zb = zb - zb.mean(-1, keepdims=True)
    s = (np.conj(za) * zb).sum(-1) / np.maximum((np.abs(za) ** 2).sum(-1), 1e-12)
    res = np.sqrt((np.abs(za * s[..., None] - zb) ** 2).mean(-1))
    return s, res


def pair_evidence(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(residual, motion) between each of `old` (m, 68, 2) landmark sets and `new` (68, 2),
    both in inter-ocular units of the larger face.

    residual: what one homography cannot explain; a plane's is landmark noise only.
    motion: how much the view changed, whatever the object: the change of scale (approach) plus
    the deviation from a similarity (turning: foreshortening for a plane, parallax for a head).
    """
    old = np.asarray(old, np.float64).reshape(-1, 68, 2)
    new = np.asarray(new, np.float64)
    b = np.broadcast_to(new, old.shape)
    d = np.maximum(np.maximum(_interocular(old), interocular(new)), 1e-6)
    s, rs = similarity_fit(old, b)
    rh = homography_residuals(old, b)
    motion = np.abs(np.log(np.maximum(np.abs(s), 1e-6))) + rs / d
    return rh / d, motion


def _interocular(lms: np.ndarray) -> np.ndarray:
    return np.linalg.norm(lms[:, 36:42].mean(1) - lms[:, 42:48].mean(1), axis=-1)


# -- the checks ---------------------------------------------------------------------------------


class _Check(Protocol):
    name: str

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None: ...

    def verdict(self, track_id: int) -> LivenessVerdict: ...

    def forget(self, track_id: int) -> None: ...


class _Tracks:
    """Per-track state with a bound on how many tracks are remembered (forget() may be
    skipped by a caller; the oldest track is dropped first)."""

    def __init__(self, factory: Callable[[], Any], max_tracks: int = 64) -> None:
        self.factory = factory
        self.max_tracks = max_tracks
        self.items: OrderedDict[int, Any] = OrderedDict()

    def get(self, track_id: int) -> Any:
        st = self.items.get(track_id)
        if st is None:
            st = self.items[track_id] = self.factory()
            while len(self.items) > self.max_tracks:
                self.items.popitem(last=False)
        return st

    def peek(self, track_id: int) -> Any:
        return self.items.get(track_id)

    def pop(self, track_id: int) -> None:
        self.items.pop(track_id, None)


@dataclass
class _PassiveState:
    seen: int = 0
    scores: deque = field(default_factory=lambda: deque(maxlen=16))


class PassiveCheck:
    """A PAD model scored on every `every`-th frame until `samples` scores; mean decides."""

    name = "passive"

    def __init__(self, model: MiniFASNet, cfg: PassiveConfig, threshold: float) -> None:
        self.model = model
        self.cfg = cfg
        self.threshold = threshold
        self._tracks = _Tracks(_PassiveState)

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        st.seen += 1
        if len(st.scores) >= self.cfg.samples or (st.seen - 1) % self.cfg.every:
            return
        if face.size < self.cfg.min_face_px:
            st.seen -= 1  # try again on the next frame
            return
        st.scores.append(float(self.model.score(image, [face])[0]))

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        n = len(st.scores) if st else 0
        ev: dict[str, Any] = {"frames": n, "threshold": round(self.threshold, 4)}
        if n == 0:
            return LivenessVerdict(False, None, self.name, evidence=ev, note="no frame scored yet")
        score = float(np.mean(st.scores))
        ev["scores"] = [round(s, 4) for s in st.scores]
        if n < self.cfg.samples:
            return LivenessVerdict(
                False, None, self.name, score, ev, note=f"{n} of {self.cfg.samples} frames scored"
            )
        return LivenessVerdict(True, score >= self.threshold, self.name, score, ev)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)


#: Views are kept as gray crops scaled so the eyes are this far apart (pixels).
_CROP_IOD = 32.0
_CROP_HALF = 2.2  # crop half-size in inter-ocular distances around the landmarks' centre


@dataclass
class _View:
    n: int  # look number in the track
    lm: np.ndarray  # (68, 2) image coordinates
    crop: np.ndarray  # gray uint8, normalised scale
    T: np.ndarray  # image -> crop (3x3)
    grid: np.ndarray  # (k, 2) crop points inside the face, where parallax is measured


@dataclass
class _MotionState:
    seen: int = 0
    looks: int = 0
    views: deque = field(default_factory=deque)
    # (motion, residual, correction)
    pairs: deque = field(default_factory=lambda: deque(maxlen=256))
    max_motion: float = 0.0
    final: LivenessVerdict | None = None


def _texture(crop: np.ndarray) -> np.ndarray:
    """Gray high-pass of a crop: the texture that moves with the surface, without the smooth
    shading and glare that do not (a glare spot sliding over a photo is not parallax)."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    f = g.astype(np.float32)
    return np.clip(f - cv2.GaussianBlur(f, (0, 0), 6.0) + 128, 0, 255).astype(np.uint8)


def fit_homography(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Least-squares (DLT, normalised) homography a -> b of (n, 2) points; None if degenerate."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    an, ac, as_ = _normalise(a)
    bn, bc, bs = _normalise(b)
    x, y, u, v = an[:, 0], an[:, 1], bn[:, 0], bn[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    A = np.concatenate(
        [
            np.stack([x, y, one, zero, zero, zero, -x * u, -y * u], 1),
            np.stack([zero, zero, zero, x, y, one, -x * v, -y * v], 1),
        ]
    )
    rhs = np.concatenate([u, v])
    try:
        h = np.linalg.solve(A.T @ A + 1e-9 * np.eye(8), A.T @ rhs)
    except np.linalg.LinAlgError:
        return None
    Hn = np.append(h, 1.0).reshape(3, 3)
    Na = np.array([[as_[0], 0, -as_[0] * ac[0, 0]], [0, as_[0], -as_[0] * ac[0, 1]], [0, 0, 1]])
    Nb_inv = np.array([[1 / bs[0], 0, bc[0, 0]], [0, 1 / bs[0], bc[0, 1]], [0, 0, 1]])
    H = Nb_inv @ Hn @ Na
    return H / H[2, 2] if abs(H[2, 2]) > 1e-12 else None


class PlanarMotionCheck:
    """Model-free: does the face move as a plane (photo, screen) or as a head?

    On every `every`-th frame of a track the 68 landmarks are found in the face box and the
    view is kept (a small gray crop at a normalised scale). Each new view is compared with a
    few earlier ones: the homography that maps the earlier landmarks onto the new ones aligns
    the two views as well as any plane could; dense optical flow between the aligned views
    then shows what is left, and a homography fitted to that flow inside the face removes
    whatever alignment error is still planar. The remainder is parallax: a photo or a screen
    has none (however it is tilted), a head has some whenever it turns or comes closer.

    Per pair: motion (how much the view changed, from the landmarks) and residual (parallax,
    inter-ocular units). The landmarks alone are not used for the residual: dlib's predictor
    is not exactly consistent under perspective (it reads a tilted photo as a turned head),
    while the flow follows the texture. A pair whose alignment did not converge (the second
    flow pass still had to move it by more than `max_correction`: landmarks misplaced on a
    face cut by the photo's edge or half hidden by another) is no evidence either way. A
    track is decided once `min_pairs` pairs moved at least `min_motion`: the median of
    residual / motion over them is the score; live above `live_ratio`, planar (an attack)
    below `planar_ratio`.
    """

    name = "motion"

    def __init__(self, cfg: MotionConfig, landmarks: Landmarks68 | None = None) -> None:
        self.cfg = cfg
        self.landmarks = landmarks or Landmarks68()
        self._tracks = _Tracks(_MotionState)
        self._flow = None
        self.looks = 0  # views looked at, all tracks (for cost figures)

    def _dis(self):
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return self._flow

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        st.seen += 1
        if st.final is not None or (st.seen - 1) % self.cfg.every:
            return
        if face.size < self.cfg.min_face_px:
            st.seen -= 1  # look again on the next frame
            return
        lm = self.landmarks(image, face.bbox)
        if not np.isfinite(lm).all() or interocular(lm) < 0.15 * face.size:
            return
        self.add(st, image, lm)

    def view(self, image: np.ndarray, lm: np.ndarray, n: int) -> _View:
        s = _CROP_IOD / max(interocular(lm), 1e-6)
        c = lm.mean(0)
        half = _CROP_HALF * _CROP_IOD
        size = round(2 * half)
        T = np.array([[s, 0, half - s * c[0]], [0, s, half - s * c[1]], [0, 0, 1.0]])
        crop = _texture(cv2.warpAffine(image, T[:2], (size, size), flags=cv2.INTER_LINEAR))
        lc = lm * s + (T[0, 2], T[1, 2])
        mask = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(lc[:27].astype(np.float32)).astype(np.int32), 255)
        mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
        ys, xs = np.nonzero(mask[2::4, 2::4])
        grid = np.stack([xs * 4 + 2, ys * 4 + 2], 1).astype(np.float32)
        return _View(n, lm, crop, T, grid)

    def pair(
        self, old: _View, image: np.ndarray, lm: np.ndarray
    ) -> tuple[float, float, float] | None:
        """(motion, residual, correction) between an earlier view and the current frame.

        The current frame is warped onto the earlier view by the landmarks' homography, the
        flow between them is measured, a homography is fitted to that flow (what a plane
        could still explain) and the frame warped again with it; the second flow's
        departure from a homography is the residual. The second pass removes the alignment
        error the landmarks leave (large on some photos), so a plane's residual is noise only.

        `correction` says whether that worked: how far (RMS over the face, inter-ocular units)
        the second pass still moved the alignment. It is tiny when the first pass converged
        (a plane's median is 0.005, a head's 0.03); when the landmarks were far off (a face cut
        by the photo's edge, or half hidden by another face, read at a different scale in
        every frame) the flow cannot bridge the gap in one pass, the correction stays large,
        and the residual measures the failed alignment, not parallax.
        """
        _, motion = pair_evidence(old.lm[None], lm)
        H = fit_homography(old.lm, lm)  # old image -> new image
        if H is None or len(old.grid) < 12:
            return None
        size = old.crop.shape[1], old.crop.shape[0]
        M = old.T @ np.linalg.inv(H)  # new image -> old crop
        grid = old.grid.astype(np.float64)
        g = old.grid.astype(np.int32)
        residual = correction = float("inf")
        for _ in range(2):
            warped = _texture(cv2.warpPerspective(image, M, size, flags=cv2.INTER_LINEAR))
            flow = self._dis().calc(old.crop, warped, None)
            moved = grid + flow[g[:, 1], g[:, 0]]
            H2 = fit_homography(old.grid, moved)  # old crop -> warped crop
            if H2 is None:
                return None
            planar = cv2.perspectiveTransform(grid[:, None], H2)[:, 0]
            correction = float(np.sqrt(((planar - grid) ** 2).sum(1).mean())) / _CROP_IOD
            residual = float(homography_residuals(old.grid, moved)) / _CROP_IOD
            M = np.linalg.inv(H2) @ M
        return float(motion[0]), residual, correction

    def add(self, st: _MotionState, image: np.ndarray, lm: np.ndarray) -> None:
        """Compare a new view with earlier ones, keep it, and decide when the evidence is in."""
        cfg = self.cfg
        self.looks += 1
        views = list(st.views)
        for off in cfg.offsets:
            if off <= len(views):
                r = self.pair(views[-off], image, lm)
                if r is not None:
                    st.pairs.append(r)
                    if r[2] <= cfg.max_correction:
                        st.max_motion = max(st.max_motion, r[0])
        st.views.append(self.view(image, lm, st.looks))
        st.looks += 1
        if len(st.views) > cfg.window:
            st.views.popleft()
        v = self._decide(st)
        if v.checked:
            st.final = v
            st.views.clear()

    def _decide(self, st: _MotionState) -> LivenessVerdict:
        cfg = self.cfg
        usable = [(m, r) for m, r, c in st.pairs if c <= cfg.max_correction]
        moved = [(m, r) for m, r in usable if m >= cfg.min_motion]
        ev: dict[str, Any] = {
            "views": st.looks,
            "pairs": len(st.pairs),
            "moved_pairs": len(moved),
            "max_motion": round(st.max_motion, 3),
        }
        unaligned = len(st.pairs) - len(usable)
        if unaligned:
            ev["unaligned_pairs"] = unaligned
        if moved:
            ratios = [r / m for m, r in moved]
            ratio = float(np.median(ratios))
            ev["residual"] = round(float(np.median([r for _, r in moved])), 4)
            ev["ratio"] = round(ratio, 4)
        if len(moved) >= cfg.min_pairs:
            trusted = unaligned <= cfg.max_unaligned * len(st.pairs)
            if ratio >= cfg.live_ratio and len(moved) >= cfg.min_live_pairs and trusted:
                return LivenessVerdict(True, True, self.name, ratio, ev)
            if ratio < cfg.planar_ratio:
                return LivenessVerdict(
                    True,
                    False,
                    self.name,
                    ratio,
                    ev,
                    note="the face moved as a flat photo or screen",
                )
            note = (
                "evidence mixed: more frames needed"
                if trusted
                else f"landmarks unreliable ({unaligned} of {len(st.pairs)} pairs of views "
                "could not be aligned): more frames needed"
            )
        elif st.looks < 2:
            note = "not enough frames yet"
        else:
            note = (
                f"too little motion to tell ({len(moved)} of {cfg.min_pairs} views moved "
                f"enough; largest viewpoint change {st.max_motion:.2f})"
            )
        if unaligned and len(moved) < cfg.min_pairs:
            note += (
                f"; {ev['unaligned_pairs']} pairs of views could not be aligned "
                "(landmarks misplaced)"
            )
        return LivenessVerdict(False, None, self.name, ev.get("ratio"), ev, note=note)

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        if st is None:
            return LivenessVerdict(False, None, self.name, note="face not seen large enough yet")
        return st.final or self._decide(st)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)


@dataclass
class _ChallengeState:
    first_t: float | None = None
    asked_t: float | None = None
    seen: int = 0
    base: float | None = None  # open-eye EAR or frontal turn at the prompt
    closed: bool = False
    extreme: float = 0.0
    result: bool | None = None
    done_note: str = ""


class ChallengeCheck:
    """Ask for a blink or a head turn through the door's prompt hook and watch for it."""

    name = "challenge"
    TEXT: ClassVar[dict[str, str]] = {
        "blink": "Please blink",
        "turn": "Please turn your head to the side",
    }

    def __init__(
        self,
        cfg: ChallengeConfig,
        landmarks: Landmarks68,
        prompt: Prompt | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.cfg = cfg
        self.landmarks = landmarks
        self.prompt = prompt
        import time

        self.clock = clock or time.monotonic
        self._tracks = _Tracks(_ChallengeState)

    def wanted(self, track_id: int) -> bool:
        st = self._tracks.peek(track_id)
        return st is not None and st.asked_t is not None

    def ask(self, track_id: int) -> None:
        st = self._tracks.get(track_id)
        if st.asked_t is not None:
            return
        st.asked_t = self.clock()
        text = self.TEXT[self.cfg.kind]
        log.info("track %d: challenge %r", track_id, text)
        if self.prompt is not None:
            try:
                self.prompt(track_id, text)
            except Exception:  # the door's display failing must not stop the check
                log.exception("challenge prompt failed")

    def track_age(self, track_id: int) -> float:
        st = self._tracks.peek(track_id)
        return 0.0 if st is None or st.first_t is None else self.clock() - st.first_t

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        now = self.clock()
        if st.first_t is None:
            st.first_t = now
        if st.asked_t is None or st.result is not None:
            return
        if now - st.asked_t > self.cfg.timeout_s:
            st.result = False
            st.done_note = f"{self.cfg.kind} not done within {self.cfg.timeout_s:g} s"
            return
        if face.size < self.cfg.min_face_px:
            return
        lm = self.landmarks(image, face.bbox)
        if not np.isfinite(lm).all():
            return
        if self.cfg.kind == "blink":
            ear = eye_aspect_ratio(lm)
            if ear <= self.cfg.ear_closed:
                st.closed = True
            elif st.closed and ear >= self.cfg.ear_open:
                st.result, st.done_note = True, "blinked"
        else:
            turn = head_turn(lm)
            if st.base is None:
                st.base = turn
            st.extreme = max(st.extreme, abs(turn - st.base))
            if st.extreme >= self.cfg.turn:
                st.result, st.done_note = True, "turned the head"

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        ev = {"kind": self.cfg.kind}
        if st is None or st.asked_t is None:
            return LivenessVerdict(False, None, self.name, evidence=ev, note="not asked yet")
        if st.result is None:
            return LivenessVerdict(
                False,
                None,
                self.name,
                evidence=ev,
                note=f"waiting for the visitor to {self.cfg.kind}",
            )
        return LivenessVerdict(True, st.result, self.name, evidence=ev, note=st.done_note)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)


# -- the policy -------------------------------------------------------------------------------


class PolicyLiveness:
    """Combine the configured checks into one verdict per track, per the entrance policy.

    An attack verdict from any check is final. Otherwise the face is live when all (or, with
    `need: any`, one) of the required checks say so; until then the verdict is unchecked, and
    `required` (the door waits) unless the policy allows undecided faces.
    """

    def __init__(
        self,
        cfg: LivenessConfig,
        checks: dict[str, _Check],
        challenge: ChallengeCheck | None = None,
        model_path: Path | None = None,
        note: str = "",
    ) -> None:
        self.cfg = cfg
        self.checks = checks
        self.challenge = challenge
        self.model_path = model_path
        self.note = note
        self.name = "+".join(checks) or "none"
        self._frame: dict[int, int] = {}

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None:
        t = self._frame.get(track_id, 0)
        self._frame[track_id] = t + 1
        if len(self._frame) > 256:
            self._frame.pop(next(iter(self._frame)))
        for c in self.checks.values():
            c.observe(track_id, image, face, t)
        ch = self.challenge
        if ch is not None and "challenge" not in self.checks:
            ch.observe(track_id, image, face, t)  # a fallback challenge watches too
        if ch is not None and not ch.wanted(track_id):
            if "challenge" in self.checks:
                due = ch.track_age(track_id) >= ch.cfg.after_s
            else:
                due = (
                    self.cfg.on_undecided == "challenge"
                    and ch.track_age(track_id) >= ch.cfg.after_s
                    and not self._combine(track_id)[0].checked
                )
            if due:
                ch.ask(track_id)

    def _combine(self, track_id: int) -> tuple[LivenessVerdict, dict[str, Any]]:
        subs = {n: c.verdict(track_id) for n, c in self.checks.items()}
        ev = {n: v.to_dict() for n, v in subs.items()}
        attacks = [n for n, v in subs.items() if v.checked and v.live is False]
        lives = [n for n, v in subs.items() if v.checked and v.live]
        score = subs["passive"].score if "passive" in subs else None
        if attacks:
            return LivenessVerdict(
                True,
                False,
                "+".join(attacks),
                score,
                ev,
                note="; ".join(subs[n].note or f"{n}: attack" for n in attacks),
            ), ev
        done = (len(lives) == len(subs)) if self.cfg.need == "all" else bool(lives)
        if subs and done:
            return LivenessVerdict(True, True, "+".join(lives), score, ev, note=self.note), ev
        # a fallback challenge may settle what the required checks could not
        ch = self.challenge
        if ch is not None and "challenge" not in subs and ch.wanted(track_id):
            cv = ch.verdict(track_id)
            ev["challenge"] = cv.to_dict()
            if cv.checked and cv.live:
                return LivenessVerdict(True, True, "challenge", score, ev, note=self.note), ev
        waiting = [f"{n}: {v.note}" for n, v in subs.items() if not v.checked]
        note = "; ".join(waiting) or "no check configured"
        if self.note:
            note += f"; {self.note}"
        return LivenessVerdict(
            False, None, self.name, score, ev, note=note, required=self.cfg.on_undecided != "allow"
        ), ev

    def verdict(self, track_id: int) -> LivenessVerdict:
        return self._combine(track_id)[0]

    def forget(self, track_id: int) -> None:
        self._frame.pop(track_id, None)
        for c in self.checks.values():
            c.forget(track_id)
        if self.challenge is not None:
            self.challenge.forget(track_id)

    def describe(self) -> dict[str, Any]:
        """What this entrance checks, for the start-up log and /health."""
        d: dict[str, Any] = {
            "checks": list(self.checks),
            "need": self.cfg.need,
            "on_undecided": self.cfg.on_undecided,
            "passive_model": str(self.model_path) if self.model_path else None,
        }
        if "passive" in self.checks:
            d["passive_threshold"] = round(self.checks["passive"].threshold, 4)
        if self.challenge is not None:
            d["challenge"] = self.cfg.challenge.kind
        if self.note:
            d["note"] = self.note
        return d


NO_MODEL_NOTE = (
    "no passive PAD model configured (liveness.model / --pad-model): a replayed "
    "video or a bent or cut-out photo is not detected"
)


def passive_threshold(model: MiniFASNet, cfg: PassiveConfig) -> float:
    if cfg.threshold is not None:
        return cfg.threshold
    t = model.known_threshold(cfg.target_bpcer)
    if t is None:
        raise ConfigError(
            f"PAD model {model.path} has no measured threshold at BPCER {cfg.target_bpcer:g}: "
            "set liveness.passive.threshold (measure it with `facegate eval pad`)"
        )
    return t


def build_liveness(
    cfg: LivenessConfig,
    engine: FaceEngine | None = None,
    prompt: Prompt | None = None,
    clock: Callable[[], float] | None = None,
) -> NoLiveness | PolicyLiveness:
    """The entrance's liveness stage from its config; NoLiveness when `checks: []`."""
    names = cfg.active_checks()
    if not names:
        return NoLiveness()
    landmarks = (
        Landmarks68(engine.cache_dir if engine else None)
        if {"motion", "challenge"} & set(names) or (cfg.on_undecided == "challenge")
        else None
    )
    checks: dict[str, _Check] = {}
    if "passive" in names:
        from facegate.models.pad import MiniFASNet

        model = MiniFASNet(cfg.model, threads=1).prepare()
        checks["passive"] = PassiveCheck(model, cfg.passive, passive_threshold(model, cfg.passive))
    if "motion" in names:
        checks["motion"] = PlanarMotionCheck(cfg.motion, landmarks)
    challenge = None
    if "challenge" in names or cfg.on_undecided == "challenge":
        challenge = ChallengeCheck(cfg.challenge, landmarks, prompt, clock)
        if "challenge" in names:
            checks["challenge"] = challenge
    if landmarks is not None:
        landmarks.prepare()
    note = "" if "passive" in checks else NO_MODEL_NOTE
    return PolicyLiveness(cfg, checks, challenge, cfg.model if "passive" in checks else None, note)


def door_prompt(door: object, entrance: str) -> Prompt:
    """The challenge prompt hook: logged, and handed to the door adapter when it can show or
    say something (an adapter with a `prompt(text)` method: intercom display, speaker)."""
    show = getattr(door, "prompt", None)

    def prompt(track_id: int, text: str) -> None:
        log.info("[%s] track %d: %s", entrance, track_id, text)
        if callable(show):
            show(text)

    return prompt


def startup_summary(liveness: Liveness) -> str:
    """One line for the start-up log: what is checked and what is not."""
    describe = getattr(liveness, "describe", None)
    d = describe() if callable(describe) else {"checks": [liveness.name]}
    if not d.get("checks"):
        return f"liveness: OFF - {NoLiveness.NOTE}"
    parts = [
        f"liveness checks: {', '.join(d['checks'])} (need {d.get('need', 'all')}, "
        f"undecided -> {d.get('on_undecided', '?')})"
    ]
    if d.get("passive_model"):
        parts.append(
            f"passive model {d['passive_model']} at threshold {d.get('passive_threshold')}"
        )
    if d.get("note"):
        parts.append(d["note"])
    return "; ".join(parts)


def liveness_checks(liveness: Liveness) -> list[str]:
    """The checks a liveness stage runs ([] for NoLiveness)."""
    describe = getattr(liveness, "describe", None)
    return list(describe().get("checks", [])) if callable(describe) else [liveness.name]


# -- offline use: `facegate liveness FILE...` ------------------------------------------------


def _face_line(face: Face, v: LivenessVerdict) -> dict[str, Any]:
    return {
        "bbox": [round(float(x), 1) for x in face.bbox],
        "live": v.live,
        "checked": v.checked,
        "score": None if v.score is None else round(v.score, 4),
        "checks": v.evidence,
        **({"note": v.note} if v.note else {}),
    }


def still_image_config(cfg: LivenessConfig) -> LivenessConfig:
    """A single image has no motion and nobody to challenge: only the passive model applies."""
    checks = [c for c in cfg.active_checks() if c == "passive"]
    passive = cfg.passive.model_copy(update={"samples": 1})
    return cfg.model_copy(update={"checks": checks, "on_undecided": "allow", "passive": passive})


def check_image(
    engine: FaceEngine, liveness: NoLiveness | PolicyLiveness, image: np.ndarray
) -> list[dict[str, Any]]:
    """Every face of one still image with its verdict (each face its own one-frame track)."""
    faces = engine.detect(image)
    out = []
    for i, face in enumerate(faces):
        liveness.observe(i, image, face)
        v = liveness.verdict(i)
        liveness.forget(i)
        line = _face_line(face, v)
        if isinstance(liveness, NoLiveness):
            line["note"] = (
                "still image: no passive PAD model configured (--pad-model), and "
                "the motion check needs a video"
            )
        out.append(line)
    return out


def check_video(
    engine: FaceEngine, liveness: NoLiveness | PolicyLiveness, path: str | Path, min_frames: int = 3
) -> Iterator[dict[str, Any]]:
    """One verdict per face track of a video file, as each track ends."""
    from facegate.runtime.sources import open_source
    from facegate.runtime.tracker import Tracker

    source = open_source(str(path), "fast")
    tracker = Tracker()
    info: dict[int, dict[str, Any]] = {}

    def done(track_id: int) -> dict[str, Any] | None:
        v = liveness.verdict(track_id)
        liveness.forget(track_id)
        meta = info.pop(track_id, None)
        if meta is None or meta["frames"] < min_frames:
            return None
        face = meta.pop("face")
        return {"track": track_id, **meta, **_face_line(face, v)}

    try:
        while True:
            frame = source.read()
            if frame is None:
                for track in tracker.flush():
                    line = done(track.id)
                    if line:
                        yield line
                break
            faces = engine.detect(frame.image)
            assigned, ended = tracker.update(faces, frame.t)
            for track, face in assigned:
                m = info.setdefault(track.id, {"first_frame": frame.index, "frames": 0})
                m["frames"] += 1
                m["last_frame"] = frame.index
                if "face" not in m or face.area >= m["face"].area:
                    m["face"] = face  # the largest view of the face, for the bbox
                liveness.observe(track.id, frame.image, face)
            for track in ended:
                line = done(track.id)
                if line:
                    yield line
    finally:
        source.close()
