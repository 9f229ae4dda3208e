"""Follow faces across frames so evidence accumulates per person-visit, not per frame.

A small IoU tracker in the spirit of SORT/ByteTrack, sized for an intercom (a handful of
faces): each track predicts its box with constant velocity, detections are matched greedily
by IoU against the predictions (falling back to centre distance, because a face walking up
to the camera grows fast and its IoU with the last box drops), unmatched detections open new
tracks, and a track not seen for `max_age_s` ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facegate.models.base import Face


@dataclass
class Track:
    id: int
    face: Face  # latest detection
    first_t: float  # capture time of the first frame it was seen in
    last_t: float
    hits: int = 1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))

    def predict(self, t: float) -> np.ndarray:
        return self.face.bbox + self.velocity * (t - self.last_t)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


class Tracker:
    def __init__(
        self, min_iou: float = 0.2, max_centre_shift: float = 0.6, max_age_s: float = 1.0
    ) -> None:
        self.min_iou = min_iou
        self.max_centre_shift = max_centre_shift  # in units of the track's box size
        self.max_age_s = max_age_s
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def _affinity(self, track: Track, pred: np.ndarray, face: Face) -> float:
        """IoU when boxes overlap enough; else a small centre-distance score; else 0."""
        o = iou(pred, face.bbox)
        if o >= self.min_iou:
            return 1.0 + o
        pc = pred[:2] + pred[2:] / 2
        fc = face.bbox[:2] + face.bbox[2:] / 2
        size = max(float(pred[2]), float(pred[3]), 1.0)
        shift = float(np.linalg.norm(pc - fc)) / size
        ratio = float(face.bbox[2] / max(pred[2], 1.0))
        if shift < self.max_centre_shift and 0.5 < ratio < 2.0:
            return 1.0 - shift
        return 0.0

    def update(self, faces: list[Face], t: float) -> tuple[list[tuple[Track, Face]], list[Track]]:
        """Match this frame's faces; returns (matched or new tracks with their face, ended)."""
        preds = {tid: tr.predict(t) for tid, tr in self.tracks.items()}
        pairs = sorted(
            (
                (self._affinity(tr, preds[tid], f), tid, i)
                for tid, tr in self.tracks.items()
                for i, f in enumerate(faces)
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_f: set[int] = set()
        out: list[tuple[Track, Face]] = []
        for aff, tid, i in pairs:
            if aff <= 0 or tid in used_t or i in used_f:
                continue
            used_t.add(tid)
            used_f.add(i)
            tr = self.tracks[tid]
            dt = t - tr.last_t
            if dt > 0:
                v = (faces[i].bbox - tr.face.bbox) / dt
                tr.velocity = 0.5 * tr.velocity + 0.5 * v.astype(np.float32)
            tr.face, tr.last_t, tr.hits = faces[i], t, tr.hits + 1
            out.append((tr, faces[i]))
        for i, f in enumerate(faces):
            if i not in used_f:
                tr = Track(self._next_id, f, t, t)
                self._next_id += 1
                self.tracks[tr.id] = tr
                out.append((tr, f))
        ended = [
            tr
            for tid, tr in self.tracks.items()
            if tid not in used_t and t - tr.last_t > self.max_age_s
        ]
        for tr in ended:
            del self.tracks[tr.id]
        return out, ended

    def flush(self) -> list[Track]:
        """End every track (end of stream)."""
        ended = list(self.tracks.values())
        self.tracks.clear()
        return ended
