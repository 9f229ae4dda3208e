"""The `liveness:` section of an entrance: which checks vouch for a face, how they combine,
and each check's settings (`PassiveConfig`, `MotionConfig`, `ChallengeConfig`).

A leaf module: it imports pydantic and the schema base only, never the engine, the top-level
config or another liveness module, so `facegate.config` can assemble it without a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from facegate.schema import StrictModel

CheckName = Literal["passive", "motion", "challenge", "screen"]
#: The checks an entrance runs when `checks` is not set (docs/liveness.md: how they were chosen).
DEFAULT_CHECKS: tuple[str, ...] = ("passive", "motion", "screen")


class PassiveConfig(StrictModel):
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="a track whose mean P(real) is below this is an attack; default: the "
        "model's own threshold (the shipped pair's was chosen per track on NUAA and real "
        "clips, docs/liveness.md); a model FaceGate has not measured needs one",
    )
    target_bpcer: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="instead of the default threshold: the one measured for a known model "
        "at this share of real NUAA frames rejected (per frame, `facegate eval pad`)",
    )
    every: int = Field(2, ge=1, description="score every n-th frame of a track")
    samples: int = Field(6, ge=1, description="scores averaged before deciding")
    min_face_px: float = Field(40.0, ge=0, description="smaller faces are not scored")


class MotionConfig(StrictModel):
    every: int = Field(2, ge=1, description="look at every n-th frame of a track")
    window: int = Field(16, ge=4, le=64, description="earlier views kept per track")
    offsets: list[int] = Field(
        [2, 4, 8],
        min_length=1,
        description="each new view is compared with the views this "
        "many looks back (bounded by `window`)",
    )
    min_face_px: float = Field(
        60.0, ge=20, description="faces narrower than this are too small for the landmarks"
    )
    min_motion: float = Field(
        0.08,
        gt=0,
        description="viewpoint change (scale change + non-similar landmark motion, "
        "inter-ocular units) a pair of views needs to count",
    )
    max_correction: float = Field(
        0.12,
        gt=0,
        description="a pair whose alignment the second flow pass still had to "
        "move by more than this (RMS over the face, inter-ocular units) did not converge "
        "(landmarks misplaced, e.g. on a face cut by the photo's edge or half hidden by "
        "another): its residual measures the failed alignment, not parallax, so it is no "
        "evidence",
    )
    max_unaligned: float = Field(
        0.25,
        ge=0,
        le=1,
        description="share of a track's pairs that may fail to align "
        "(see max_correction) before the track can still be judged live: landmarks that fail "
        "this often are not trusted to vouch for a face (an attack verdict is never held back)",
    )
    min_pairs: int = Field(6, ge=1, description="moved pairs needed before deciding")
    min_live_pairs: int = Field(
        8,
        ge=1,
        description="moved pairs needed before deciding 'live' (the costly mistake "
        "needs more evidence)",
    )
    live_ratio: float = Field(
        0.065,
        gt=0,
        description="median parallax per unit of motion at or above which the "
        "face is live (a plane has none)",
    )
    planar_ratio: float = Field(
        0.03,
        gt=0,
        description="median parallax per unit of motion below which the face "
        "moved as a plane (photo, screen)",
    )

    @model_validator(mode="after")
    def _order(self) -> MotionConfig:
        if self.planar_ratio > self.live_ratio:
            raise ValueError("planar_ratio must not exceed live_ratio")
        if max(self.offsets) >= self.window + 1:
            raise ValueError("offsets must be at most `window`")
        return self


class ScreenConfig(StrictModel):
    """The screen-edge check (a veto, `liveness/screen.py`): a long straight edge that moves
    with the face under a still camera."""

    every: int = Field(2, ge=1, description="look at every n-th frame of a track")
    min_face_px: float = Field(40.0, ge=0, description="smaller faces are not looked at")
    window: float = Field(2.2, gt=0.5, description="region searched, face widths each side")
    min_length: float = Field(1.8, gt=0, description="shortest edge, in face widths")
    min_shift: float = Field(
        0.15, gt=0, description="face motion (face widths + log scale) a pair of looks needs"
    )
    angle_tol_deg: float = Field(4.0, gt=0, description="same edge: angle within this")
    rho_tol: float = Field(0.06, gt=0, description="same edge relative to the face (widths)")
    static_px: float = Field(2.5, gt=0, description="same edge in the image (pixels)")
    margin: float = Field(
        0.2,
        gt=0,
        description="an edge counts only when a static edge would sit at least this far "
        "(face widths) from where it was found",
    )
    still_level: float = Field(4.0, gt=0, description="mean gray change of a still border cell")
    static_border: float = Field(
        0.4, ge=0, le=1, description="share of border cells that must be still (camera still)"
    )
    min_locked: int = Field(4, ge=1, description="pairs with an edge locked to the face")
    min_share: float = Field(0.25, ge=0, le=1, description="... and their share of the pairs")


class ChallengeConfig(StrictModel):
    kind: Literal["blink", "turn"] = "blink"
    after_s: float = Field(
        1.0,
        ge=0,
        description="ask once the face has been tracked this long (when the "
        "challenge is a fallback: once the other checks are still undecided)",
    )
    timeout_s: float = Field(6.0, gt=0, description="time allowed to do it after the prompt")
    min_face_px: float = Field(70.0, ge=20)
    ear_closed: float = Field(0.18, gt=0, description="eye aspect ratio of a closed eye")
    ear_open: float = Field(0.24, gt=0, description="eye aspect ratio of an open eye")
    turn: float = Field(
        0.25,
        gt=0,
        description="nose shift against the face outline for a head turn "
        "(fraction of the half face width)",
    )


class LivenessConfig(StrictModel):
    """Presentation-attack detection for one entrance."""

    model: Path | None = Field(
        None,
        description="passive PAD model: a folder of MiniFASNet-layout ONNX files or one "
        "file; default: the MiniFASNet pair shipped with FaceGate (never downloaded)",
    )
    checks: list[CheckName] | None = Field(
        None,
        description="checks that judge a face; default: passive (the shipped model, or "
        "`model`), motion, and the screen-edge veto; [] turns liveness off",
    )
    need: Literal["all", "any"] = Field(
        "all",
        description="all required checks must say live, or any one of them (an attack "
        "verdict from any check always denies)",
    )
    on_undecided: Literal["allow", "wait", "challenge"] = Field(
        "wait",
        description="when the checks cannot decide yet: allow (open unchecked), wait "
        "(keep the door shut; deny when the visitor leaves), challenge (ask for a blink/turn)",
    )
    passive: PassiveConfig = PassiveConfig()
    motion: MotionConfig = MotionConfig()
    challenge: ChallengeConfig = ChallengeConfig()
    screen: ScreenConfig = ScreenConfig()

    @model_validator(mode="after")
    def _consistent(self) -> LivenessConfig:
        if self.checks is not None and len(set(self.checks)) != len(self.checks):
            raise ValueError(f"checks must not repeat, got {self.checks}")
        return self

    def active_checks(self) -> list[str]:
        if self.checks is not None:
            return list(self.checks)
        return list(DEFAULT_CHECKS)
