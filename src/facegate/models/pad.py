"""Passive presentation-attack detection (PAD), MiniFASNet layout: the shipped model or a
user's ONNX files.

FaceGate ships Silent-Face-Anti-Spoofing's MiniFASNet pair (Apache-2.0, ONNX conversions of the
original weights, `models/weights/minifasnet/` with LICENSE and NOTICE, sha256 checked at load:
`files.MINIFASNET`); it is the default when `liveness.model` is not set. A user may point
`liveness.model` (or `--pad-model PATH`) at a folder holding one or more ONNX files of the same
layout, or at the files themselves. The adapter follows Silent-Face-Anti-Spoofing exactly:

- every file is one model; its file name says how much context it sees,
  `<scale>_<h>x<w>_<name>.onnx` (`2.7_80x80_MiniFASNetV2.onnx`, `4_0_0_80x80_MiniFASNetV1SE.onnx`:
  the scale is the first `_`-separated token, `org` means the whole image);
- pre-processing: the detector box enlarged about its centre by that scale (the scale shrunk
  when the enlarged box cannot fit the image, then the box shifted back inside), cropped,
  resized to h x w, **BGR, float32, raw 0-255**, NCHW;
- post-processing: softmax of each model's logits, averaged over the models; the score is the
  averaged probability of class 1 ("real face"; classes 0 and 2 are attacks).

The model needs the context around the face (paper edge, fingers, bezel): it is fed the large
crops above, never tight face crops.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import ModelError
from facegate.models import onnx_prep
from facegate.models.base import Face
from facegate.models.files import MINIFASNET, sha256_file, user_file

REAL_CLASS = 1
_NAME = re.compile(r"^(?P<scale>org|\d+(?:\.\d+)?)_(?:\d+_)*?(?P<h>\d+)x(?P<w>\d+)_")

#: Per-frame thresholds measured by `facegate eval pad` for the published MiniFASNet pair
#: (2.7_80x80_MiniFASNetV2 + 4_0_0_80x80_MiniFASNetV1SE, the shipped files), keyed by
#: `MiniFASNet.version`: `liveness.passive.target_bpcer`. Each maps a target BPCER (share of
#: real faces rejected, per frame) to the score threshold that reached it on NUAA real frames
#: (all 10 subjects) with YuNet boxes. Error rates measured on subjects held out from the
#: threshold are in docs/liveness.md.
KNOWN_THRESHOLDS: dict[str, dict[float, float]] = {
    # `facegate eval pad --data <antispoof folder> --target-bpcer B` ("threshold fixed on all
    # nuaa subjects"), 400 real NUAA frames of 10 subjects
    "039bf3f404e5+f8b3a873f2f0": {0.01: 0.0803, 0.02: 0.0909, 0.05: 0.193, 0.1: 0.3733},
}


#: The default threshold of a known model pair (keyed by `MiniFASNet.version`): applied to the
#: passive check's track score (the mean of `passive.samples` frames). For the shipped pair it
#: was chosen by `facegate eval pad` on NUAA tracks and the calibration clips' real tracks
#: (bench/src/facegate_bench/pad_tracks.py; figures and the rule in docs/liveness.md).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "039bf3f404e5+f8b3a873f2f0": 0.2123,
}


@dataclass(frozen=True)
class PadModelFile:
    path: Path
    scale: float | None  # None: the whole image ("org")
    height: int
    width: int


def parse_model_name(path: Path) -> tuple[float | None, int, int]:
    """(scale, h, w) from a MiniFASNet-style file name; raises ModelError when it does not fit."""
    m = _NAME.match(path.name)
    if m is None:
        raise ModelError(
            f"PAD model {path.name}: the name must start with '<scale>_<h>x<w>_' "
            "(e.g. 2.7_80x80_MiniFASNetV2.onnx) so the crop it was trained on is known"
        )
    token = m.group("scale")
    # '4_0_0_80x80_...' is scale 4 in the original naming: only the first token counts
    scale = None if token == "org" else float(token)
    return scale, int(m.group("h")), int(m.group("w"))


#: How the shipped model is named where a path would be (describe(), /health, the journal).
SHIPPED_NAME = "minifasnet (shipped)"


def shipped_model_paths() -> list[Path]:
    """The shipped MiniFASNet pair, each file's sha256 checked (ModelError when a file is
    missing or corrupt, naming what to reinstall)."""
    return [f.verified_path() for f in MINIFASNET]


def model_files(path: str | Path | Sequence[str | Path] | None) -> list[PadModelFile]:
    """The ONNX files a `liveness.model` setting names: a folder (every *.onnx in it), one file,
    or a list of files; None: the shipped pair (sha256 checked)."""
    if path is None:
        path = shipped_model_paths()
    items = [path] if isinstance(path, str | Path) else list(path)
    files: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(p.glob("*.onnx"))
            if not found:
                raise ModelError(f"PAD model folder {p} holds no .onnx file")
            files += found
        else:
            files.append(user_file(p, "PAD"))
    if not files:
        raise ModelError("no PAD model file given")
    out = []
    for f in files:
        scale, h, w = parse_model_name(f)
        out.append(PadModelFile(f, scale, h, w))
    return out


def context_box(
    bbox: Sequence[float], scale: float, img_w: int, img_h: int
) -> tuple[int, int, int, int]:
    """The crop (x0, y0, x1, y1, inclusive) for one scale, as Silent-Face's CropImage does it."""
    x, y, bw, bh = (float(v) for v in bbox)
    bw, bh = max(bw, 1.0), max(bh, 1.0)
    scale = min((img_h - 1) / bh, (img_w - 1) / bw, scale)
    nw, nh = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0, x1, y1 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if x0 < 0:
        x1 -= x0
        x0 = 0
    if y0 < 0:
        y1 -= y0
        y0 = 0
    if x1 > img_w - 1:
        x0 -= x1 - img_w + 1
        x1 = img_w - 1
    if y1 > img_h - 1:
        y0 -= y1 - img_h + 1
        y1 = img_h - 1
    return int(x0), int(y0), int(x1), int(y1)


def crop_input(bgr: np.ndarray, bbox: Sequence[float], f: PadModelFile) -> np.ndarray:
    """One model's input for one face: (3, h, w) float32 BGR 0-255."""
    if f.scale is None:
        patch = bgr
    else:
        H, W = bgr.shape[:2]
        x0, y0, x1, y1 = context_box(bbox, f.scale, W, H)
        patch = bgr[max(0, y0) : y1 + 1, max(0, x0) : x1 + 1]
        if patch.size == 0:
            patch = bgr
    patch = cv2.resize(patch, (f.width, f.height))
    return patch.transpose(2, 0, 1).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class MiniFASNet:
    """Score faces with one or more MiniFASNet-layout ONNX models: P(real), averaged.
    `path` None: the shipped pair."""

    name = "minifasnet"

    def __init__(
        self, path: str | Path | Sequence[str | Path] | None = None, *, threads: int = 1
    ) -> None:
        self.path = path
        self.threads = threads
        self.files: list[PadModelFile] = []
        self.version = ""
        self._sessions: list = []
        self._inputs: list[str] = []

    def prepare(self) -> MiniFASNet:
        if self._sessions:
            return self
        self.files = model_files(self.path)
        digests = []
        for f in self.files:
            sess = onnx_prep.session(f.path, self.threads)
            inp = sess.get_inputs()[0]
            shape = inp.shape
            if len(shape) != 4 or shape[1] != 3:
                raise ModelError(f"PAD model {f.path.name}: expected input [N,3,H,W], got {shape}")
            if all(isinstance(d, int) for d in shape[2:]) and list(shape[2:]) != [
                f.height,
                f.width,
            ]:
                raise ModelError(
                    f"PAD model {f.path.name}: its name says {f.height}x{f.width} "
                    f"but the graph takes {shape[2]}x{shape[3]}"
                )
            out = sess.get_outputs()[0].shape
            if isinstance(out[-1], int) and out[-1] <= REAL_CLASS:
                raise ModelError(
                    f"PAD model {f.path.name}: output {out} has no class {REAL_CLASS} (real face)"
                )
            self._sessions.append(sess)
            self._inputs.append(inp.name)
            digests.append(sha256_file(f.path)[:12])
        self.version = "+".join(sorted(digests))
        return self

    @property
    def scales(self) -> list[float | None]:
        return [f.scale for f in self.files]

    def score(self, bgr: np.ndarray, faces: Sequence[Face | Sequence[float]]) -> np.ndarray:
        """P(real face) per face, (n,) float32, averaged over the models; one batch per model."""
        self.prepare()
        boxes = [f.bbox if isinstance(f, Face) else f for f in faces]
        if not boxes:
            return np.zeros(0, np.float32)
        total = np.zeros(len(boxes), np.float64)
        for f, sess, name in zip(self.files, self._sessions, self._inputs, strict=True):
            x = np.stack([crop_input(bgr, b, f) for b in boxes])
            logits = sess.run(None, {name: x})[0].reshape(len(boxes), -1)
            total += _softmax(logits.astype(np.float64))[:, REAL_CLASS]
        return (total / len(self.files)).astype(np.float32)

    def default_threshold(self) -> float | None:
        """The default (track-level) threshold of this exact model pair, or None for a model
        FaceGate has never measured."""
        return DEFAULT_THRESHOLDS.get(self.prepare().version)

    def known_threshold(self, target_bpcer: float) -> float | None:
        """The measured threshold for this exact model pair at the nearest target at or below
        `target_bpcer`, or None for a model FaceGate has never measured."""
        table = KNOWN_THRESHOLDS.get(self.prepare().version)
        if not table:
            return None
        ok = [b for b in table if b <= target_bpcer + 1e-12]
        return table[max(ok)] if ok else None
