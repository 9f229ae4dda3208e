"""WIDER FACE: detection average precision on the shared validation subset.

Protocol (what `average_precision` computes, so it can be tested without a model):

- Per image, detections are taken in descending score order and matched greedily at IoU >= 0.5
  (continuous x, y, w, h boxes, no "+1" pixel convention). A detection takes the unmatched
  positive ground truth (GT) it overlaps most -> true positive; each GT is matched at most once,
  so a second detection on the same face is a false positive. A detection that finds no free
  positive but overlaps an *ignore* region at IoU >= 0.5 counts neither as TP nor FP (COCO-style:
  positives are preferred over ignore regions); anything else is a false positive.
- Ignore regions: GT flagged `invalid`, and the 2 degenerate boxes of zero width or height in the
  subset (no box can overlap them, see the `0_Parade_Parade_0_275` entry). They are not positives.
- AP is the area under the precision/recall curve of all images pooled, with VOC all-point
  interpolation (precision replaced by its monotone envelope, summed where recall changes), as
  the official WIDER evaluation does. The official script also uses the easy/medium/hard GT lists,
  1000 score thresholds and "+1" box areas; this is the plain all-faces protocol, so figures are
  close to but not identical with published WIDER "hard" numbers.

Two settings are reported:

1. all valid faces (standard; about a quarter of them have a side under 10 px);
2. intercom range: only GT with min(w, h) >= 40 px are positives; smaller GT become ignore
   regions, and a detection left unmatched whose own box has min side < 40 px is ignored too
   (a small face we do not care about, often an unlabelled one in a crowd).

The detector runs at full image resolution (`max_side=0`) with a low score threshold (0.02), so
the curve is complete; recall/precision are also given at the engine's default operating point
(score >= 0.6). Production shrinks images to 640 px, which loses the smallest faces.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facegate.config import DetectorConfig, EngineConfig
from facegate.engine import FaceEngine
from facegate.errors import DataError

GT_FILE = "wider_face_val_bbx_gt_subset.txt"
IOU_THRESHOLD = 0.5
INTERCOM_MIN_PX = 40.0
EVAL_SCORE_THRESHOLD = 0.02
OPERATING_POINT = DetectorConfig().score_threshold  # the engine's default, 0.6


@dataclass(frozen=True)
class GTBox:
    """One ground-truth line; attribute codes as in `wider_face_split_readme.txt`."""

    x: float
    y: float
    w: float
    h: float
    blur: int = 0
    expression: int = 0
    illumination: int = 0
    invalid: bool = False
    occlusion: int = 0
    pose: int = 0

    @property
    def ignored(self) -> bool:
        return self.invalid or self.w <= 0 or self.h <= 0


def read_ground_truth(root: Path) -> dict[str, list[GTBox]]:
    """`images/`-relative path -> boxes, in file order. A count of 0 is followed by a zero line."""
    root = Path(root)
    path = root / GT_FILE
    if not root.is_dir():
        raise DataError(f"{root} not found: point it at the wider-face-val-subset folder")
    if not path.is_file():
        raise DataError(f"{path} not found: {root} is not a WIDER FACE val subset folder")
    lines = path.read_text().strip().splitlines()
    gt: dict[str, list[GTBox]] = {}
    i = 0
    while i < len(lines):
        name = lines[i].strip()
        try:
            count = int(lines[i + 1])
            rows = [[int(v) for v in ln.split()] for ln in lines[i + 2 : i + 2 + max(count, 1)]]
        except (IndexError, ValueError):
            raise DataError(f"{path}:{i + 2}: malformed entry for {name}") from None
        if len(rows) != max(count, 1) or any(len(r) != 10 for r in rows):
            raise DataError(f"{path}:{i + 3}: expected {count} lines of 10 numbers for {name}")
        gt[name] = [GTBox(*r[:7], bool(r[7]), *r[8:]) for r in rows[:count]]
        i += 2 + max(count, 1)
    return gt


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every (x, y, w, h) box in `a` (N, 4) with every box in `b` (M, 4)."""
    a, b = a[:, None, :], b[None, :, :]
    iw = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class Matches:
    """The counted (not ignored) detections of all images and the number of positives."""

    scores: np.ndarray
    tp: np.ndarray  # bool, same order as scores
    positives: int

    def ap(self) -> float:
        """All-point interpolated AP; NaN when there are no positives."""
        if self.positives == 0:
            return float("nan")
        tp = self.tp[np.argsort(-self.scores, kind="stable")]
        ctp = np.cumsum(tp)
        recall = np.concatenate([[0.0], ctp / self.positives, [1.0]])
        precision = np.concatenate([[0.0], ctp / np.arange(1, len(tp) + 1), [0.0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        step = np.flatnonzero(recall[1:] != recall[:-1])
        return float(np.sum((recall[step + 1] - recall[step]) * precision[step + 1]))

    def recall_at(self, threshold: float) -> float:
        return float(np.sum(self.tp & (self.scores >= threshold)) / max(self.positives, 1))

    def precision_at(self, threshold: float) -> float:
        kept = self.scores >= threshold
        return float(np.sum(self.tp & kept) / max(int(kept.sum()), 1))


def match(
    detections: Mapping[str, np.ndarray | Sequence[Sequence[float]]],
    gt: Mapping[str, Sequence[GTBox]],
    min_size: float = 0.0,
    iou: float = IOU_THRESHOLD,
) -> Matches:
    """Match detections (per image: rows of x, y, w, h, score) to GT as the module doc says.

    `min_size` > 0 is the intercom setting: GT with min(w, h) < min_size become ignore regions
    and unmatched detections with min side < min_size are ignored.
    """
    scores: list[np.ndarray] = []
    tps: list[np.ndarray] = []
    positives = 0
    for name, boxes in gt.items():
        det = np.asarray(detections.get(name, []), dtype=np.float64).reshape(-1, 5)
        det = det[np.argsort(-det[:, 4], kind="stable")]
        g = np.array([[b.x, b.y, b.w, b.h] for b in boxes], dtype=np.float64).reshape(-1, 4)
        ignore = np.array([b.ignored or min(b.w, b.h) < min_size for b in boxes], dtype=bool)
        positives += int((~ignore).sum())
        overlaps = iou_matrix(det[:, :4], g)
        taken = ignore.copy()
        keep, tp = [], []
        for k, row in enumerate(overlaps):
            free = np.where(taken, -1.0, row)
            j = int(np.argmax(free)) if free.size else -1
            if j >= 0 and free[j] >= iou:
                taken[j] = True
                keep.append(k)
                tp.append(True)
            elif not (np.any(row[ignore] >= iou) or min(det[k, 2], det[k, 3]) < min_size):
                keep.append(k)
                tp.append(False)
        scores.append(det[keep, 4])
        tps.append(np.array(tp, dtype=bool))
    return Matches(
        np.concatenate(scores) if scores else np.zeros(0),
        np.concatenate(tps) if tps else np.zeros(0, dtype=bool),
        positives,
    )


def average_precision(
    detections: Mapping[str, np.ndarray | Sequence[Sequence[float]]],
    gt: Mapping[str, Sequence[GTBox]],
    min_size: float = 0.0,
    iou: float = IOU_THRESHOLD,
) -> float:
    """AP of pooled detections against GT (see the module doc); pure, no model needed."""
    return match(detections, gt, min_size, iou).ap()


@dataclass(frozen=True)
class SettingResult:
    positives: int
    ap: float
    recall_at_op: float
    precision_at_op: float

    @classmethod
    def of(cls, m: Matches) -> SettingResult:
        op = OPERATING_POINT
        return cls(m.positives, m.ap(), m.recall_at(op), m.precision_at(op))


@dataclass(frozen=True)
class WiderReport:
    images: int
    gt_boxes: int
    all_faces: SettingResult
    intercom: SettingResult  # GT >= INTERCOM_MIN_PX
    ms_per_image: float  # mean wall time of engine.detect
    width_range: tuple[int, int]
    height_range: tuple[int, int]
    score_threshold: float
    max_side: int
    operating_point: float = OPERATING_POINT
    min_face_px: float = INTERCOM_MIN_PX

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        op = self.operating_point
        rows = [("all valid faces", self.all_faces), (f">= {self.min_face_px:g} px", self.intercom)]
        lines = [
            f"WIDER FACE val subset: {self.images} images, {self.gt_boxes} GT boxes, "
            f"{self.width_range[0]}-{self.width_range[1]} x "
            f"{self.height_range[0]}-{self.height_range[1]} px",
            f"YuNet max_side={self.max_side}, scores >= {self.score_threshold:g}, "
            f"IoU >= {IOU_THRESHOLD:g}, VOC all-point AP",
            f"  {'setting':<16}{'positives':>10}{'AP':>8}{f'recall@{op:g}':>12}"
            f"{f'prec@{op:g}':>10}",
        ]
        for label, r in rows:
            lines.append(
                f"  {label:<16}{r.positives:>10}{r.ap:>8.3f}{r.recall_at_op:>12.3f}"
                f"{r.precision_at_op:>10.3f}"
            )
        lines.append(f"detection time: {self.ms_per_image:.1f} ms/image (mean, engine.detect)")
        return "\n".join(lines)


def evaluate(root: Path, engine: FaceEngine | None = None, progress: bool = True) -> WiderReport:
    """Run the detector on every GT image under `root/images` and score both settings."""
    root = Path(root)
    gt = read_ground_truth(root)
    if engine is None:
        cfg = DetectorConfig(score_threshold=EVAL_SCORE_THRESHOLD, max_side=0)
        engine = FaceEngine(EngineConfig(detector=cfg))

    def load(name: str) -> np.ndarray:
        image = cv2.imread(str(root / "images" / name), cv2.IMREAD_COLOR)
        if image is None:
            raise DataError(f"{root / 'images' / name}: missing or unreadable image")
        return image

    if gt:
        engine.detect(load(next(iter(gt))))  # load the model and warm up outside the timing
    detections: dict[str, np.ndarray] = {}
    times: list[float] = []
    sizes: list[tuple[int, int]] = []
    for name in tqdm(gt, desc="WIDER", unit="img", disable=not progress):
        image = load(name)
        sizes.append(image.shape[:2])
        t0 = time.perf_counter()
        faces = engine.detect(image)
        times.append(time.perf_counter() - t0)
        detections[name] = np.array([[*f.bbox, f.score] for f in faces]).reshape(-1, 5)
    hs, ws = np.array(sizes, dtype=int).reshape(-1, 2).T
    d = engine.config.detector
    return WiderReport(
        images=len(gt),
        gt_boxes=sum(len(b) for b in gt.values()),
        all_faces=SettingResult.of(match(detections, gt)),
        intercom=SettingResult.of(match(detections, gt, INTERCOM_MIN_PX)),
        ms_per_image=1000 * float(np.mean(times)) if times else float("nan"),
        width_range=(int(ws.min()), int(ws.max())) if len(ws) else (0, 0),
        height_range=(int(hs.min()), int(hs.max())) if len(hs) else (0, 0),
        score_threshold=d.score_threshold,
        max_side=d.max_side,
    )
