"""Synthetic door visits: one LFW photo rendered as a short clip of a person walking up to the
intercom camera, so the real runtime (detect -> track -> recognise -> decide) can be timed and
scored on thousands of residents and strangers without filming anyone.

What a clip contains, and why:

- The head is cut out of the photo with a soft egg-shaped mask (no square photo edge for the
  detector to latch onto) and sits on a neck and shoulders in the colours of the photo's skin and
  clothing, so the visitor looks like a person and not like a pasted stamp.
- The background is an entrance scene (wall, door frame, glass, floor, fixtures, texture) made of
  straight edges and smooth shading only, so every detection is the visitor.
- The visitor appears far away or walks in from a side or the bottom edge, then approaches: the
  face grows from ~40-60 px to ~140-220 px wide (640x480 frame) as 1/distance, with gait sway,
  a little drift and a few degrees of head roll.
- Camera effects are random per visit but smooth over time (a real camera does not flicker):
  motion blur along the motion, auto-exposure drift, backlight, gamma and white balance, sensor
  noise, and JPEG coding of the face region like a stream codec. They are mild: the point is to
  measure the system on realistic frames, not to defeat it.

Everything is drawn from the caller's `rng`, so a seed reproduces a clip exactly. Per frame only
the head's bounding box is warped and blended; the rest is a handful of full-frame uint8 ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import cv2
import numpy as np

from facegate_bench.render import (
    Box,
    as_bgr,
    fit_background,
    pyramid,
    pyramid_level,
    visible_box,
    warp_bounds,
    wave,
)

#: LFW (deep-funneled) images are this size; other face images are resized to it.
LFW_SIZE = 250
#: YuNet's face box on LFW gray images, (x, y, w, h): the mean over 40 random images. Using the
#: detector's own convention (brows to chin, 1.3x taller than wide) makes the ground truth
#: comparable with detections by IoU.
LFW_FACE_BOX = (78.0, 66.0, 100.0, 130.0)
#: The time-to-open clock starts when the face is this wide and entirely inside the frame.
MIN_VISIBLE_FACE_PX = 40.0


@dataclass
class VisitClip:
    """One rendered visit.

    `face_boxes[i]` is the face box (x, y, w, h) in frame `i`, clipped to the frame, or None when
    less than half of the face is in view. `first_visible` is the first frame in which the face
    is entirely inside the frame and at least `MIN_VISIBLE_FACE_PX` wide.
    """

    frames: list[np.ndarray]
    fps: float
    first_visible: int
    face_boxes: list[Box | None]

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


def render_visit(
    face: np.ndarray,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    duration_s: float = 2.0,
    background: np.ndarray | None = None,
) -> VisitClip:
    """Render one visit of the person in `face`: an LFW-framed photo (gray or BGR uint8, face
    centred, resized to 250x250 if it is another size).

    `size` is (width, height); face sizes scale with the frame relative to 640x480.
    `background` (gray or BGR, any size) replaces the generated scene and is scaled and
    centre-cropped to cover the frame.
    """
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"frame size {size} is too small for a visit clip")
    if fps <= 0 or duration_s <= 0:
        raise ValueError("fps and duration_s must be positive")
    n = max(2, round(fps * duration_s))

    photo = _as_bgr_photo(face)
    backlit = bool(rng.random() < 0.3) and background is None  # needs our bright doorway
    scene = (
        fit_background(background, width, height)
        if background is not None
        else make_background(rng, width, height, backlit)
    )
    motion = _plan_motion(rng, n, fps, width, height)
    look = _plan_look(rng, n, fps, motion)
    # The camera's fixed response (gamma, white balance) is the same in every frame: apply it
    # once to the scene and the photo rather than per frame.
    scene = cv2.LUT(scene, look.tone)
    visitor = _make_visitor(cv2.LUT(photo, look.tone), rng, backlit)
    # Sensor noise: one pool per clip, read at a random offset per frame (fresh-looking noise for
    # one draw). Random bytes mapped through Gaussian quantiles are far cheaper than normal
    # draws; stored +128 so exposure and noise are one saturating addWeighted per frame.
    quantiles = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)])
    to_noise = np.clip(128.5 + quantiles * look.noise_sigma, 0, 255).astype(np.uint8)
    npix = height * width * 3
    pool = cv2.LUT(rng.integers(0, 256, (npix + 4096, 1), dtype=np.uint8), to_noise).ravel()

    _, _, fw, fh = LFW_FACE_BOX
    frames: list[np.ndarray] = []
    boxes: list[Box | None] = []
    first_visible = -1
    for k in range(n):
        cx, cy, w = float(motion.cx[k]), float(motion.cy[k]), float(motion.widths[k])
        # Photo -> frame: rotate by the roll and scale about the face centre, then move it.
        m = cv2.getRotationMatrix2D(visitor.pivot, float(motion.roll[k]), w / fw)
        m[:, 2] += (cx - visitor.pivot[0], cy - visitor.pivot[1])
        frame = scene.copy()
        _draw_body(frame, visitor, m)
        _composite(frame, visitor, m, float(look.blur_px[k]), float(look.blur_angle[k]))
        start = int(rng.integers(0, 4096))
        noise = pool[start : start + npix].reshape(height, width, 3)  # contiguous: fast
        # Exposure, contrast and noise in one pass: frame * gain + (noise - 128) + bias.
        frame = cv2.addWeighted(frame, float(look.gain[k]), noise, 1.0, float(look.bias[k]) - 128.0)
        h = w * fh / fw
        box = (cx - w / 2, cy - h / 2, w, h)
        if look.jpeg_quality[k] > 0:
            _jpeg_round_trip(frame, box, look.jpeg_quality[k])
        frames.append(frame)
        boxes.append(visible_box(box, width, height))
        inside = box[0] >= 0 and box[1] >= 0 and box[0] + w <= width and box[1] + h <= height
        if first_visible < 0 and inside and w >= MIN_VISIBLE_FACE_PX:
            first_visible = k
    if first_visible < 0:  # the motion plan frames the face by the end; keep the contract anyway
        first_visible = n - 1
    return VisitClip(frames, float(fps), first_visible, boxes)


def save_preview(
    clip: VisitClip, path: str | Path, *, count: int = 6, columns: int = 3, boxes: bool = True
) -> Path:
    """Write a contact sheet PNG of `count` evenly spaced frames, so a person can check that a
    visit looks like someone approaching a camera. Ground-truth face boxes are drawn in green
    (red before `first_visible`)."""
    path = Path(path)
    n = len(clip.frames)
    idx = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
    h, w = clip.frames[0].shape[:2]
    tile_w = min(w, 400)
    s = tile_w / w
    tile_h = round(h * s)
    tiles = []
    for i in idx:
        tile = cv2.resize(clip.frames[i], (tile_w, tile_h), interpolation=cv2.INTER_AREA)
        box = clip.face_boxes[i]
        if boxes and box is not None:
            x, y, bw, bh = (v * s for v in box)
            colour = (0, 200, 0) if i >= clip.first_visible else (0, 0, 230)
            cv2.rectangle(tile, (round(x), round(y)), (round(x + bw), round(y + bh)), colour, 1)
        label = f"{i}/{n}  t={i / clip.fps:.2f}s"
        for col, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(
                tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, thick, cv2.LINE_AA
            )
        tiles.append(tile)
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * tile_h, columns * tile_w, 3), 32, np.uint8)
    for j, tile in enumerate(tiles):
        r, c = divmod(j, columns)
        sheet[r * tile_h : (r + 1) * tile_h, c * tile_w : (c + 1) * tile_w] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), sheet):
        raise OSError(f"could not write preview {path}")
    return path


def _jpeg_round_trip(frame: np.ndarray, box: Box, quality: int) -> None:
    """JPEG-code the region around the face in place, as a stream codec would.

    Only the face and its surroundings are coded, cut on the 16-px macroblock grid of the whole
    frame so the blocks are those a full-frame encode would make: the artefacts that matter for
    recognition are all there, and coding a fraction of the frame keeps rendering fast.
    """
    h, w = frame.shape[:2]
    x, y, bw, bh = box
    x0 = max(0, int((x - 0.5 * bw) // 16) * 16)
    y0 = max(0, int((y - 0.5 * bh) // 16) * 16)
    x1 = min(w, -(-int(x + 1.5 * bw) // 16) * 16)
    y1 = min(h, -(-int(y + 1.5 * bh) // 16) * 16)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return
    roi = frame[y0:y1, x0:x1]
    ok, buf = cv2.imencode(".jpg", roi, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if ok:
        roi[:] = cv2.imdecode(buf, cv2.IMREAD_COLOR)


# -- the visitor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Visitor:
    levels: list[np.ndarray]  # head sprite, premultiplied BGRA, and its half-size copies
    pivot: tuple[float, float]  # face centre in photo coordinates
    offset: tuple[int, int]  # photo coordinates of the sprite's top-left pixel
    body: np.ndarray  # torso outline, photo coordinates (k, 2)
    neck: np.ndarray
    cloth: tuple[float, float, float]
    skin: tuple[float, float, float]


def _as_bgr_photo(face: np.ndarray) -> np.ndarray:
    """The photo as 250x250 BGR uint8: the face box constants are in LFW's framing."""
    img = as_bgr(face, "face image")
    if img.shape[:2] != (LFW_SIZE, LFW_SIZE):
        img = cv2.resize(img, (LFW_SIZE, LFW_SIZE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def _make_visitor(photo: np.ndarray, rng: np.random.Generator, backlit: bool) -> _Visitor:
    """Cut the head out of the photo and describe the neck and shoulders under it.

    The head keeps hair and chin (an egg: round skull, narrower jaw) plus the photo's own neck,
    feathered so no photo edge shows. Shoulders are a flat polygon in the clothing colour
    sampled from the photo's bottom corners, so the drawn body continues the photo.
    """
    s = LFW_SIZE
    fx, fy, fw, fh = LFW_FACE_BOX
    fcx, fcy = fx + fw / 2, fy + fh / 2
    # A visitor against a bright doorway is under-exposed relative to the scene.
    gain = rng.uniform(0.55, 0.8) if backlit else rng.uniform(0.92, 1.08)

    mask = np.zeros((s, s), np.float32)
    ax = fw * rng.uniform(0.6, 0.66)
    top = fy - fh * rng.uniform(0.24, 0.32)  # hair top: LFW heads start 25-40 px down
    chin = fy + fh * 1.06
    skull_cy = fy + fh * 0.38
    neck_w = fw * rng.uniform(0.24, 0.3)
    cv2.ellipse(
        mask,
        (round(fcx), round(skull_cy)),
        (round(ax), round(skull_cy - top)),
        0,
        180,
        360,
        1.0,
        -1,
        cv2.LINE_AA,
    )
    cv2.ellipse(
        mask,
        (round(fcx), round(skull_cy)),
        (round(ax), round(chin - skull_cy)),
        0,
        0,
        180,
        1.0,
        -1,
        cv2.LINE_AA,
    )
    cv2.rectangle(
        mask, (round(fcx - neck_w), round(fy + fh * 0.8)), (round(fcx + neck_w), s), 1.0, -1
    )
    mask = cv2.GaussianBlur(mask, (0, 0), fw * 0.06)
    # Fade the neck out below the collar: lower down LFW photos often show microphones or other
    # people, and the photo's bottom edge must not show as a line.
    fade_from, fade_to = fy + fh * 1.12, fy + fh * 1.32
    rows = np.arange(s, dtype=np.float32)
    mask *= np.clip((fade_to - rows) / (fade_to - fade_from), 0, 1)[:, None]

    # Uneven light across the face (a lamp or the door on one side), mild.
    side = 1.0 + rng.uniform(-0.12, 0.12) * np.linspace(-1, 1, s, dtype=np.float32)
    weight = mask * gain * side[None, :]
    colour = photo.astype(np.float32) * weight[..., None]
    sprite = np.clip(np.dstack([colour, mask * 255.0]) + 0.5, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(sprite[..., 3])
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    sprite = np.ascontiguousarray(sprite[y0:y1, x0:x1])
    levels = pyramid(sprite, 4)  # pre-filtered copies for the distant face

    cloth = np.median(
        np.concatenate(
            [
                photo[228:248, 70:105].reshape(-1, 3),
                photo[228:248, 150:185].reshape(-1, 3),
            ]
        ),
        axis=0,
    )
    cloth = np.clip(cloth * rng.uniform(0.85, 1.05) + rng.normal(0, 6, 3), 0, 255) * gain
    skin = np.median(photo[200:222, 112:144].reshape(-1, 3), axis=0) * gain * 0.92
    shoulder_w = fw * rng.uniform(1.25, 1.5)  # half-width of the shoulders
    shoulder_y = fy + fh * rng.uniform(1.28, 1.42)
    bottom = fcy + 10 * fh  # a whole body below: it always leaves the frame at the bottom
    # Right half of the outline, x from the face's centre line: trapezius slope from the neck,
    # a rounded shoulder (quarter ellipse), the arm down; mirrored for the left half.
    rx, ry = shoulder_w * 0.3, fh * 0.45
    arc = np.linspace(-math.pi / 2, 0, 7)
    half = np.concatenate(
        [
            [[neck_w * 1.1, fy + fh * 0.85], [neck_w * 1.3, shoulder_y - 0.12 * fh]],
            np.stack([shoulder_w - rx + rx * np.cos(arc), shoulder_y + ry + ry * np.sin(arc)], 1),
            [[shoulder_w * 1.04, shoulder_y + 2.5 * fh], [shoulder_w * 1.1, bottom]],
        ]
    )
    body = np.concatenate([half, (half * [-1, 1])[::-1]])
    body[:, 0] += fcx
    neck = np.array(
        [
            [fcx - neck_w, fy + fh * 0.8],
            [fcx + neck_w, fy + fh * 0.8],
            [fcx + neck_w * 0.95, shoulder_y - 0.12 * fh],
            [fcx, shoulder_y + 0.02 * fh],
            [fcx - neck_w * 0.95, shoulder_y - 0.12 * fh],
        ]
    )
    return _Visitor(
        levels,
        (fcx, fcy),
        (x0, y0),
        body,
        neck,
        tuple(float(v) for v in cloth),
        tuple(float(v) for v in skin),
    )


def _draw_body(frame: np.ndarray, visitor: _Visitor, m: np.ndarray) -> None:
    """Shoulders and neck, drawn straight into the frame: anti-aliased polygons cost almost
    nothing, whereas warping and blending a frame-sized torso layer would dominate the render."""
    for poly, colour in ((visitor.body, visitor.cloth), (visitor.neck, visitor.skin)):
        pts = poly @ m[:, :2].T + m[:, 2]
        pts = np.clip(pts, -1e4, 1e4)
        cv2.fillPoly(frame, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)


def _composite(
    frame: np.ndarray, visitor: _Visitor, m: np.ndarray, blur: float, angle: float
) -> None:
    """Warp the premultiplied head sprite into its bounding box in the frame, blur it along the
    motion, and blend it over the frame in place.

    `m` maps photo coordinates to the frame; the sprite is the head's bounding box in the photo.
    Premultiplied colour keeps warping and blurring right at the feathered edge (no dark
    fringe). The motion blur is a separable box spanning the motion's x and y extents: exact for
    horizontal or vertical motion, a little wider than a line for diagonal motion, and much
    cheaper than a rotated line kernel.
    """
    levels = visitor.levels
    scale = math.hypot(m[0, 0], m[1, 0])
    # Sample the pyramid level the warp shrinks by at most 2x (level 0 when enlarging), so the
    # distant face comes from a pre-filtered copy instead of aliasing.
    level = pyramid_level(scale, len(levels))
    src = levels[level]
    # Pixel (u, v) of a level is photo pixel offset + 2**level * (u, v) (pyrDown centres its
    # output pixel u on input pixel 2u).
    mm = m.copy()
    mm[:, 2] += mm[:, :2] @ np.asarray(visitor.offset, np.float64)
    mm[:, :2] *= 2.0**level
    sh, sw = src.shape[:2]
    corners = np.array([[0, 0, 1], [sw, 0, 1], [0, sh, 1], [sw, sh, 1]], np.float64) @ mm.T
    bounds = warp_bounds(corners, frame.shape, math.ceil(blur))
    if bounds is None:
        return
    x0, y0, x1, y1 = bounds
    mm[:, 2] -= (x0, y0)
    fg = cv2.warpAffine(
        src,
        mm,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    if blur >= 1.5:
        rad = math.radians(angle)
        kx = _box_kernel(abs(blur * math.cos(rad)))
        ky = _box_kernel(abs(blur * math.sin(rad)))
        fg = cv2.sepFilter2D(fg, -1, kx, ky, borderType=cv2.BORDER_CONSTANT)
    roi = frame[y0:y1, x0:x1]
    inv = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(fg, 3)), cv2.COLOR_GRAY2BGR)
    back = cv2.multiply(roi, inv, scale=1.0 / 255.0)
    roi[:] = cv2.add(back, cv2.cvtColor(fg, cv2.COLOR_BGRA2BGR))


def _box_kernel(length: float) -> np.ndarray:
    """A 1-D box of fractional length (end taps partly weighted), normalised; [1] if none."""
    if length <= 1.0:
        return np.ones(1, np.float32)
    k = math.ceil(length) | 1
    kernel = np.ones(k, np.float32)
    kernel[[0, -1]] = max(0.0, (length - (k - 2)) / 2)
    return kernel / kernel.sum()


# -- motion and camera ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Motion:
    cx: np.ndarray  # face centre per frame
    cy: np.ndarray
    widths: np.ndarray  # face box width per frame
    roll: np.ndarray  # in-plane rotation, degrees (counter-clockwise)


@dataclass(frozen=True)
class _Look:
    tone: np.ndarray  # fixed camera response (gamma, white balance): a 256x1x3 LUT
    gain: np.ndarray  # per-frame exposure and contrast: out = in * gain + bias
    bias: np.ndarray
    blur_px: np.ndarray  # motion blur length (px) and direction (degrees) per frame
    blur_angle: np.ndarray
    noise_sigma: float
    jpeg_quality: list[int]  # 0 = no JPEG round trip for that frame


def _plan_motion(rng: np.random.Generator, n: int, fps: float, width: int, height: int) -> _Motion:
    """Where the face is in each frame.

    Walking at constant speed towards the camera makes the apparent size grow as 1/distance;
    the visitor slows down a little at the door. Entering from a side or the bottom is over in
    the first half of the clip, and the end position leaves room for sway and drift, so the face
    is fully in view for the last part of every clip.
    """
    t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    secs = np.arange(n, dtype=np.float64) / fps
    unit = min(width / 640, height / 480)
    aspect = LFW_FACE_BOX[3] / LFW_FACE_BOX[2]
    w1 = min(rng.uniform(140, 220) * unit, 0.75 * height / aspect)
    w0 = min(rng.uniform(36, 60) * unit, 0.8 * w1)
    slow = rng.uniform(0.3, 0.8)  # how much the visitor slows down before the intercom
    progress = (1 - slow) * t + slow * (1 - (1 - t) ** 2)
    widths = 1.0 / (1 / w0 + (1 / w1 - 1 / w0) * progress)

    # Gait: lateral sway at half the step rate, vertical bob at the step rate, both in
    # proportion to the face so the motion in pixels grows as the visitor comes closer.
    sway, bob = rng.uniform(0.02, 0.05), rng.uniform(0.01, 0.025)
    drift = rng.uniform(-0.08, 0.08)
    margin_x = w1 * (0.5 + sway + abs(drift)) + 0.02 * width
    margin_y = w1 * (0.5 * aspect + bob) + 0.02 * height
    x1 = float(np.clip(width * (0.5 + rng.normal(0, 0.07)), margin_x, width - margin_x))
    y1 = float(np.clip(height * rng.uniform(0.4, 0.5), margin_y, height - margin_y))

    mode = rng.choice(["distance", "left", "right", "bottom"], p=[0.4, 0.2, 0.2, 0.2])
    t_in = rng.uniform(0.3, 0.55)  # the entry is over by this fraction of the clip
    ease = np.clip(t / t_in, 0, 1)
    ease = ease * ease * (3 - 2 * ease)
    if mode == "distance":
        x0 = width * rng.uniform(0.3, 0.7)
        y0 = height * rng.uniform(0.38, 0.5)
        ease = t  # heads for the door over the whole clip
    elif mode in ("left", "right"):
        outside = w0 * rng.uniform(0.55, 0.85)
        x0 = -outside if mode == "left" else width + outside
        y0 = height * rng.uniform(0.38, 0.5)
    else:
        x0 = width * rng.uniform(0.35, 0.65)
        y0 = height + w0 * (0.6 * aspect + rng.uniform(0, 0.3))
    cx = x0 + (x1 - x0) * ease
    cy = y0 + (y1 - y0) * ease

    step_hz = rng.uniform(1.6, 2.1)
    phase = rng.uniform(0, 2 * math.pi)
    walking = 1.0 - 0.6 * t * slow
    cx = cx + widths * sway * np.sin(math.pi * step_hz * secs + phase) * walking
    cy = cy + widths * bob * np.sin(2 * math.pi * step_hz * secs) * walking
    cx = cx + drift * w1 * wave(rng, secs, (0.2, 0.5)) * t
    roll = rng.uniform(-3, 3) + rng.uniform(1, 3.5) * wave(rng, secs, (0.4, 1.2))
    return _Motion(cx, cy, widths, roll)


def _plan_look(rng: np.random.Generator, n: int, fps: float, motion: _Motion) -> _Look:
    """The camera, smooth over time: auto-exposure hunting and catching up as the visitor
    fills more of the frame, contrast, gamma, white balance; motion blur from the face's speed;
    sensor noise; a JPEG quality for the frames that go through the codec."""
    secs = np.arange(n, dtype=np.float64) / fps
    widths = motion.widths
    grow = (widths - widths[0]) / max(widths[-1] - widths[0], 1e-6)
    exposure = (
        rng.uniform(0.85, 1.15)
        + rng.uniform(0.02, 0.08) * wave(rng, secs, (0.2, 0.8))
        + rng.uniform(0.0, 0.12) * grow
    )
    contrast = rng.uniform(0.8, 1.1) + rng.uniform(0.0, 0.05) * wave(rng, secs, (0.1, 0.5))
    offset = rng.uniform(-0.05, 0.05) + rng.uniform(0.0, 0.03) * wave(rng, secs, (0.1, 0.6))
    gain = exposure * contrast
    bias = 255.0 * (0.5 * (1 - contrast) + offset)
    x = np.arange(256, dtype=np.float64)[:, None] / 255.0
    tone = 255.0 * x ** rng.uniform(0.85, 1.15) * (1.0 + rng.normal(0, 0.04, 3))[None, :]
    tone = np.clip(tone + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)

    # Motion blur: the face centre moves, and the features move outwards as the face grows
    # (eyes and mouth sit about 0.3 face widths from the centre). Indoor exposures are about
    # 1/60-1/30 s, a fraction of the frame interval.
    shutter = rng.uniform(0.15, 0.6) * min(1.0, 15.0 / fps)
    vx, vy = np.gradient(motion.cx), np.gradient(motion.cy)
    growth = 0.3 * np.gradient(widths)
    blur = np.minimum(shutter * np.sqrt(vx**2 + vy**2 + growth**2), 6.0)
    angle = np.degrees(np.arctan2(vy + growth, vx))

    sigma = float(rng.uniform(1.5, 5.0))
    if rng.random() < 0.6:
        q0 = rng.uniform(45, 85)
        q = np.clip(q0 + 8 * wave(rng, secs, (0.2, 1.0)), 40, 90).round().astype(int)
        coded = rng.random(n) < rng.uniform(0.4, 1.0)
        jpeg = [int(qk) if c else 0 for qk, c in zip(q, coded, strict=True)]
    else:
        jpeg = [0] * n
    return _Look(tone, gain, bias, blur, angle, sigma, jpeg)


# -- the scene --------------------------------------------------------------------------------


def _muted(rng: np.random.Generator, lo: float, hi: float, sat: float) -> tuple[float, ...]:
    """A random muted BGR colour: walls and doors are greys, beiges and dull paints."""
    base = rng.uniform(lo, hi)
    return tuple(float(v) for v in np.clip(base * (1 + rng.normal(0, sat, 3)), 0, 255))


def make_background(rng: np.random.Generator, width: int, height: int, backlit: bool) -> np.ndarray:
    """An entrance seen from the intercom: wall, door frame with a panel (glass that glows when
    the visitor is backlit), floor, fixtures, plaster texture, lens vignetting and softness.
    Only straight edges and smooth shading, so nothing in it resembles a face."""
    w, h = width, height
    # Smooth fields live on a coarse grid and are upscaled: same look, a fraction of the cost.
    gh, gw = max(2, h // 8), max(2, w // 8)
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    yy = (yy + 0.5) / gh
    xx = (xx + 0.5) / gw
    a = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5))[..., None]
    c0 = np.array(_muted(rng, 90, 200, 0.08), np.float32)
    c1 = np.array(_muted(rng, 90, 200, 0.08), np.float32)
    wall = np.clip((c0 + c1) / 2 + ramp * (c1 - c0), 0, 255).astype(np.uint8)
    img = cv2.resize(wall, (w, h), interpolation=cv2.INTER_LINEAR)

    # Floor below a horizon, with a few tile joints converging on a vanishing point.
    horizon = rng.uniform(0.72, 0.9) * h
    floor = _muted(rng, 50, 140, 0.06)
    cv2.rectangle(img, (0, round(horizon)), (w, h), floor, -1)
    vx = w * rng.uniform(0.3, 0.7)
    joint = tuple(0.8 * c for c in floor)
    for _ in range(int(rng.integers(3, 7))):
        bx = rng.uniform(-0.5, 1.5) * w
        cv2.line(img, (round(vx), round(horizon)), (round(bx), h), joint, 1, cv2.LINE_AA)
    # Faint brick or siding courses.
    if rng.random() < 0.5:
        course = rng.uniform(10, 28)
        line = tuple(float(v) * rng.uniform(0.85, 0.95) for v in (c0 + c1) / 2)
        y = rng.uniform(0, course)
        while y < horizon:
            cv2.line(img, (0, round(y)), (w, round(y)), line, 1, cv2.LINE_AA)
            y += course

    # A door: panel, maybe glass (bright when backlit), frame; plus the street through an
    # opening when backlit.
    dw = rng.uniform(0.25, 0.45) * w
    dx = rng.uniform(-0.1, 0.9) * w - dw / 2
    dtop = rng.uniform(0.0, 0.15) * h
    cv2.rectangle(
        img,
        (round(dx), round(dtop)),
        (round(dx + dw), round(horizon)),
        _muted(rng, 60, 220, 0.12),
        -1,
    )
    if backlit or rng.random() < 0.35:
        glow = rng.uniform(225, 255) if backlit else rng.uniform(170, 230)
        gx0, gx1 = dx + dw * rng.uniform(0.1, 0.2), dx + dw * rng.uniform(0.8, 0.9)
        gy1 = dtop + (horizon - dtop) * rng.uniform(0.45, 0.7)
        cv2.rectangle(
            img,
            (round(gx0), round(dtop + 0.05 * h)),
            (round(gx1), round(gy1)),
            (glow, glow, glow * rng.uniform(0.95, 1.0)),
            -1,
        )
        if backlit:
            bx0 = rng.uniform(0.05, 0.6) * w
            cv2.rectangle(
                img,
                (round(bx0), round(0.05 * h)),
                (round(bx0 + rng.uniform(0.2, 0.35) * w), round(horizon * 0.8)),
                (glow, glow, glow),
                -1,
            )
    bar = max(4, round(rng.uniform(0.015, 0.035) * w))
    cv2.rectangle(
        img,
        (round(dx), round(dtop)),
        (round(dx + dw), round(horizon)),
        _muted(rng, 40, 230, 0.05),
        bar,
    )
    # Fixtures: a plate, a sign, a letterbox; maybe a vertical pipe or cable.
    for _ in range(int(rng.integers(1, 4))):
        fw, fh = rng.uniform(0.02, 0.12) * w, rng.uniform(0.02, 0.2) * h
        fx, fy = rng.uniform(0, w - fw), rng.uniform(0, horizon - fh)
        cv2.rectangle(
            img,
            (round(fx), round(fy)),
            (round(fx + fw), round(fy + fh)),
            _muted(rng, 30, 240, 0.1),
            -1,
        )
    if rng.random() < 0.5:
        px = rng.uniform(0, w)
        cv2.line(
            img,
            (round(px), 0),
            (round(px), round(horizon)),
            _muted(rng, 30, 120, 0.05),
            max(2, round(0.006 * w)),
            cv2.LINE_AA,
        )

    # Plaster blotches, vignetting and light falling off over the floor as one smooth
    # multiplicative field (uint8 fixed point, 128 = 1.0); then fine grain and lens softness.
    blotch = cv2.resize(
        rng.normal(0, 1, (max(2, h // 24), max(2, w // 24))).astype(np.float32),
        (gw, gh),
        interpolation=cv2.INTER_CUBIC,
    )
    shade = 1 + rng.uniform(0.02, 0.06) * blotch
    shade *= 1 - rng.uniform(0.1, 0.35) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.5
    shade *= np.where(yy > horizon / h, 0.9 + 0.6 * (yy - horizon / h), 1.0)
    shade = np.clip(shade * 128 + 0.5, 0, 255).astype(np.uint8)
    shade = cv2.cvtColor(
        cv2.resize(shade, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR
    )
    img = cv2.multiply(img, shade, scale=1.0 / 128)
    grain = rng.normal(0, rng.uniform(1.5, 4), (h // 2, w // 2)).astype(np.float32)
    grain = cv2.cvtColor(
        cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR
    )
    img = cv2.add(img, grain, dtype=cv2.CV_8U)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.4))
