"""Presentation-attack clips: a real face photo printed on paper or shown on a phone/tablet
screen, held up to the intercom camera and moved by hand.

The attack is rendered with real geometry, because that is what the model-free liveness check
tests: the photo is a plane in front of a pinhole camera, its 3D pose (distance, yaw, pitch,
roll, lateral position) follows a smooth random hand-held trajectory, usually approaching the
camera, and every frame is the photo warped by the homography K [r1 r2 t] of that pose. So the
face on it moves exactly as a plane does, whatever the hand does.

What the clip contains, and why:

- print: the photo with a paper border (off-white, slightly textured), print tone (lifted
  blacks, lower contrast and saturation), one or two fingers holding the edge, and a moving
  glare spot where the sheet reflects a light;
- screen: the photo inside a black bezel, emissive look (brighter, bluish, grey blacks), the
  screen's pixel grid sampled by the camera's pixels (aliasing draws a moire pattern that moves
  and changes scale with the pose), and a glossy glare;
- the camera: defocus, motion blur along the image motion, exposure drift, sensor noise and a
  JPEG round trip like a stream codec.

Face sizes, distances and durations match `facegate_bench.clips.render_visit` (the face grows
from about 45-80 px to 140-230 px wide in a 640x480 frame), and the result is a `VisitClip`,
so the door benchmark can replay attack visits next to real ones. Everything is drawn from
the caller's `rng`: a seed reproduces a clip exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from facegate_bench import render
from facegate_bench.clips import (  # noqa: F401  (save_preview: contact sheets of attacks too)
    LFW_FACE_BOX,
    LFW_SIZE,
    MIN_VISIBLE_FACE_PX,
    VisitClip,
    save_preview,
)
from facegate_bench.render import Box

AttackKind = Literal["print", "screen"]
ATTACK_KINDS: tuple[str, ...] = ("print", "screen")


@dataclass
class AttackClip(VisitClip):
    """A rendered attack visit. `homographies[i]` maps photo pixels to frame pixels in frame i
    (the ground truth a planar object obeys); `kind` is "print" or "screen"."""

    kind: str = "print"
    homographies: list[np.ndarray] = field(default_factory=list)
    face_width_m: float = 0.0  # physical width of the face on the print/screen


def render_attack(
    photo: np.ndarray,
    rng: np.random.Generator,
    *,
    kind: AttackKind = "print",
    face_box: Box | None = None,
    size: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    duration_s: float = 2.5,
    background: np.ndarray | None = None,
    approach: bool | None = None,
) -> AttackClip:
    """Render one print or screen attack with `photo` (gray or BGR uint8, any size).

    `face_box` is the face in the photo as (x, y, w, h) in the detector's convention (forehead
    to chin); default: the LFW framing for a 250x250 photo, else a centred box. `approach`
    forces (True) or forbids (False) walking the attack up to the camera; by default about a
    quarter of attacks are held roughly at one distance (the hardest case for a motion check).
    """
    if kind not in ATTACK_KINDS:
        raise ValueError(f"kind must be one of {ATTACK_KINDS}, got {kind!r}")
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"frame size {size} is too small for an attack clip")
    if fps <= 0 or duration_s <= 0:
        raise ValueError("fps and duration_s must be positive")
    n = max(2, round(fps * duration_s))
    img = render.as_bgr(photo, "photo", min_side=32)
    if face_box is None:
        face_box = _default_face_box(img)
    fx, fy, fw, fh = (float(v) for v in face_box)
    if fw <= 4 or fh <= 4:
        raise ValueError(f"face box {face_box} is too small")

    # -- the object (texture in its own pixel coordinates) ----------------------------------
    if kind == "print":
        tex, alpha, origin = _make_print(img, rng)
        face_width_m = float(rng.uniform(0.06, 0.16))
    else:
        tex, alpha, origin = _make_screen(img, rng)
        face_width_m = float(rng.uniform(0.035, 0.11))
    ox, oy = origin  # where the photo's (0, 0) sits in the texture
    fcx, fcy = ox + fx + fw / 2, oy + fy + fh / 2  # face centre in texture pixels
    ppm = fw / face_width_m  # texture pixels per metre on the plane
    to_plane = np.array([[1 / ppm, 0, -fcx / ppm], [0, 1 / ppm, -fcy / ppm], [0, 0, 1]])

    # -- camera and trajectory ---------------------------------------------------------------
    f = float(rng.uniform(0.6, 1.0)) * width
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    pose = _plan_pose(rng, n, fps, width, height, f, face_width_m, approach)

    scene = (
        render.fit_background(background, width, height)
        if background is not None
        else _make_scene(rng, width, height)
    )
    look = _plan_look(rng, n, fps, kind)
    glare_uv = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.8, 0.2)])  # in face widths
    glare_gain = float(rng.uniform(0.15, 0.6) if kind == "screen" else rng.uniform(0.0, 0.5))
    moire = (
        float(rng.uniform(0.45, 0.75)),
        float(rng.uniform(0.04, 0.12)),
        float(rng.uniform(0, math.pi)),
    )  # (pitch in frame px near, depth, grid angle)

    levels = _pyramid(tex, alpha)
    noise = rng.normal(0, look.noise, (height + 16, width + 16)).astype(np.float32)
    frames: list[np.ndarray] = []
    boxes: list[Box | None] = []
    homs: list[np.ndarray] = []
    first_visible = -1
    prev_c = None
    corners = np.array([[fx, fy], [fx + fw, fy], [fx, fy + fh], [fx + fw, fy + fh]]) + origin
    for k in range(n):
        R = _rotation(pose.yaw[k], pose.pitch[k], pose.roll[k])
        t = np.array([pose.x[k], pose.y[k], pose.z[k]])
        Hp = K @ np.column_stack([R[:, 0], R[:, 1], t])  # plane (metres) -> frame
        H = Hp @ to_plane  # texture pixels -> frame
        H /= H[2, 2]
        frame = scene.copy()
        glare = glare_gain * _glare_strength(pose.yaw[k], pose.pitch[k])
        gcenter = (
            fcx + fw * (glare_uv[0] - 0.02 * pose.yaw[k]),
            fcy + fw * (glare_uv[1] + 0.02 * pose.pitch[k]),
        )
        _composite(frame, levels, H, kind, glare, gcenter, fw, moire)
        fc = _apply(H, np.array([[fcx, fcy]]))[0]
        motion = np.zeros(2) if prev_c is None else fc - prev_c
        prev_c = fc
        frame = _camera(frame, rng, look, k, motion, noise)
        pc = _apply(H, corners)
        x0, y0 = pc.min(0)
        x1, y1 = pc.max(0)
        box = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        frames.append(frame)
        boxes.append(render.visible_box(box, width, height))
        homs.append(H @ np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1.0]]))  # photo px -> frame
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
        kind=kind,
        homographies=homs,
        face_width_m=face_width_m,
    )


def render_attack_visit(
    face: np.ndarray,
    rng: np.random.Generator,
    *,
    kind: AttackKind = "print",
    size: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    duration_s: float = 2.0,
    background: np.ndarray | None = None,
) -> AttackClip:
    """The door benchmark's attack visit: `face` is an LFW-framed photo (250x250, gray or BGR)
    of the person, printed or on a screen; same arguments as `clips.render_visit` plus
    `kind`."""
    return render_attack(
        face, rng, kind=kind, size=size, fps=fps, duration_s=duration_s, background=background
    )


# -- the object -------------------------------------------------------------------------------


def _default_face_box(img: np.ndarray) -> Box:
    h, w = img.shape[:2]
    if (h, w) == (LFW_SIZE, LFW_SIZE):
        return LFW_FACE_BOX
    s = 0.4 * min(w, h)
    return (w / 2 - s / 2, h / 2 - 0.65 * s, s, 1.3 * s)


def _make_print(
    img: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Photo on paper with a border, print tone and fingers: (BGR float32, alpha, origin)."""
    h, w = img.shape[:2]
    x = img.astype(np.float32) / 255.0
    # print tone: ink never reaches black, paper limits white, saturation drops
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.6, 0.95)
    lo, hi = rng.uniform(0.04, 0.14), rng.uniform(0.85, 0.97)
    x = lo + (hi - lo) * np.clip(x, 0, 1) ** rng.uniform(0.85, 1.2)
    x *= 1 + rng.normal(0, 0.03, 3).astype(np.float32)
    mx = round(w * rng.uniform(0.03, 0.25))
    my_top = round(h * rng.uniform(0.03, 0.2))
    my_bot = round(h * rng.uniform(0.03, 0.3))
    pad = round(0.08 * max(w, h))  # room for fingers around the sheet
    H, W = h + my_top + my_bot + 2 * pad, w + 2 * mx + 2 * pad
    tex = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    paper = np.array([0.93, 0.94, 0.95]) * rng.uniform(0.85, 1.0) + rng.normal(0, 0.015, 3)
    sx0, sy0 = pad, pad
    sx1, sy1 = pad + w + 2 * mx, pad + h + my_top + my_bot
    tex[sy0:sy1, sx0:sx1] = paper
    alpha[sy0:sy1, sx0:sx1] = 1.0
    ox, oy = pad + mx, pad + my_top
    tex[oy : oy + h, ox : ox + w] = x
    tex[sy0:sy1, sx0:sx1] += rng.normal(0, 0.012, (sy1 - sy0, sx1 - sx0, 1)).astype(np.float32)
    _fingers(tex, alpha, (sx0, sy0, sx1, sy1), rng, int(rng.integers(1, 3)))
    return np.clip(tex, 0, 1), alpha, (float(ox), float(oy))


def _make_screen(
    img: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Photo on a phone/tablet: emissive tone inside a black bezel, a hand at one edge."""
    h, w = img.shape[:2]
    x = img.astype(np.float32) / 255.0
    black = rng.uniform(0.03, 0.1)
    x = black + (1 - black) * np.clip(x * rng.uniform(1.0, 1.25), 0, 1) ** rng.uniform(0.8, 1.0)
    x *= np.array([1.0 + rng.uniform(0, 0.08), 1.0, 1.0 - rng.uniform(0, 0.05)], np.float32)
    # screens show the photo letterboxed: some dark screen area around it
    sx, sy = round(w * rng.uniform(0.0, 0.1)), round(h * rng.uniform(0.0, 0.2))
    bez = round(max(w, h) * rng.uniform(0.03, 0.08))
    chin = round(max(w, h) * rng.uniform(0.0, 0.08))
    pad = round(0.08 * max(w, h))
    H = h + 2 * sy + 2 * bez + chin + 2 * pad
    W = w + 2 * sx + 2 * bez + 2 * pad
    tex = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    b0x, b0y = pad, pad
    b1x, b1y = W - pad, H - pad
    body = np.array([0.05, 0.05, 0.06]) + rng.uniform(0, 0.1)
    r = round(bez * 1.5)
    _rounded_rect(tex, alpha, (b0x, b0y, b1x, b1y), r, body)
    s0x, s0y = b0x + bez, b0y + bez
    tex[s0y : s0y + h + 2 * sy, s0x : s0x + w + 2 * sx] = black
    ox, oy = s0x + sx, s0y + sy
    tex[oy : oy + h, ox : ox + w] = x
    _fingers(tex, alpha, (b0x, b0y, b1x, b1y), rng, int(rng.integers(0, 3)))
    return np.clip(tex, 0, 1), alpha, (float(ox), float(oy))


def _rounded_rect(
    tex: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int], r: int, colour: np.ndarray
) -> None:
    x0, y0, x1, y1 = box
    mask = np.zeros(alpha.shape, np.uint8)
    cv2.rectangle(mask, (x0 + r, y0), (x1 - r, y1), 255, -1)
    cv2.rectangle(mask, (x0, y0 + r), (x1, y1 - r), 255, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    _paint(tex, alpha, mask.astype(np.float32) / 255.0, colour)


def _paint(tex: np.ndarray, alpha: np.ndarray, m: np.ndarray, colour: np.ndarray) -> None:
    """Paint `colour` over the texture with coverage `m` (0-1), opaque where painted."""
    tex[:] = tex * (1 - m[..., None]) + colour.astype(np.float32) * m[..., None]
    alpha[:] = np.maximum(alpha, m)


def _fingers(
    tex: np.ndarray,
    alpha: np.ndarray,
    sheet: tuple[int, int, int, int],
    rng: np.random.Generator,
    count: int,
) -> None:
    """Thumbs over the left/right/bottom edge of the sheet, skin-coloured and shaded."""
    x0, y0, x1, y1 = sheet
    sw = x1 - x0
    skin = np.array([0.45, 0.55, 0.75]) * rng.uniform(0.6, 1.1)
    for _ in range(count):
        side = rng.choice(["left", "right", "bottom"])
        tw, tl = 0.1 * sw * rng.uniform(0.8, 1.2), 0.22 * sw * rng.uniform(0.8, 1.2)
        if side == "bottom":
            cx, cy = x0 + sw * rng.uniform(0.2, 0.8), y1 + tl * 0.15
            axes, ang = (tw / 2, tl / 2), 0.0
        else:
            cy = y0 + (y1 - y0) * rng.uniform(0.55, 0.9)
            cx = x0 - tl * 0.15 if side == "left" else x1 + tl * 0.15
            axes, ang = (tl / 2, tw / 2), float(rng.uniform(-25, 25))
        m = np.zeros(alpha.shape, np.float32)
        cv2.ellipse(
            m,
            (round(cx), round(cy)),
            (round(axes[0]), round(axes[1])),
            ang,
            0,
            360,
            1.0,
            -1,
            cv2.LINE_AA,
        )
        m = cv2.GaussianBlur(m, (0, 0), 1.0)
        _paint(tex, alpha, m, skin * (0.85 + 0.15 * rng.random()))


# -- motion -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pose:
    x: np.ndarray  # metres, camera frame (x right, y down, z forward)
    y: np.ndarray
    z: np.ndarray
    yaw: np.ndarray  # degrees
    pitch: np.ndarray
    roll: np.ndarray


def _tremor(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Hand tremor: white noise smoothed over a few frames."""
    x = rng.normal(0, sigma, n + 4)
    return np.convolve(x, np.ones(5) / 5 * math.sqrt(5), mode="valid")[:n]


def _plan_pose(
    rng: np.random.Generator,
    n: int,
    fps: float,
    width: int,
    height: int,
    f: float,
    face_w: float,
    approach: bool | None,
) -> _Pose:
    t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    secs = np.arange(n, dtype=np.float64) / fps
    unit = min(width / 640, height / 480)
    if approach is None:
        approach = bool(rng.random() < 0.75)
    w1 = rng.uniform(140, 230) * unit
    w0 = rng.uniform(45, 80) * unit if approach else w1 / rng.uniform(1.0, 1.25)
    w1 = min(w1, 0.6 * height)
    slow = rng.uniform(0.2, 0.8)
    progress = (1 - slow) * t + slow * (1 - (1 - t) ** 2)
    widths = 1.0 / (1 / w0 + (1 / w1 - 1 / w0) * progress)
    z = f * face_w / widths
    # where the face centre is in the image: starts anywhere central, ends near the middle
    u0, v0 = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.35, 0.6)
    u1 = width * (0.5 + rng.normal(0, 0.06))
    v1 = height * rng.uniform(0.4, 0.5)
    u = u0 + (u1 - u0) * progress + widths * 0.05 * render.wave(rng, secs, (0.3, 1.0))
    v = v0 + (v1 - v0) * progress + widths * 0.04 * render.wave(rng, secs, (0.3, 1.0))
    z = z * (1 + _tremor(rng, n, 0.004))
    x = (u - width / 2) * z / f
    y = (v - height / 2) * z / f
    yaw = (
        rng.uniform(-15, 15)
        + rng.uniform(2, 20) * render.wave(rng, secs, (0.2, 0.8))
        + _tremor(rng, n, 0.4)
    )
    pitch = (
        rng.uniform(-15, 15)
        + rng.uniform(2, 15) * render.wave(rng, secs, (0.2, 0.8))
        + _tremor(rng, n, 0.4)
    )
    roll = rng.uniform(-10, 10) + rng.uniform(1, 8) * render.wave(rng, secs, (0.2, 0.8))
    return _Pose(x, y, z, yaw, pitch, roll)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _apply(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.column_stack([pts, np.ones(len(pts))]) @ H.T
    return p[:, :2] / p[:, 2:3]


def _glare_strength(yaw: float, pitch: float) -> float:
    """A reflection is strongest at one orientation and fades as the sheet turns away."""
    return math.exp(-((yaw - 5) ** 2 + (pitch + 10) ** 2) / (2 * 12.0**2))


# -- rendering --------------------------------------------------------------------------------


def _pyramid(tex: np.ndarray, alpha: np.ndarray) -> list[np.ndarray]:
    """Premultiplied BGRA float32 texture and half-size copies (no aliasing when the object
    is far away; the screen's moire is drawn separately, on purpose)."""
    return render.pyramid(np.dstack([tex * alpha[..., None], alpha]).astype(np.float32), 5)


def _composite(
    frame: np.ndarray,
    levels: list[np.ndarray],
    H: np.ndarray,
    kind: str,
    glare: float,
    gcenter: tuple[float, float],
    face_px: float,
    moire: tuple[float, float, float],
) -> None:
    """Warp the object into the frame (only its bounding box), add moire and glare, blend."""
    th, tw = levels[0].shape[:2]
    c = _apply(H, np.array([[0, 0], [tw, 0], [0, th], [tw, th]], np.float64))
    bounds = render.warp_bounds(c, frame.shape)
    if bounds is None:
        return
    x0, y0, x1, y1 = bounds
    Hs = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]]) @ H
    size = (x1 - x0, y1 - y0)
    J = _jacobian(Hs, tw / 2, th / 2)
    scale = math.sqrt(abs(np.linalg.det(J)))  # frame px per texture px near the centre
    level = render.pyramid_level(scale, len(levels), 1.3)
    Hl = Hs @ np.diag([2.0**level, 2.0**level, 1.0])
    fg = cv2.warpPerspective(
        levels[level],
        Hl,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    a = fg[..., 3]
    col = fg[..., :3]
    if glare > 0.01 or kind == "screen":
        # texture coordinates of every frame pixel: warp a coordinate ramp the same way
        uv = cv2.warpPerspective(
            _coords(th, tw), Hs, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        u, v = uv[..., 0], uv[..., 1]
        if kind == "screen":
            # the pixel grid sampled at the camera's pixel centres: aliasing draws the moire
            pitch_px, depth, ang = moire
            k = 2 * math.pi * max(scale, 1e-6) / pitch_px  # radians per texture px
            ca, sa = k * math.cos(ang), k * math.sin(ang)
            g = cv2.multiply(np.cos(ca * u + sa * v), np.cos(ca * v - sa * u))
            shade = ((1 - 0.5 * depth) - (0.5 * depth) * g).astype(np.float32)
            col = cv2.multiply(col, cv2.merge([shade, shade, shade]))
        if glare > 0.01:
            gx, gy = float(gcenter[0]), float(gcenter[1])
            r2 = (u - gx) ** 2 + (v - gy) ** 2
            spot = (float(glare) * np.exp(r2 * float(-1 / (0.6 * face_px) ** 2)) * a).astype(
                np.float32
            )
            col = cv2.add(col, cv2.merge([spot, spot, spot]))
    roi = frame[y0:y1, x0:x1]
    inv_a = 1 - a
    back = cv2.multiply(roi.astype(np.float32), cv2.merge([inv_a, inv_a, inv_a]))
    out = cv2.addWeighted(back, 1.0, np.minimum(col, 1), 255.0, 0.5)
    roi[:] = np.clip(out, 0, 255).astype(np.uint8)


_COORDS: dict[tuple[int, int], np.ndarray] = {}


def _coords(h: int, w: int) -> np.ndarray:
    """(h, w, 2) float32 texture coordinates (x, y), cached per texture size."""
    key = (h, w)
    if key not in _COORDS:
        if len(_COORDS) > 8:
            _COORDS.clear()
        yy, xx = np.indices((h, w), dtype=np.float32)
        _COORDS[key] = cv2.merge([xx, yy])
    return _COORDS[key]


def _jacobian(H: np.ndarray, x: float, y: float) -> np.ndarray:
    """d(frame)/d(texture) of a homography at one point."""
    p = H @ np.array([x, y, 1.0])
    return (
        np.array(
            [
                [H[0, 0] * p[2] - p[0] * H[2, 0], H[0, 1] * p[2] - p[0] * H[2, 1]],
                [H[1, 0] * p[2] - p[1] * H[2, 0], H[1, 1] * p[2] - p[1] * H[2, 1]],
            ]
        )
        / p[2] ** 2
    )


@dataclass(frozen=True)
class _Look:
    gain: np.ndarray
    defocus: float
    shutter: float
    noise: float
    jpeg: list[int]


def _plan_look(rng: np.random.Generator, n: int, fps: float, kind: str) -> _Look:
    secs = np.arange(n) / fps
    gain = rng.uniform(0.8, 1.15) + rng.uniform(0.0, 0.08) * render.wave(rng, secs, (0.2, 0.8))
    jpeg = [int(q) for q in rng.integers(50, 92, n)] if rng.random() < 0.7 else [0] * n
    return _Look(
        gain,
        float(rng.uniform(0.0, 1.3)),
        float(rng.uniform(0.15, 0.6)),
        float(rng.uniform(1.5, 5.0)),
        jpeg,
    )


def _camera(
    frame: np.ndarray,
    rng: np.random.Generator,
    look: _Look,
    k: int,
    motion: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    out = frame
    blur = float(np.hypot(*motion)) * look.shutter
    if blur >= 1.5:
        ang = math.atan2(float(motion[1]), float(motion[0]))
        L = min(round(blur) | 1, 15)
        kern = np.zeros((L, L), np.float32)
        c = L // 2
        dx, dy = math.cos(ang) * c, math.sin(ang) * c
        cv2.line(kern, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
        out = cv2.filter2D(out, -1, kern / max(kern.sum(), 1e-6))
    if look.defocus > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), look.defocus)
    h, w = out.shape[:2]
    oy, ox = int(rng.integers(0, 16)), int(rng.integers(0, 16))
    n = cv2.cvtColor(noise[oy : oy + h, ox : ox + w], cv2.COLOR_GRAY2BGR)
    out = cv2.addWeighted(out.astype(np.float32), float(look.gain[k]), n, 1.0, 0.5)
    out = np.clip(out, 0, 255).astype(np.uint8)
    q = look.jpeg[k]
    if q > 0:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


# -- the scene --------------------------------------------------------------------------------


def _make_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A plain entrance (wall gradient, door frame, floor) with the attacker's torso, no face."""
    yy = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    c0 = rng.uniform(80, 200, 3).astype(np.float32)
    c1 = c0 * rng.uniform(0.7, 1.1)
    img = c0 + (c1 - c0) * yy + np.zeros((1, width, 1), np.float32)
    img = img.astype(np.uint8)
    fx0 = int(width * rng.uniform(0.05, 0.3))
    fx1 = int(width * rng.uniform(0.7, 0.95))
    frame_c = tuple(float(v) for v in rng.uniform(40, 160, 3))
    cv2.rectangle(img, (fx0, int(height * 0.05)), (fx1, height), frame_c, int(rng.integers(4, 14)))
    floor_y = int(height * rng.uniform(0.8, 0.92))
    cv2.rectangle(
        img, (0, floor_y), (width, height), tuple(float(v) for v in rng.uniform(40, 120, 3)), -1
    )
    # the attacker's body behind the sheet: shoulders and torso, no head in view
    cloth = tuple(float(v) for v in rng.uniform(20, 140, 3))
    cx = width * rng.uniform(0.35, 0.65)
    top = height * rng.uniform(0.45, 0.65)
    pts = np.array(
        [
            [cx - 0.3 * width, height],
            [cx - 0.25 * width, top + 0.05 * height],
            [cx - 0.08 * width, top],
            [cx + 0.08 * width, top],
            [cx + 0.25 * width, top + 0.05 * height],
            [cx + 0.3 * width, height],
        ]
    )
    cv2.fillPoly(img, [pts.round().astype(np.int32)], cloth, cv2.LINE_AA)
    noise = rng.normal(0, 3, (height, width, 1))
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
