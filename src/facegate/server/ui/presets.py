# ruff: noqa: E501  (the catalogue's keys are whole sentences, on one line each: see i18n)
"""How strict a door is, as three named choices with what each was measured to do, instead
of asking a building manager for a "target false-match rate 1e-05".

Each preset is a set of `DecisionConfig` values (the rest of the section is kept as
stored); an entrance whose values match none shows as "custom", with the numbers. The
figures are measured, not promised, and each says where it comes from:

- balanced (the shipped default: SFace at FMR 1e-5, confirmed by reid at 1e-5):
  docs/door-benchmark.md, issue 14 runs on fresh seeds 7 and 8 (100 residents, LFW people
  walking up in rendered clips): 0 false opens in 4,000 stranger visits (95 % upper bound
  7.5e-4 per visit; the design aim is below 1e-4), 7.9 and 9.3 % of resident visits missed.
- convenient (reid confirming at 1e-4): the same document, seeds 5 and 6: 1 false open in
  4,000 stranger visits (about 5e-4 per visit at 100 residents) and 4.6-6.1 % missed, which
  is why it is not the default.
- strict (both recognisers at FMR 1e-6): not run at the door; the LFW calibration
  (docs/accuracy.md, src/facegate/models/calibration.json: 87 of 87.3 million stranger
  pairs pass each threshold) and the share of same-person LFW pairs kept: SFace 81.3 %
  instead of 94.7 %, reid 73.6 % instead of 93.4 %, so more residents need a second look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from facegate.server.operations.event_text import N_


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    figures: str
    decision: dict[str, Any]


_BASE = {"confirm": True, "confirm_by": "model", "min_votes": 2}
PRESETS = (
    Preset(
        "strict",
        N_("Strict: fewest strangers let in, more residents asked to look again"),
        N_(
            "Both recognisers at a false-match rate of 1 in a million per comparison (LFW calibration). Not yet measured at a door; the recognisers keep 74-81 % of same-person photo pairs instead of 93-95 %."
        ),
        {**_BASE, "fmr": 1e-6, "confirm_fmr": 1e-6},
    ),
    Preset(
        "balanced",
        N_("Balanced (recommended)"),
        N_(
            "Measured at a simulated door with 100 residents: 0 strangers let in out of 4,000 visits; 8-9 % of resident visits needed a second try."
        ),
        {**_BASE, "fmr": 1e-5, "confirm_fmr": 1e-5},
    ),
    Preset(
        "convenient",
        N_("Convenient: residents let in more often, strangers more likely too"),
        N_(
            "Measured at a simulated door with 100 residents: 1 stranger let in out of 4,000 visits (about 1 in 2,000); 5-6 % of resident visits needed a second try."
        ),
        {**_BASE, "fmr": 1e-5, "confirm_fmr": 1e-4},
    ),
)
BY_KEY = {p.key: p for p in PRESETS}
SOURCE = N_(
    "Figures: docs/door-benchmark.md (simulated door, LFW people walking up) and docs/accuracy.md (calibration on LFW)."
)


def preset_of(decision: dict[str, Any]) -> str:
    """The preset the stored values are, or "custom"."""
    for p in PRESETS:
        if all(_same(decision.get(k), v) for k, v in p.decision.items()):
            return p.key
    return "custom"


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, float):
        try:
            return abs(float(a) - b) <= 1e-12
        except (TypeError, ValueError):
            return False
    return a == b
