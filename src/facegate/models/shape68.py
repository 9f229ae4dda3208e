"""dlib's 68-point face landmarks (face_recognition_models, iBUG 300-W), without dlib's memory.

The model is an ensemble of regression trees (Kazemi & Sullivan 2014): 15 cascade levels of
500 depth-4 trees. Each level reads 500 pixels at positions tied to the current shape (an
anchor landmark plus an offset, turned and scaled by the similarity between the mean shape
and the current one), each tree compares two of those pixels at each of its 4 splits, and the
reached leaves - a full 68-point shape increment each - are summed into the shape.

Why not `dlib.shape_predictor`: it keeps each of the 120,000 leaves as its own heap vector of
136 floats, 65-98 MB resident, the largest single item of an entrance process. Here the leaves
are one int16 array with a scale per level (33 MB; the quantisation error is below 1e-6 of
the face box per leaf) and the trees are flat index arrays, so a level is a handful of NumPy
operations.

Preparation: dlib's file is a stream of dlib-serialised integers (every float is a mantissa and
an exponent); it is parsed once (~11 s, ~0.7 GB of RAM for a moment) into
`<cache>/prepared/...npz` keyed by the file's sha256. Pre-processing: a grayscale uint8
image and dlib's face rectangle (inclusive corners). Post-processing: points rounded to whole
pixels, as dlib returns them.

Output agrees with dlib's own within dlib's own sensitivity: a tree comparing two nearly
equal pixels can go either way on the last bit of the shape, so points are not bit-identical.
On 62 faces (LFW, Grace Hopper, the astronaut) the mean absolute difference from dlib is
0.14 px per point (0.33 px at the 95th percentile of faces), while dlib differs from itself by
0.34 px (0.62 px) when the face box moves by one pixel, as a detector's box does between
frames. Cost: ~1.9 ms per face on one core (dlib: ~1.4 ms); loading the prepared file: 0.1 s
(dlib: 0.5 s).

`Landmarks68` runs the model on a YuNet face box (turned into the box dlib's own detector
would give) in a colour or gray frame; the liveness checks use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from array import array
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import ModelError
from facegate.models.files import DLIB_SHAPE68, PackagedFile, default_cache_dir

PREP_VERSION = 1


def _dlib_ints(data: bytes) -> np.ndarray:
    """Every integer of a dlib serialisation stream: a header byte (low nibble: byte count,
    bit 7: sign), then the magnitude in little-endian bytes."""
    out = array("q")
    append, from_bytes = out.append, int.from_bytes
    i, n = 0, len(data)
    while i < n:
        h = data[i]
        k = h & 15
        v = from_bytes(data[i + 1 : i + 1 + k], "little")
        append(-v if h & 0x80 else v)
        i += 1 + k
    return np.frombuffer(out, np.int64)


class _Reader:
    def __init__(self, ints: np.ndarray) -> None:
        self.x, self.pos = ints, 0

    def take(self, n: int) -> np.ndarray:
        if self.pos + n > len(self.x):
            raise ValueError("truncated")
        v = self.x[self.pos : self.pos + n]
        self.pos += n
        return v

    def int(self) -> int:
        return int(self.take(1)[0])

    def floats(self, n: int) -> np.ndarray:
        v = self.take(2 * n).reshape(n, 2)  # float = mantissa * 2**exponent
        return np.ldexp(v[:, 0].astype(np.float64), v[:, 1]).astype(np.float32)

    def matrix(self) -> np.ndarray:
        rows, cols = abs(self.int()), abs(self.int())  # dlib writes negative sizes
        return self.floats(rows * cols)


def parse_dlib_shape_predictor(data: bytes) -> dict[str, np.ndarray]:
    """dlib's `shape_predictor` serialisation -> flat arrays (see module docstring)."""
    r = _Reader(_dlib_ints(data))
    if r.int() != 1:
        raise ValueError("not a version-1 dlib shape_predictor")
    initial = r.matrix().reshape(-1, 2)
    splits, leaves = [], []
    for _ in range(r.int()):  # cascade levels
        lv_splits, lv_leaves = [], []
        for _ in range(r.int()):  # trees
            n_split = r.int()
            lv_splits.append(r.take(4 * n_split).reshape(n_split, 4))  # idx1, idx2, thresh
            lv_leaves.append(np.stack([r.matrix() for _ in range(r.int())]))
        splits.append(np.stack(lv_splits))
        leaves.append(np.stack(lv_leaves))
    anchors = np.stack([r.take(r.int()) for _ in range(r.int())]).astype(np.int32)
    deltas = np.stack([r.floats(2 * r.int()).reshape(-1, 2) for _ in range(r.int())])
    if r.pos != len(r.x):
        raise ValueError("unexpected data after the model")
    s = np.stack(splits)  # (levels, trees, splits, 4)
    leaf = np.stack(leaves)  # (levels, trees, leaves, 136)
    scale = np.maximum(np.abs(leaf).reshape(len(leaf), -1).max(1), 1e-30) / 32767
    return {
        "initial": initial,
        "idx": s[..., :2].astype(np.int32),
        "thresh": np.ldexp(s[..., 2].astype(np.float64), s[..., 3]).astype(np.float32),
        "leaves": np.round(leaf / scale[:, None, None, None]).astype(np.int16),
        "leaf_scale": scale.astype(np.float32),
        "anchors": anchors,
        "deltas": deltas.astype(np.float32),
    }


class Shape68:
    """68 landmarks in a face rectangle; `prepare()` once, then call per face."""

    name = "shape68"

    def __init__(self, model: PackagedFile = DLIB_SHAPE68, *, cache_dir: Path) -> None:
        self.model = model
        self.cache_dir = cache_dir
        self._m: dict[str, np.ndarray] | None = None

    def _prepared(self) -> Path:
        """The prepared file; its name carries the expected sha256 of dlib's file, which was
        verified when it was built, so a cached one needs no re-hashing of 100 MB per start."""
        out = (
            self.cache_dir
            / "prepared"
            / f"{Path(self.model.relpath).stem}-ert-{self.model.version}-v{PREP_VERSION}.npz"
        )
        if out.is_file():
            return out
        src = self.model.verified_path()
        tmp = None
        try:
            out.parent.mkdir(parents=True, exist_ok=True)  # before the 11 s parse: fail fast
            fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp.npz")
            with os.fdopen(fd, "wb") as fh:
                try:
                    arrays = parse_dlib_shape_predictor(src.read_bytes())
                except (ValueError, IndexError) as exc:
                    raise ModelError(f"cannot parse dlib shape predictor {src}: {exc}") from None
                np.savez(fh, **arrays)
            os.replace(tmp, out)
            tmp = None
        except OSError as exc:  # disk full, read-only cache: say where
            raise ModelError(
                f"cannot write prepared model to {out.parent} ({exc.strerror or exc}); "
                "set FACEGATE_CACHE or engine.cache_dir to a writable folder"
            ) from None
        finally:  # leave no half-written file behind
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return out

    def prepare(self) -> Shape68:
        if self._m is None:
            path = self._prepared()
            try:
                with np.load(path, allow_pickle=False) as z:
                    m = {k: z[k] for k in z.files}
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                raise ModelError(f"cannot load {path} ({exc}); delete it to rebuild") from None
            levels, trees, n_split = m["thresh"].shape
            # flat per-level tables: tree t's node j is entry t * n_split + j
            m["idx1"] = m["idx"][..., 0].reshape(levels, -1)
            m["idx2"] = m["idx"][..., 1].reshape(levels, -1)
            m["thresh"] = m["thresh"].reshape(levels, -1)
            m["leaves"] = m["leaves"].reshape(levels, -1, m["leaves"].shape[-1])
            del m["idx"]
            # similarity initial -> shape (Umeyama, no reflection): with `a` the centred mean
            # shape, scale*cos = <a, shape> / |a|^2 and scale*sin = <rot90(a), shape> / |a|^2
            a = m["initial"] - m["initial"].mean(0)
            self._sim = np.stack([a.ravel(), np.stack([-a[:, 1], a[:, 0]], 1).ravel()]) / (
                (a**2).sum()
            )
            self._ones = np.ones(trees, np.float32)
            self._depth = int(np.log2(n_split + 1))
            self._n_split = n_split
            self._tree_base = np.arange(trees) * n_split
            self._leaf_base = np.arange(trees) * (n_split + 1)
            self._m = m
        return self

    def __call__(self, gray: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
        """(68, 2) float32 whole-pixel landmarks; `rect` = (left, top, right, bottom),
        inclusive, as `dlib.rectangle`."""
        self.prepare()
        m = self._m
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError("Shape68 needs a 2-D uint8 grayscale image")
        h, w = gray.shape
        left, top, right, bottom = rect
        size = np.array([right - left, bottom - top], np.float32)  # the unit box -> rect
        origin = np.array([left, top], np.float32)
        shape = m["initial"].copy()
        flat = gray.ravel()
        for lv in range(len(m["thresh"])):
            c, s = self._sim @ shape.ravel()
            tform = np.array([[c, -s], [s, c]], np.float32)
            pts = (m["deltas"][lv] @ tform.T + shape[m["anchors"][lv]]) * size + origin
            px = np.floor(pts + 0.5).astype(np.int64)
            inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
            values = np.where(inside, flat[np.where(inside, px[:, 1] * w + px[:, 0], 0)], 0).astype(
                np.float32
            )
            # every split of the level at once (7,500 compares), then 4 steps down each tree
            goes_left = values[m["idx1"][lv]] - values[m["idx2"][lv]] > m["thresh"][lv]
            node = np.zeros(len(self._tree_base), np.int64)
            for _ in range(self._depth):
                node = 2 * node + 2 - goes_left[self._tree_base + node]
            reached = np.take(m["leaves"][lv], self._leaf_base + node - self._n_split, axis=0)
            # 500 int16 leaves sum exactly in float32 (|sum| < 2**24); one BLAS call
            step = (self._ones @ reached.astype(np.float32)) * m["leaf_scale"][lv]
            shape = shape + step.reshape(-1, 2)
        return np.floor(shape * size + origin + 0.5).astype(np.float32)


#: dlib's 68-point predictor expects its own detector's box: about 1.09 YuNet box widths,
#: square, 4 % of the box height lower (measured on 94 LFW/NUAA faces).
_DLIB_BOX = (1.09, -0.03, 0.043)


class Landmarks68:
    """dlib's 68-point landmark model (face_recognition_models), run on the YuNet box by
    `Shape68`: the same trees in 33 MB instead of dlib's 65-98 MB."""

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
