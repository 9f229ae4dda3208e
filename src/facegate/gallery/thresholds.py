"""Calibrated decision thresholds: a score means nothing until it is tied to a false-match rate.

`calibration.json` (shipped beside the models) holds, per recogniser version and flip setting,
the impostor-score statistics and the cosine thresholds at FMR 1e-3/1e-4/1e-5, measured on all
cross-identity pairs of the gray LFW by `facegate eval calibrate` (facegate-bench writes the
file; the product only reads it). Thresholds between the calibrated points are interpolated in
log-FMR; beyond them is refused rather than guessed.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from facegate.errors import ConfigError

SHIPPED = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    model: str
    version: str
    flip: bool
    impostor_mean: float
    impostor_std: float
    thresholds: dict[float, float] = field(default_factory=dict)
    source: str = ""

    def threshold(self, fmr: float) -> float:
        if not self.thresholds:
            raise ConfigError(f"model '{self.model}' has no calibrated thresholds")
        pts = sorted(self.thresholds.items())  # ascending FMR -> descending threshold
        if fmr in self.thresholds:
            return self.thresholds[fmr]
        lo, hi = pts[0][0], pts[-1][0]
        if not lo <= fmr <= hi:
            raise ConfigError(
                f"model '{self.model}' is calibrated for FMR {lo:g}..{hi:g}, not {fmr:g}; "
                "run `facegate eval calibrate` on your own data to extend it"
            )
        for (f0, t0), (f1, t1) in itertools.pairwise(pts):
            if f0 <= fmr <= f1:
                w = (math.log10(fmr) - math.log10(f0)) / (math.log10(f1) - math.log10(f0))
                return t0 + w * (t1 - t0)
        raise AssertionError("unreachable")

    def normalise(self, score: float) -> float:
        """z-score against impostors: comparable across models, used by fusion."""
        return (score - self.impostor_mean) / self.impostor_std

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "version": self.version,
            "flip": self.flip,
            "impostor_mean": self.impostor_mean,
            "impostor_std": self.impostor_std,
            "thresholds": {f"{k:g}": v for k, v in sorted(self.thresholds.items())},
            "source": self.source,
        }

    @classmethod
    def from_json(cls, d: dict) -> Calibration:
        return cls(
            model=d["model"],
            version=d["version"],
            flip=bool(d["flip"]),
            impostor_mean=float(d["impostor_mean"]),
            impostor_std=float(d["impostor_std"]),
            thresholds={float(k): float(v) for k, v in d["thresholds"].items()},
            source=d.get("source", ""),
        )


def calibration_key(model: str, version: str, flip: bool) -> str:
    return f"{model}@{version}{'+flip' if flip else ''}"


def load_calibrations(path: Path | None = None) -> dict[str, Calibration]:
    """The shipped table, or a user's file written by `facegate eval calibrate`."""
    try:
        if path is None:
            text = resources.files("facegate.models").joinpath(SHIPPED).read_text()
        else:
            text = Path(path).read_text()
    except FileNotFoundError:
        return {}
    data = json.loads(text)
    return {k: Calibration.from_json(v) for k, v in data.get("calibrations", {}).items()}
