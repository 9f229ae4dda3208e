"""Synthetic door visits: one LFW photo rendered as a short clip of a person walking up to the
intercom camera, so the real runtime (detect -> track -> recognise -> decide) can be timed and
scored on thousands of residents and strangers without filming anyone.

What a clip contains, and why:

- The head is cut out of the photo with a soft egg-shaped mask (no square photo edge for the
  detector to latch onto) and sits on a plain torso in the colour of the photo's clothing, so the
  person looks like a person and not like a pasted stamp.
- The background is an entrance scene (wall gradient, door frame, window, floor, texture) with no
  face-like structure, so every detection is the visitor.
- The visitor appears far away or walks in from a side or the bottom edge, then approaches: the
  face grows from ~40-60 px to ~140-220 px wide as 1/distance (slow at first, fast at the end),
  with gait sway and a few degrees of head roll.
- Camera effects are random per visit but smooth over time (a real camera does not flicker):
  motion blur along the motion, auto-exposure drift, backlight, white balance, sensor noise and
  an occasional JPEG round trip like a stream codec. They are mild: the point is to measure the
  system on realistic frames, not to defeat it.

Everything is drawn from the caller's `rng`, so a seed reproduces a clip exactly. Rendering uses
cv2.warpAffine on the visitor's region only; a 30-frame 640x480 clip takes a few tens of ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import cv2
import numpy as np

#: LFW (deep-funneled) images are this size; other face images are resized to it.
LFW_SIZE = 250
#: YuNet's face box on LFW gray images, (x, y, w, h), mean over a sample of 40 images. Using the
#: detector's own box convention (forehead to chin, about 1.3x taller than wide) makes the ground
#: truth comparable with detections by IoU.
LFW_FACE_BOX = (78.0, 66.0, 100.0, 130.0)
#: The time-to-open clock starts when the face is this wide and fully inside the frame.
MIN_VISIBLE_FACE_PX = 40.0
#: Extra canvas around the 250x250 photo for the torso: (left/right, below), in photo pixels.
_SPRITE_PAD_X = 80
_SPRITE_PAD_BELOW = 270

Box = tuple[float, float, float, float]


@dataclass
class VisitClip:
    """One rendered visit. `face_boxes[i]` is the face box in frame `i` (clipped to the frame)
    when at least half of it is inside the frame, else None; `first_visible` is the first frame
    where the face is entirely inside and at least `MIN_VISIBLE_FACE_PX` wide."""

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
    """Render one visit of the person in `face` (an LFW-framed photo: gray or BGR, face centred).

    `size` is (width, height). Face widths are in pixels of a 640x480 frame and scale with
    smaller or larger frames. `background` (gray or BGR, any size) replaces the generated scene;
    it is cropped/resized to cover the frame.
    """
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"frame size {size} is too small for a visit clip")
    if fps <= 0 or duration_s <= 0:
        raise ValueError("fps and duration_s must be positive")
    n = max(2, round(fps * duration_s))

    photo = _as_bgr_photo(face)
    backlit = bool(rng.random() < 0.3)
    scene = (
        _fit_background(background, width, height)
        if background is not None
        else _make_background(rng, width, height, backlit)
    )
    motion = _plan_motion(rng, n, fps, width, height)
    look = _plan_look(rng, n, fps, motion)
    # The camera's fixed response (gamma, white balance) is the same in every frame: apply it
    # once to the scene and the photo instead of per frame.
    scene = cv2.LUT(scene, look.tone)
    sprite, face_center = _make_sprite(cv2.LUT(photo, look.tone), rng, backlit)
    levels = _pyramid(sprite)
    # Sensor noise: one pool per clip read at a random offset per frame (fresh-looking noise for
    # the cost of one draw). Random bytes mapped through Gaussian quantiles are much cheaper
    # than normal draws, and the +/- uint8 halves make the per-frame add a saturating uint8 op.
    pool = rng.integers(0, 256, (height + 16, 3 * width + 48), dtype=np.uint8)
    quantiles = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)])
    noise = quantiles * look.noise_sigma
    pool_pos = cv2.LUT(pool, np.clip(noise + 0.5, 0, 255).astype(np.uint8))
    pool_neg = cv2.LUT(pool, np.clip(0.5 - noise, 0, 255).astype(np.uint8))

    _, _, fw, fh = LFW_FACE_BOX
    frames: list[np.ndarray] = []
    boxes: list[Box | None] = []
    first_visible = -1
    for k in range(n):
        cx, cy, w = float(motion.cx[k]), float(motion.cy[k]), float(motion.widths[k])
        m = cv2.getRotationMatrix2D(face_center, float(motion.roll[k]), w / fw)
        m[:, 2] += (cx - face_center[0], cy - face_center[1])
        frame = scene.copy()
        _composite(frame, levels, m, float(look.blur_px[k]), float(look.blur_angle[k]))
        frame = cv2.addWeighted(frame, float(look.gain[k]), frame, 0.0, float(look.bias[k]))
        oy, ox = int(rng.integers(0, 16)), int(rng.integers(0, 48))
        window = (slice(oy, oy + height), slice(ox, ox + 3 * width))
        cv2.add(frame, pool_pos[window].reshape(height, width, 3), dst=frame)
        cv2.subtract(frame, pool_neg[window].reshape(height, width, 3), dst=frame)
        h = w * fh / fw
        box = (cx - w / 2, cy - h / 2, w, h)
        if look.jpeg_quality[k] > 0:
            _jpeg_round_trip(frame, box, look.jpeg_quality[k])
        frames.append(frame)
        boxes.append(_visible_box(box, width, height))
        inside = box[0] >= 0 and box[1] >= 0 and box[0] + w <= width and box[1] + h <= height
        if first_visible < 0 and inside and w >= MIN_VISIBLE_FACE_PX:
            first_visible = k
    if first_visible < 0:  # cannot happen with the motion plan; keep the contract anyway
        first_visible = n - 1
    return VisitClip(frames, float(fps), first_visible, boxes)


def save_preview(
    clip: VisitClip, path: str | Path, *, count: int = 6, columns: int = 3, boxes: bool = True
) -> Path:
    """Write a contact sheet PNG of `count` evenly spaced frames, so a person can check that a
    visit looks like someone approaching a camera. Ground-truth boxes are drawn in green (red
    before `first_visible`)."""
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
        label = f"{i} / {n}  t={i / clip.fps:.2f}s"
        cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)
        tiles.append(tile)
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * tile_h, columns * tile_w, 3), 32, np.uint8)
    for j, tile in enumerate(tiles):
        r, c = divmod(j, columns)
        sheet[r * tile_h:(r + 1) * tile_h, c * tile_w:(c + 1) * tile_w] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), sheet):
        raise OSError(f"could not write preview {path}")
    return path


def _jpeg_round_trip(frame: np.ndarray, box: Box, quality: int) -> None:
    """JPEG-code the region around the face in place, as a stream codec would.

    Only the face and its surroundings are coded, cut on the 16-px macroblock grid of the whole
    frame so the blocks are the ones a full-frame encode would make: the artefacts that matter
    for recognition are all there, and coding a fraction of the frame keeps rendering fast.
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


def _visible_box(box: Box, width: int, height: int) -> Box | None:
    """The box clipped to the frame, or None when less than half of the face is in view (a
    detector cannot be expected to find it then)."""
    x, y, w, h = box
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < 0.5 * w * h:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


# -- the visitor ------------------------------------------------------------------------------


def _as_bgr_photo(face: np.ndarray) -> np.ndarray:
    """The photo as 250x250 BGR uint8: the face box constants are in LFW's framing."""
    img = np.asarray(face)
    if img.dtype != np.uint8:
        raise ValueError(f"face image must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif not (img.ndim == 3 and img.shape[2] == 3):
        raise ValueError(f"face image must be gray or BGR, got shape {img.shape}")
    if img.shape[:2] != (LFW_SIZE, LFW_SIZE):
        img = cv2.resize(img, (LFW_SIZE, LFW_SIZE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def _make_sprite(
    photo: np.ndarray, rng: np.random.Generator, backlit: bool
) -> tuple[np.ndarray, tuple[float, float]]:
    """Head + neck from the photo over a drawn torso, as premultiplied BGRA uint8.

    Premultiplied colour keeps warping, blurring and layering correct at soft edges (no dark
    fringe). Returns the sprite and the face centre in sprite coordinates (the rotation pivot).
    """
    s = LFW_SIZE
    px, below = _SPRITE_PAD_X, _SPRITE_PAD_BELOW
    sw, sh = s + 2 * px, s + below
    fx, fy, fw, fh = LFW_FACE_BOX
    fcx, fcy = fx + fw / 2, fy + fh / 2

    # Colours sampled from the photo: clothing at the bottom corners of the shoulders, skin on
    # the neck just under the chin, so the drawn parts continue what the photo shows.
    cloth = np.median(np.concatenate([
        photo[228:248, 70:105].reshape(-1, 3), photo[228:248, 150:185].reshape(-1, 3),
    ]), axis=0)
    cloth = cloth * rng.uniform(0.85, 1.1) + rng.normal(0, 6, 3)
    skin = np.median(photo[200:222, 112:144].reshape(-1, 3), axis=0)

    colour = np.zeros((sh, sw, 3), np.float32)
    alpha = np.zeros((sh, sw), np.float32)
    cx = px + fcx
    shoulder_w = fw * rng.uniform(1.25, 1.5)  # half-width of the shoulders
    neck_w = fw * rng.uniform(0.24, 0.3)
    shoulder_y = fy + fh * rng.uniform(1.28, 1.42)
    body = np.array([
        [cx - neck_w, fy + fh * 0.85], [cx + neck_w, fy + fh * 0.85],
        [cx + neck_w * 1.1, shoulder_y - 0.12 * fh],
        [cx + shoulder_w * 0.8, shoulder_y], [cx + shoulder_w, shoulder_y + 0.35 * fh],
        [cx + shoulder_w * 1.03, sh + 10], [cx - shoulder_w * 1.03, sh + 10],
        [cx - shoulder_w, shoulder_y + 0.35 * fh], [cx - shoulder_w * 0.8, shoulder_y],
        [cx - neck_w * 1.1, shoulder_y - 0.12 * fh],
    ], np.float32)
    cv2.fillPoly(colour, [np.round(body * 4).astype(np.int32)], cloth.tolist(), cv2.LINE_AA, 2)
    cv2.fillPoly(alpha, [np.round(body * 4).astype(np.int32)], 1.0, cv2.LINE_AA, 2)
    neck = np.array([[cx - neck_w, fy + fh * 0.8], [cx + neck_w, fy + fh * 0.8],
                     [cx + neck_w * 0.9, shoulder_y - 0.1 * fh],
                     [cx, shoulder_y + 0.05 * fh],
                     [cx - neck_w * 0.9, shoulder_y - 0.1 * fh]], np.float32)
    cv2.fillPoly(colour, [np.round(neck * 4).astype(np.int32)], skin.tolist(), cv2.LINE_AA, 2)
    # Soft shading: the torso darkens downwards and to one side, like indoor top light.
    yy = np.linspace(0, 1, sh, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, sw, dtype=np.float32)[None, :]
    shade = 1.0 - 0.25 * np.clip((yy * sh - shoulder_y) / below, 0, 1) + 0.08 * xx * rng.normal()
    colour *= shade[..., None]
    colour = cv2.GaussianBlur(colour, (0, 0), 1.2)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.0)
    colour *= alpha[..., None]  # premultiplied from here on

    # Head: an egg (round skull with hair, narrower jaw) plus the neck, feathered.
    head = np.zeros((s, s), np.float32)
    ax = fw * rng.uniform(0.66, 0.74)
    top = fy - fh * rng.uniform(0.32, 0.42)
    chin = fy + fh * 1.06
    skull_cy = fy + fh * 0.38
    cv2.ellipse(head, (round(fcx), round(skull_cy)), (round(ax), round(skull_cy - top)),
                0, 180, 360, 1.0, -1, cv2.LINE_AA)
    cv2.ellipse(head, (round(fcx), round(skull_cy)), (round(ax), round(chin - skull_cy)),
                0, 0, 180, 1.0, -1, cv2.LINE_AA)
    cv2.rectangle(head, (round(fcx - neck_w), round(fy + fh * 0.8)),
                  (round(fcx + neck_w), s), 1.0, -1)
    head = cv2.GaussianBlur(head, (0, 0), fw * 0.06)
    # Fade the neck towards the photo's bottom edge so no straight line shows.
    fade = np.clip((s - 1 - np.arange(s, dtype=np.float32)) / 14.0, 0, 1)[:, None]
    head *= fade

    face = photo.astype(np.float32)
    # Uneven light across the face (a lamp or the door on one side), mild.
    side = rng.uniform(-0.12, 0.12)
    face *= (1.0 + side * np.linspace(-1, 1, s, dtype=np.float32))[None, :, None]
    a = head[..., None]
    region = (slice(0, s), slice(px, px + s))
    colour[region] = face * a + colour[region] * (1 - a)
    alpha[region] = head + alpha[region] * (1 - head)

    # A visitor against a bright doorway is under-exposed relative to the scene.
    gain = rng.uniform(0.55, 0.8) if backlit else rng.uniform(0.92, 1.08)
    sprite = np.dstack([colour * gain, alpha * 255.0])
    sprite = np.clip(sprite + 0.5, 0, 255).astype(np.uint8)
    return sprite, (px + fcx, fcy)


def _pyramid(sprite: np.ndarray) -> list[np.ndarray]:
    """Half-resolution copies, so strong downscaling samples a pre-filtered sprite (no
    aliasing shimmer on the small, distant face)."""
    levels = [sprite]
    while min(levels[-1].shape[:2]) > 64 and len(levels) < 4:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _composite(
    frame: np.ndarray, levels: list[np.ndarray], m: np.ndarray, blur: float, angle: float
) -> None:
    """Warp the premultiplied sprite into its bounding box in the frame, blur it along the
    motion, and blend it over the background in place.

    The motion blur is a separable box spanning the motion's x and y extents: exact for
    horizontal or vertical motion, a little wider than a line for diagonal motion, and much
    cheaper than a rotated line kernel.
    """
    scale = math.hypot(m[0, 0], m[1, 0])
    level = 0
    while level + 1 < len(levels) and scale / 2 ** (level + 1) >= 0.75:
        level += 1
    src = levels[level]
    # Level coordinates are sprite coordinates / 2**level (pyrDown's quarter-pixel shift is
    # negligible here).
    mm = m.copy()
    mm[:, :2] *= 2.0**level
    sh, sw = src.shape[:2]
    corners = np.array([[0, 0, 1], [sw, 0, 1], [0, sh, 1], [sw, sh, 1]], np.float64) @ mm.T
    pad = math.ceil(blur)
    h, w = frame.shape[:2]
    x0 = max(0, math.floor(corners[:, 0].min()) - pad)
    y0 = max(0, math.floor(corners[:, 1].min()) - pad)
    x1 = min(w, math.ceil(corners[:, 0].max()) + pad)
    y1 = min(h, math.ceil(corners[:, 1].max()) + pad)
    if x1 <= x0 or y1 <= y0:
        return
    mm[:, 2] -= (x0, y0)
    fg = cv2.warpAffine(src, mm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
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


def _wave(rng: np.random.Generator, t: np.ndarray, freq: tuple[float, float]) -> np.ndarray:
    """A smooth random signal in about [-1, 1]: two sinusoids of random frequency and phase."""
    f = rng.uniform(*freq, 2)
    ph = rng.uniform(0, 2 * math.pi, 2)
    return (np.sin(2 * math.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * math.pi * f[1] * t + ph[1])
            ) / 1.5


def _plan_motion(
    rng: np.random.Generator, n: int, fps: float, width: int, height: int
) -> _Motion:
    """Where the face is in each frame.

    Walking at constant speed towards the camera makes the apparent size grow as 1/distance;
    the visitor slows down a little at the door. Entering from a side or the bottom happens in
    the first part of the clip, so the face is fully visible well before the end.
    """
    t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    secs = np.arange(n, dtype=np.float64) / fps
    unit = min(width / 640, height / 480)
    w0 = rng.uniform(36, 60) * unit
    w1 = rng.uniform(140, 220) * unit
    aspect = LFW_FACE_BOX[3] / LFW_FACE_BOX[2]
    w1 = min(w1, 0.75 * height / aspect)
    w0 = min(w0, 0.8 * w1)
    slow = rng.uniform(0.0, 0.5)
    progress = (1 - slow) * t + slow * (1 - (1 - t) ** 2)
    widths = 1.0 / (1 / w0 + (1 / w1 - 1 / w0) * progress)

    h1 = w1 * aspect
    margin_x = 0.5 * w1 + 0.04 * width
    margin_y = 0.5 * h1 + 0.03 * height
    x1 = np.clip(width * (0.5 + rng.normal(0, 0.07)), margin_x, width - margin_x)
    y1 = np.clip(height * rng.uniform(0.4, 0.5), margin_y, height - margin_y)

    mode = rng.choice(["distance", "left", "right", "bottom"], p=[0.4, 0.2, 0.2, 0.2])
    t_in = rng.uniform(0.3, 0.55)  # entry finished by this fraction of the clip
    ease = np.clip(t / t_in, 0, 1)
    ease = ease * ease * (3 - 2 * ease)
    if mode == "distance":
        x0 = width * rng.uniform(0.3, 0.7)
        y0 = height * rng.uniform(0.38, 0.5)
        ease = t  # drift towards the door over the whole clip
    elif mode in ("left", "right"):
        outside = 0.55 * w0 + rng.uniform(0, 0.3) * w0
        x0 = -outside if mode == "left" else width + outside
        y0 = height * rng.uniform(0.38, 0.5)
    else:
        x0 = width * rng.uniform(0.35, 0.65)
        y0 = height + 0.6 * w0 * aspect + rng.uniform(0, 0.3) * w0
    cx = x0 + (x1 - x0) * ease
    cy = y0 + (y1 - y0) * ease

    # Gait: lateral sway at half the step rate, vertical bob at the step rate; both scale with
    # the face so the absolute motion grows as the visitor comes closer.
    step_hz = rng.uniform(1.6, 2.1)
    ph = rng.uniform(0, 2 * math.pi)
    walking = 1.0 - 0.6 * t * slow
    cx = cx + widths * rng.uniform(0.02, 0.05) * np.sin(math.pi * step_hz * secs + ph) * walking
    cy = cy + widths * rng.uniform(0.01, 0.025) * np.sin(2 * math.pi * step_hz * secs) * walking
    drift = rng.uniform(-0.08, 0.08) * w1 * _wave(rng, secs, (0.2, 0.5))
    cx = cx + drift * t
    # Keep the final frames fully framed despite sway and drift.
    half_w, half_h = widths / 2, widths * aspect / 2
    late = t >= max(0.7, t_in)
    cx[late] = np.clip(cx[late], half_w[late] + 1, width - half_w[late] - 1)
    cy[late] = np.clip(cy[late], half_h[late] + 1, height - half_h[late] - 1)

    roll = rng.uniform(-3, 3) + rng.uniform(1, 3.5) * _wave(rng, secs, (0.4, 1.2))
    return _Motion(cx, cy, widths, roll)


def _plan_look(rng: np.random.Generator, n: int, fps: float, motion: _Motion) -> _Look:
    """The camera, smooth over time: auto-exposure hunting and catching up as the visitor
    fills more of the frame, contrast, gamma, white balance; motion blur from the face speed;
    sensor noise; a JPEG quality for the frames that go through the codec."""
    secs = np.arange(n, dtype=np.float64) / fps
    widths = motion.widths
    grow = (widths - widths[0]) / max(widths[-1] - widths[0], 1e-6)
    exposure = (rng.uniform(0.85, 1.15) + rng.uniform(0.02, 0.08) * _wave(rng, secs, (0.2, 0.8))
                + rng.uniform(0.0, 0.12) * grow)
    contrast = rng.uniform(0.8, 1.1) + rng.uniform(0.0, 0.05) * _wave(rng, secs, (0.1, 0.5))
    offset = rng.uniform(-0.05, 0.05) + rng.uniform(0.0, 0.03) * _wave(rng, secs, (0.1, 0.6))
    gain = exposure * contrast
    bias = 255.0 * (0.5 * (1 - contrast) + offset)
    x = np.arange(256, dtype=np.float64)[:, None] / 255.0
    tone = 255.0 * x ** rng.uniform(0.85, 1.15) * (1.0 + rng.normal(0, 0.04, 3))[None, :]
    tone = np.clip(tone + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)

    # Motion blur: the face centre moves and the face's edges expand as it approaches; the
    # exposure time is a per-visit fraction of the frame interval (dim entrance -> long).
    shutter = rng.uniform(0.25, 0.8) * min(1.0, 15.0 / fps)
    vx, vy = np.gradient(motion.cx), np.gradient(motion.cy)
    growth = np.gradient(widths) / 2
    blur = np.minimum(shutter * np.sqrt(vx**2 + vy**2 + growth**2), 10.0)
    angle = np.degrees(np.arctan2(vy + 0.5 * growth, vx))

    sigma = float(rng.uniform(1.5, 5.0))
    if rng.random() < 0.6:
        q0 = rng.uniform(45, 85)
        q = np.clip(q0 + 8 * _wave(rng, secs, (0.2, 1.0)), 40, 90).round().astype(int)
        coded = rng.random(n) < rng.uniform(0.4, 1.0)
        jpeg = [int(qk) if c else 0 for qk, c in zip(q, coded, strict=True)]
    else:
        jpeg = [0] * n
    return _Look(tone, gain, bias, blur, angle, sigma, jpeg)


# -- the scene --------------------------------------------------------------------------------


def _fit_background(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop a caller's background to cover the frame."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"background must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    h, w = img.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(img[y0:y0 + height, x0:x0 + width])


def _muted(rng: np.random.Generator, lo: float, hi: float, sat: float) -> np.ndarray:
    """A random muted BGR colour: walls and doors are greys, beiges and dull paints."""
    base = rng.uniform(lo, hi)
    tint = rng.normal(0, sat, 3)
    return np.clip(base * (1 + tint), 0, 255)


def _make_background(
    rng: np.random.Generator, width: int, height: int, backlit: bool
) -> np.ndarray:
    """An entrance seen from the intercom: wall, door frame, maybe a bright window or doorway
    behind the visitor, floor, plaster/brick texture and lens vignetting. Only straight edges
    and smooth shading, so nothing in it resembles a face."""
    w, h = width, height
    # Smooth fields are computed on a coarse grid and upscaled: same look, a fraction of the
    # cost of full-resolution float maths.
    gh, gw = max(2, h // 8), max(2, w // 8)
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    yy = (yy + 0.5) / gh
    xx = (xx + 0.5) / gw
    a = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5))[..., None]
    c0, c1 = _muted(rng, 90, 200, 0.08), _muted(rng, 90, 200, 0.08)
    img = cv2.resize(((c0 + c1) / 2 + ramp * (c1 - c0)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_LINEAR)

    # Floor below a horizon with a few perspective lines.
    horizon = rng.uniform(0.72, 0.9) * h
    floor = _muted(rng, 50, 140, 0.06).astype(np.float32)
    img[int(horizon):] = floor
    vx = w * rng.uniform(0.3, 0.7)
    for _ in range(int(rng.integers(3, 7))):
        bx = rng.uniform(-0.5, 1.5) * w
        cv2.line(img, (round(vx), round(horizon)), (round(bx), h), (floor * 0.8).tolist(), 1,
                 cv2.LINE_AA)

    # Wall texture: faint brick/siding courses.
    if rng.random() < 0.5:
        course = rng.uniform(10, 28)
        line = (img.mean(axis=(0, 1)) * rng.uniform(0.85, 0.95)).tolist()
        y = rng.uniform(0, course)
        while y < horizon:
            cv2.line(img, (0, round(y)), (w, round(y)), line, 1, cv2.LINE_AA)
            y += course

    # A door or doorway: frame (thick bars) and a panel; a glass part is a bright rectangle.
    dw = rng.uniform(0.25, 0.45) * w
    dx = rng.uniform(-0.1, 0.9) * w - dw / 2
    dtop = rng.uniform(0.0, 0.15) * h
    panel = _muted(rng, 60, 220, 0.12)
    cv2.rectangle(img, (round(dx), round(dtop)), (round(dx + dw), round(horizon)),
                  panel.tolist(), -1)
    if backlit or rng.random() < 0.35:
        glow = rng.uniform(225, 255) if backlit else rng.uniform(170, 230)
        gx0, gx1 = dx + dw * rng.uniform(0.1, 0.2), dx + dw * rng.uniform(0.8, 0.9)
        gy1 = dtop + (horizon - dtop) * rng.uniform(0.45, 0.7)
        cv2.rectangle(img, (round(gx0), round(dtop + 0.05 * h)), (round(gx1), round(gy1)),
                      (glow, glow, glow * rng.uniform(0.95, 1.0)), -1)
        if backlit:  # a second bright opening: the street behind the visitor
            bx0 = rng.uniform(0.05, 0.6) * w
            cv2.rectangle(img, (round(bx0), round(0.05 * h)),
                          (round(bx0 + rng.uniform(0.2, 0.35) * w), round(horizon * 0.8)),
                          (glow, glow, glow), -1)
    frame_col = _muted(rng, 40, 230, 0.05).tolist()
    bar = max(4, round(rng.uniform(0.015, 0.035) * w))
    cv2.rectangle(img, (round(dx), round(dtop)), (round(dx + dw), round(horizon)), frame_col, bar)
    # A few fixtures: a plate, a sign, a vertical pipe or cable.
    for _ in range(int(rng.integers(1, 4))):
        fw, fh = rng.uniform(0.02, 0.12) * w, rng.uniform(0.02, 0.2) * h
        fx, fy = rng.uniform(0, w - fw), rng.uniform(0, horizon - fh)
        cv2.rectangle(img, (round(fx), round(fy)), (round(fx + fw), round(fy + fh)),
                      _muted(rng, 30, 240, 0.1).tolist(), -1)
    if rng.random() < 0.5:
        px = rng.uniform(0, w)
        cv2.line(img, (round(px), 0), (round(px), round(horizon)),
                 _muted(rng, 30, 120, 0.05).tolist(), max(2, round(0.006 * w)), cv2.LINE_AA)

    # Light falling off towards the camera on the floor, plaster blotches, lens vignetting (one
    # coarse multiplicative field), fine grain, and the lens's softness.
    blotch = cv2.resize(rng.normal(0, 1, (max(2, h // 24), max(2, w // 24))).astype(np.float32),
                        (gw, gh), interpolation=cv2.INTER_CUBIC)
    shade = 1 + rng.uniform(0.02, 0.06) * blotch
    shade *= 1 - rng.uniform(0.1, 0.35) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.5
    shade *= np.where(yy > horizon / h, 0.9 + 0.6 * (yy - horizon / h), 1.0)
    img *= cv2.resize(shade, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    grain = rng.normal(0, rng.uniform(1.5, 4), (h // 2, w // 2)).astype(np.float32)
    img += cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.4))
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
