"""Screen replays of a real video: a clip of a resident playing inside a phone or tablet held up
to the intercom camera and moved by hand (the attack a motion check cannot see: the head inside
the screen moves in 3D).

The source is real footage (`REPLAY_CLIPS`, under the shared `video/` folder). Its main face
track is found once (`load_replay_source`: the runtime's detector and tracker), and the clip is
cut in two, never overlapping:

- the **enrolment frames**: frames from the first part of the track, cropped close to that one
  face, of which the door benchmark enrols the first few that pass the enrolment checks
  (`enrol_replayed`, through the normal enrolment path), so the replayed
  person is a resident and only liveness stands between the replay and the door;
- the **replay frames**: the rest of the track, cropped once to a fixed window around the face
  (a close-up video of the person, as an attacker would have filmed or downloaded), which the
  screen plays, looping back and forth when the visit is longer than the part.

`render_replay` puts the replay frames on a screen with the geometry and optics of
`facegate_bench.attacks` (a plane in front of a pinhole camera, a smooth random hand-held
trajectory; black bezel with rounded corners, letterboxing, emissive tone and tint, moire from
the pixel grid, glossy glare, thumbs over the edge; defocus, motion blur, noise, JPEG). Only the
screen's content changes from frame to frame. Everything is drawn from the caller's `rng`: a
seed and a source reproduce a clip exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facegate_bench import render
from facegate_bench.attacks import (
    AttackClip,
    _apply,
    _camera,
    _composite,
    _fingers,
    _glare_strength,
    _make_scene,
    _plan_look,
    _plan_pose,
    _rotation,
    _rounded_rect,
)
from facegate_bench.clips import MIN_VISIBLE_FACE_PX
from facegate_bench.render import Box

#: Real clips with one main face (under the shared `video/` folder) and the split they belong
#: to: liveness settings are chosen on "calibration" (the clips the motion check was calibrated
#: on, `pad.CALIBRATION_CLIPS`), figures are reported on "test".
REPLAY_CLIPS: dict[str, str] = {
    "face_recognition_ageitgey/short_hamilton_clip.mp4": "calibration",
    "intel_sample_videos/head-pose-face-detection-female-and-male.gif": "calibration",
    "sihanwang_face_detection/test.mp4": "test",
    "apfol_liveness/real2.webm": "test",
    "facenet_pytorch/video.mp4": "test",
    "intel_sample_videos/head-pose-face-detection-female.gif": "test",
    "intel_sample_videos/head-pose-face-detection-male.gif": "test",
}

#: the face's width in the replayed video's pixels (upscaled at most 2x to reach it)
CONTENT_FACE_PX = 140.0
#: the replayed window around the face, in face widths (width, height)
WINDOW = (2.6, 3.0)
#: an enrolment crop, in face widths: close, so a neighbour's face rarely comes with it
ENROL_WINDOW = (1.7, 2.1)


@dataclass
class ReplaySource:
    """One real clip prepared for replays: enrolment crops and replay frames, disjoint."""

    clip: str  # path under the video folder
    person: str  # the resident the door benchmark enrols from `enrol`
    fps: float
    enrol: list[np.ndarray]  # candidate face crops (BGR) from frames the replay never shows
    content: list[bytes] = field(repr=False)  # replay frames, cropped, JPEG (q 95)
    boxes: list[Box | None] = field(repr=False)  # the face in each replay frame, content px
    #: (enrolment candidates, replayed) frame numbers of the clip (at `fps`)
    source_frames: tuple[list[int], list[int]] = ((), ())

    def __len__(self) -> int:
        return len(self.content)

    def frame(self, i: int) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(self.content[i], np.uint8), cv2.IMREAD_COLOR)

    @property
    def content_size(self) -> tuple[int, int]:
        h, w = self.frame(0).shape[:2]
        return w, h


def replay_person(clip: str) -> str:
    """The resident name a replayed clip's person is enrolled under."""
    return "replay:" + clip.replace("/", ":")


def _read(path: Path, max_fps: float) -> list[np.ndarray]:
    from facegate.runtime.sources import open_source

    src = open_source(str(path), "fast")
    step = max(1, round(getattr(src, "fps", max_fps) / max_fps))
    out: list[np.ndarray] = []
    try:
        k = 0
        while (fr := src.read()) is not None:
            if k % step == 0:
                out.append(fr.image)
            k += 1
    finally:
        src.close()
    return out


def scene_cuts(frames: Sequence[np.ndarray]) -> list[int]:
    """Frames that start a new shot (film clips cut between cameras): the picture changes a lot
    (mean absolute difference of 64x36 gray thumbnails > 20) and so do its colours (hue /
    saturation histogram correlation < 0.8; a hand waved in front of a webcam changes the
    first, not the second)."""
    cuts = []
    prev = None
    for k, img in enumerate(frames):
        small = cv2.resize(img, (64, 36), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        hist = cv2.calcHist(
            [cv2.cvtColor(img, cv2.COLOR_BGR2HSV)], [0, 1], None, [16, 8], [0, 180, 0, 256]
        )
        if prev is not None:
            diff = float(np.abs(gray - prev[0]).mean())
            if diff > 20 and cv2.compareHist(prev[1], hist, cv2.HISTCMP_CORREL) < 0.8:
                cuts.append(k)
        prev = (gray, hist)
    return cuts


def main_track(
    frames: Sequence[np.ndarray], detect: Callable[[np.ndarray], list], fps: float
) -> dict[int, Box]:
    """Frame number -> face box of the clip's main face track (most frames x median width),
    never across a scene cut (the tracker may link two people of two shots)."""
    from facegate.runtime.tracker import Tracker

    cuts = scene_cuts(frames)
    tracker = Tracker()
    tracks: dict[tuple[int, int], dict[int, Box]] = {}
    for k, img in enumerate(frames):
        shot = sum(c <= k for c in cuts)
        assigned, _ = tracker.update(detect(img), k / fps)
        for track, face in assigned:
            box = tuple(float(v) for v in face.bbox)
            tracks.setdefault((track.id, shot), {})[k] = box  # type: ignore[assignment]
    if not tracks:
        return {}
    best = max(tracks.values(), key=lambda t: len(t) * float(np.median([b[2] for b in t.values()])))
    return dict(sorted(best.items()))


def _interpolate(track: dict[int, Box], k: int) -> Box:
    keys = np.array(sorted(track))
    vals = np.array([track[i] for i in keys])
    return tuple(float(np.interp(k, keys, vals[:, j])) for j in range(4))  # type: ignore[return-value]


def _window(
    centre: tuple[float, float],
    face_w: float,
    img_w: int,
    img_h: int,
    size: tuple[float, float] = WINDOW,
) -> Box:
    """A box of `size` face widths about the face centre, shifted and shrunk to fit."""
    w = min(size[0] * face_w, img_w)
    h = min(size[1] * face_w, img_h)
    x = min(max(centre[0] - w / 2, 0.0), img_w - w)
    y = min(max(centre[1] - 0.45 * h, 0.0), img_h - h)
    return (x, y, w, h)


def _crop(img: np.ndarray, win: Box, scale: float) -> np.ndarray:
    x, y, w, h = win
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    m = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(img, m, size, flags=interp, borderMode=cv2.BORDER_REPLICATE)


def load_replay_source(
    path: str | Path,
    detect: Callable[[np.ndarray], list],
    *,
    clip: str | None = None,
    max_fps: float = 15.0,
    enrol_share: float = 0.25,
    enrol_count: int = 3,
    max_frames: int = 90,
    max_candidates: int = 12,
) -> ReplaySource:
    """Find the main face of a real clip and cut it into enrolment candidates (up to
    `max_candidates` frames spread over the first `enrol_share` of the track, at least
    `enrol_count` frames) and replay frames (the rest after a gap, at most `max_frames`)."""
    path = Path(path)
    name = clip or path.name
    frames = _read(path, max_fps)
    fps = max_fps
    track = main_track(frames, detect, fps)
    if len(track) < 8:
        raise ValueError(f"{name}: no face track of 8 frames or more")
    first, last = min(track), max(track)
    cut = first + max(enrol_count, round(enrol_share * (last - first + 1)))
    part = [k for k in range(first, cut) if k in track]
    pick = np.linspace(0, len(part) - 1, min(max_candidates, len(part)))
    enrol_idx = sorted({part[round(float(i))] for i in pick})
    replay_idx = [k for k in range(cut + 2, last + 1)][:max_frames]
    if len(replay_idx) < 8:
        raise ValueError(f"{name}: the track is too short to replay")
    h, w = frames[0].shape[:2]
    enrol = []
    for k in enrol_idx:
        x, y, bw, bh = track[k]
        scale = min(2.0, max(1.0, CONTENT_FACE_PX / bw))
        win = _window((x + bw / 2, y + bh / 2), bw, w, h, ENROL_WINDOW)
        enrol.append(_crop(frames[k], win, scale))
    boxes = [_interpolate(track, k) for k in replay_idx]
    widths = np.array([b[2] for b in boxes])
    cx = float(np.median([b[0] + b[2] / 2 for b in boxes]))
    cy = float(np.median([b[1] + b[3] / 2 for b in boxes]))
    win = _window((cx, cy), float(widths.max()), w, h)
    scale = min(2.0, CONTENT_FACE_PX / float(np.median(widths)))
    content, cboxes = [], []
    for k, b in zip(replay_idx, boxes, strict=True):
        img = _crop(frames[k], win, scale)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise ValueError(f"{name}: cannot encode a replay frame")
        content.append(buf.tobytes())
        box = ((b[0] - win[0]) * scale, (b[1] - win[1]) * scale, b[2] * scale, b[3] * scale)
        ch, cw = img.shape[:2]
        cboxes.append(box if k in track else render.visible_box(box, cw, ch))
    return ReplaySource(
        name, replay_person(name), fps, enrol, content, cboxes, (enrol_idx, replay_idx)
    )


# -- the device -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Device:
    tex: np.ndarray  # BGR float32 0-1: body, bezel, black screen (content pasted per frame)
    alpha: np.ndarray
    hand: np.ndarray  # thumbs: premultiplied colour (h, w, 3)
    hand_alpha: np.ndarray  # and their coverage (h, w)
    screen: tuple[int, int, int, int]  # the screen's pixels in the texture: x0, y0, x1, y1
    origin: tuple[int, int]  # where content pixel (0, 0) sits in the texture
    metres_per_px: float  # physical size of one texture (= content) pixel
    tone: tuple[float, float, float, np.ndarray]  # black, gain, gamma, tint


def _make_device(content_wh: tuple[int, int], rng: np.random.Generator) -> _Device:
    """A phone (portrait or landscape) or a tablet showing the video: letterboxed, or filling
    the screen and cut by its edges when the shapes are close. One texture pixel is one
    content pixel."""
    cw, ch = content_wh
    kind = rng.choice(["phone-portrait", "phone-landscape", "tablet"], p=[0.45, 0.25, 0.3])
    if kind == "phone-portrait":
        aspect = rng.uniform(0.45, 0.56)  # screen width / height
        short_m = rng.uniform(0.062, 0.072)  # physical width of the short side
    elif kind == "phone-landscape":
        aspect = 1 / rng.uniform(0.45, 0.56)
        short_m = rng.uniform(0.062, 0.072)
    else:
        aspect = float(rng.choice([0.75, 0.7])) ** (1 if rng.random() < 0.5 else -1)
        short_m = rng.uniform(0.13, 0.2)
    fill = abs(math.log(aspect * ch / cw)) < 0.3 and rng.random() < 0.5
    # fill: the screen inside the content; else the content inside the screen
    sw = min(cw, ch * aspect) if fill else max(cw, ch * aspect)
    sw, sh = round(sw), round(sw / aspect)
    metres_per_px = short_m / min(sw, sh)
    black = rng.uniform(0.02, 0.08)
    gain = rng.uniform(1.0, 1.25)
    gamma = rng.uniform(0.8, 1.0)
    tint = np.array([1.0 + rng.uniform(0, 0.08), 1.0, 1.0 - rng.uniform(0, 0.05)], np.float32)
    bez = round(max(sw, sh) * rng.uniform(0.02, 0.06))
    chin = round(max(sw, sh) * rng.uniform(0.0, 0.05))
    pad = round(0.1 * max(sw, sh))  # room for the thumbs
    H = sh + 2 * bez + chin + 2 * pad
    W = sw + 2 * bez + 2 * pad
    tex = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    body = np.array([0.05, 0.05, 0.06]) + rng.uniform(0, 0.12)
    _rounded_rect(tex, alpha, (pad, pad, W - pad, H - pad), round(bez * 1.6), body)
    s0x, s0y = pad + bez, pad + bez
    tex[s0y : s0y + sh, s0x : s0x + sw] = black
    origin = (s0x + (sw - cw) // 2, s0y + (sh - ch) // 2)
    hand = np.zeros_like(tex)
    hand_alpha = np.zeros_like(alpha)
    _fingers(hand, hand_alpha, (pad, pad, W - pad, H - pad), rng, int(rng.integers(1, 3)))
    return _Device(
        tex,
        alpha,
        hand,
        hand_alpha,
        (s0x, s0y, s0x + sw, s0y + sh),
        origin,
        float(metres_per_px),
        (float(black), float(gain), float(gamma), tint),
    )


class _Screen:
    """The device as a premultiplied BGRA texture (`attacks._pyramid`'s layout) whose screen
    shows one content frame at a time: the static parts are made once, each frame only writes
    the screen's pixels (emissive tone through a lookup table, thumbs on top)."""

    def __init__(self, dev: _Device, content_wh: tuple[int, int]) -> None:
        a = dev.hand_alpha[..., None]
        tex = np.clip(dev.tex * (1 - a) + dev.hand, 0, 1)
        alpha = np.maximum(dev.alpha, dev.hand_alpha)
        self.base = np.dstack([tex * alpha[..., None], alpha]).astype(np.float32)
        black, gain, gamma, tint = dev.tone
        v = np.arange(256, dtype=np.float32) * np.float32(gain / 255.0)
        curve = black + (1 - black) * np.clip(v, 0, 1) ** np.float32(gamma)
        self.lut = np.stack([curve * t for t in tint], axis=1).reshape(256, 1, 3).astype(np.float32)
        ox, oy = dev.origin
        cw, ch = content_wh
        x0, y0, x1, y1 = dev.screen  # the part of the content the screen shows
        self.dst = (max(x0, ox), max(y0, oy), min(x1, ox + cw), min(y1, oy + ch))
        dx0, dy0, dx1, dy1 = self.dst
        self.src = (dx0 - ox, dy0 - oy, dx1 - ox, dy1 - oy)
        hand = dev.hand_alpha[dy0:dy1, dx0:dx1]
        self.keep = cv2.merge([1 - hand] * 3).astype(np.float32)
        self.hand = np.ascontiguousarray(dev.hand[dy0:dy1, dx0:dx1]).astype(np.float32)

    def levels(self, content: np.ndarray) -> list[np.ndarray]:
        sx0, sy0, sx1, sy1 = self.src
        dx0, dy0, dx1, dy1 = self.dst
        shown = cv2.LUT(np.ascontiguousarray(content[sy0:sy1, sx0:sx1]), self.lut)
        shown = cv2.add(cv2.multiply(shown, self.keep), self.hand)
        out = self.base.copy()
        out[dy0:dy1, dx0:dx1, :3] = shown  # the screen is opaque: alpha is 1 there
        return render.pyramid(out, 5)


def render_replay(
    source: ReplaySource,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    duration_s: float = 2.0,
    background: np.ndarray | None = None,
    approach: bool | None = None,
) -> AttackClip:
    """One replay attack visit: `source`'s replay frames playing on a hand-held screen."""
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"frame size {size} is too small for an attack clip")
    if fps <= 0 or duration_s <= 0:
        raise ValueError("fps and duration_s must be positive")
    n = max(2, round(fps * duration_s))
    m = len(source)
    start = int(rng.integers(0, m))
    step = source.fps / fps
    # ping-pong through the replay frames: the attacker's video loops
    order = []
    for k in range(n):
        p = int(start + k * step) % (2 * m - 2) if m > 1 else 0
        order.append(p if p < m else 2 * m - 2 - p)
    boxes_src = [source.boxes[i] for i in order]
    known = [b for b in boxes_src if b is not None] or [b for b in source.boxes if b is not None]
    if not known:
        raise ValueError(f"{source.clip}: no face box in the replay frames")
    ref = np.median(np.array(known), axis=0)
    dev = _make_device(source.content_size, rng)
    ox, oy = dev.origin
    fcx, fcy = ox + ref[0] + ref[2] / 2, oy + ref[1] + ref[3] / 2
    fw = float(ref[2])
    mpp = dev.metres_per_px
    face_width_m = fw * mpp
    to_plane = np.array([[mpp, 0, -fcx * mpp], [0, mpp, -fcy * mpp], [0, 0, 1]])

    f = float(rng.uniform(0.6, 1.0)) * width
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    pose = _plan_pose(rng, n, fps, width, height, f, face_width_m, approach)
    scene = (
        render.fit_background(background, width, height)
        if background is not None
        else _make_scene(rng, width, height)
    )
    look = _plan_look(rng, n, fps, "screen")
    glare_uv = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.8, 0.2)])
    glare_gain = float(rng.uniform(0.15, 0.6))
    moire = (
        float(rng.uniform(0.45, 0.75)),
        float(rng.uniform(0.04, 0.12)),
        float(rng.uniform(0, math.pi)),
    )
    noise = rng.normal(0, look.noise, (height + 16, width + 16)).astype(np.float32)
    frames: list[np.ndarray] = []
    boxes: list[Box | None] = []
    homs: list[np.ndarray] = []
    first_visible = -1
    prev_c = None
    screen = _Screen(dev, source.content_size)
    levels: list[np.ndarray] = []
    shown = -1
    for k in range(n):
        if order[k] != shown:
            shown = order[k]
            levels = screen.levels(source.frame(shown))
        R = _rotation(pose.yaw[k], pose.pitch[k], pose.roll[k])
        t = np.array([pose.x[k], pose.y[k], pose.z[k]])
        H = K @ np.column_stack([R[:, 0], R[:, 1], t]) @ to_plane
        H /= H[2, 2]
        frame = scene.copy()
        glare = glare_gain * _glare_strength(pose.yaw[k], pose.pitch[k])
        gcenter = (
            fcx + fw * (glare_uv[0] - 0.02 * pose.yaw[k]),
            fcy + fw * (glare_uv[1] + 0.02 * pose.pitch[k]),
        )
        _composite(frame, levels, H, "screen", glare, gcenter, fw, moire)
        fc = _apply(H, np.array([[fcx, fcy]]))[0]
        motion = np.zeros(2) if prev_c is None else fc - prev_c
        prev_c = fc
        frame = _camera(frame, rng, look, k, motion, noise)
        frames.append(frame)
        homs.append(H @ np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1.0]]))  # content px -> frame
        b = boxes_src[k]
        if b is None:
            boxes.append(None)
            continue
        x, y, bw, bh = b
        corners = np.array([[x, y], [x + bw, y], [x, y + bh], [x + bw, y + bh]])
        corners += np.array([ox, oy])
        pc = _apply(H, corners)
        x0, y0 = pc.min(0)
        x1, y1 = pc.max(0)
        box = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        boxes.append(render.visible_box(box, width, height))
        inside = x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height
        if first_visible < 0 and inside and box[2] >= MIN_VISIBLE_FACE_PX:
            first_visible = k
    if first_visible < 0:
        first_visible = n - 1
    return AttackClip(
        frames,
        float(fps),
        first_visible,
        boxes,
        kind="replay",
        homographies=homs,
        face_width_m=face_width_m,
    )


def enrol_replayed(
    engine: Any,
    store: Any,
    video: Path,
    clips: Sequence[str] | None = None,
) -> tuple[dict[str, ReplaySource], dict[str, Any]]:
    """Load each replayed clip under `video` and enrol its person as a resident, through the
    normal enrolment path (`api.enroll`, the crops as PNG bytes), from frames the replays never
    show. Returns the sources by clip and what enrolment said (accepted / rejected per clip);
    a clip whose person could not be enrolled is left out (its replays would prove nothing)."""
    from facegate import api
    from facegate.errors import FaceGateError

    sources: dict[str, ReplaySource] = {}
    report: dict[str, Any] = {}
    for rel in clips if clips is not None else list(REPLAY_CLIPS):
        path = video / rel
        if not path.is_file():
            report[rel] = {"error": "clip not found"}
            continue
        src = load_replay_source(path, engine.detect, clip=rel)
        good, why = [], []
        for k, img in zip(src.source_frames[0], src.enrol, strict=True):
            try:  # the enrolment path's own checks: one clear, large enough face
                api.enrolment_face(engine, img, f"frame {k}")
                good.append((k, img))
            except FaceGateError as exc:
                why.append(str(exc))
        chosen = [good[round(float(i))] for i in np.linspace(0, len(good) - 1, 3)] if good else []
        chosen = list(dict(chosen).items())  # distinct frames
        photos = [cv2.imencode(".png", img)[1].tobytes() for _, img in chosen]
        rep = api.enroll(engine, store, src.person, photos, confirm_other_person=True)
        report[rel] = {
            "person": src.person,
            "accepted": len(rep.accepted),
            "rejected": [str(e) for _, e in rep.rejected],
            "candidates_refused": why,
            "enrol_frames": [k for k, _ in chosen],
            "replay_frames": [src.source_frames[1][0], src.source_frames[1][-1]],
        }
        if rep.accepted:
            sources[rel] = src
        else:  # e.g. every frame before the replays looks away (enrolment's min_frontal)
            report[rel]["error"] = "no frame before the replays passes enrolment; clip left out"
    return sources, report
