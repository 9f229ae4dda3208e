"""The per-entrance policy: `build_liveness` turns an entrance's `LivenessConfig` into its
liveness stage, and `PolicyLiveness` combines the configured checks into one verdict per
track (an attack verdict from any check is final; otherwise all or any required checks must
say live, and when they cannot decide yet the policy allows, waits, or asks for a challenge).
Also the start-up and /health descriptions of a stage, and the door's challenge prompt hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facegate.models.base import Face
from facegate.models.pad import SHIPPED_NAME as SHIPPED_PAD_NAME
from facegate.models.shape68 import Landmarks68
from facegate.runtime.liveness.base import (
    MAX_TRACKS,
    Liveness,
    LivenessVerdict,
    NoLiveness,
    Prompt,
    _Check,
)
from facegate.runtime.liveness.challenge import ChallengeCheck
from facegate.runtime.liveness.config import LivenessConfig
from facegate.runtime.liveness.motion import PlanarMotionCheck
from facegate.runtime.liveness.passive import PassiveCheck, passive_threshold
from facegate.runtime.liveness.screen import ScreenEdgeCheck

if TYPE_CHECKING:  # type only: no liveness module needs the engine at run time
    from facegate.engine import FaceEngine

log = logging.getLogger("facegate.liveness")


class PolicyLiveness:
    """Combine the configured checks into one verdict per track, per the entrance policy.

    An attack verdict from any check is final. Otherwise the face is live when all (or, with
    `need: any`, one) of the required checks say so; until then the verdict is unchecked, and
    `required` (the door waits) unless the policy allows undecided faces.
    """

    def __init__(
        self,
        cfg: LivenessConfig,
        checks: dict[str, _Check],
        challenge: ChallengeCheck | None = None,
        model_path: str | Path | None = None,
        note: str = "",
    ) -> None:
        self.cfg = cfg
        self.checks = checks
        self.challenge = challenge
        self.model_path = model_path
        self.note = note
        self.name = "+".join(checks) or "none"
        self._frame: dict[int, int] = {}

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None:
        t = self._frame.get(track_id, 0)
        self._frame[track_id] = t + 1
        if len(self._frame) > MAX_TRACKS:
            self._frame.pop(next(iter(self._frame)))
        for c in self.checks.values():
            c.observe(track_id, image, face, t)
        ch = self.challenge
        if ch is not None and "challenge" not in self.checks:
            ch.observe(track_id, image, face, t)  # a fallback challenge watches too
        if ch is not None and not ch.wanted(track_id):
            if "challenge" in self.checks:
                due = ch.track_age(track_id) >= ch.cfg.after_s
            else:
                due = (
                    self.cfg.on_undecided == "challenge"
                    and ch.track_age(track_id) >= ch.cfg.after_s
                    and not self._combine(track_id)[0].checked
                )
            if due:
                ch.ask(track_id)

    def _combine(self, track_id: int) -> tuple[LivenessVerdict, dict[str, Any]]:
        subs = {n: c.verdict(track_id) for n, c in self.checks.items()}
        ev = {n: v.to_dict() for n, v in subs.items()}
        attacks = [n for n, v in subs.items() if v.checked and v.live is False]
        lives = [n for n, v in subs.items() if v.checked and v.live]
        score = subs["passive"].score if "passive" in subs else None
        # vetoes (the screen-edge check) can deny, never vouch: they are not waited for
        vouching = [n for n, c in self.checks.items() if getattr(c, "vouches", True)]
        if attacks:
            return LivenessVerdict(
                True,
                False,
                "+".join(attacks),
                score,
                ev,
                note="; ".join(subs[n].note or f"{n}: attack" for n in attacks),
            ), ev
        done = (len(lives) == len(vouching)) if self.cfg.need == "all" else bool(lives)
        if vouching and done:
            return LivenessVerdict(True, True, "+".join(lives), score, ev, note=self.note), ev
        # a fallback challenge may settle what the required checks could not
        ch = self.challenge
        if ch is not None and "challenge" not in subs and ch.wanted(track_id):
            cv = ch.verdict(track_id)
            ev["challenge"] = cv.to_dict()
            if cv.checked and cv.live:
                return LivenessVerdict(True, True, "challenge", score, ev, note=self.note), ev
        waiting = [f"{n}: {v.note}" for n, v in subs.items() if not v.checked and n in vouching]
        note = "; ".join(waiting) or "no check configured"
        if self.note:
            note += f"; {self.note}"
        return LivenessVerdict(
            False, None, self.name, score, ev, note=note, required=self.cfg.on_undecided != "allow"
        ), ev

    def verdict(self, track_id: int) -> LivenessVerdict:
        return self._combine(track_id)[0]

    def forget(self, track_id: int) -> None:
        self._frame.pop(track_id, None)
        for c in self.checks.values():
            c.forget(track_id)
        if self.challenge is not None:
            self.challenge.forget(track_id)

    def describe(self) -> dict[str, Any]:
        """What this entrance checks, for the start-up log and /health."""
        d: dict[str, Any] = {
            "checks": list(self.checks),
            "need": self.cfg.need,
            "on_undecided": self.cfg.on_undecided,
            "passive_model": str(self.model_path) if self.model_path else None,
        }
        if "passive" in self.checks:
            d["passive_threshold"] = round(self.checks["passive"].threshold, 4)
        if self.challenge is not None:
            d["challenge"] = self.cfg.challenge.kind
        if self.note:
            d["note"] = self.note
        return d


NO_MODEL_NOTE = (
    "no passive PAD check (liveness.checks leaves out 'passive'): a replayed video or a bent "
    "or cut-out photo is not detected"
)


def passive_model_name(cfg: LivenessConfig, checks: list[str]) -> str | None:
    """The passive model as describe() and /health name it: the user's path, or the shipped
    pair (None when the passive check is off)."""
    if "passive" not in checks:
        return None
    return str(cfg.model) if cfg.model is not None else SHIPPED_PAD_NAME


def build_liveness(
    cfg: LivenessConfig,
    engine: FaceEngine | None = None,
    prompt: Prompt | None = None,
    clock: Callable[[], float] | None = None,
) -> NoLiveness | PolicyLiveness:
    """The entrance's liveness stage from its config; NoLiveness when `checks: []`."""
    names = cfg.active_checks()
    if not names:
        return NoLiveness()
    landmarks = (
        Landmarks68(engine.cache_dir if engine else None)
        if {"motion", "challenge"} & set(names) or (cfg.on_undecided == "challenge")
        else None
    )
    checks: dict[str, _Check] = {}
    if "passive" in names:
        from facegate.models.pad import MiniFASNet

        model = MiniFASNet(cfg.model, threads=1).prepare()  # None: the shipped pair
        checks["passive"] = PassiveCheck(model, cfg.passive, passive_threshold(model, cfg.passive))
    if "motion" in names:
        checks["motion"] = PlanarMotionCheck(cfg.motion, landmarks)
    if "screen" in names:
        checks["screen"] = ScreenEdgeCheck(cfg.screen)
    challenge = None
    if "challenge" in names or cfg.on_undecided == "challenge":
        challenge = ChallengeCheck(cfg.challenge, landmarks, prompt, clock)
        if "challenge" in names:
            checks["challenge"] = challenge
    if landmarks is not None:
        landmarks.prepare()
    note = "" if "passive" in checks else NO_MODEL_NOTE
    return PolicyLiveness(cfg, checks, challenge, passive_model_name(cfg, names), note)


def door_prompt(door: object, entrance: str) -> Prompt:
    """The challenge prompt hook: logged, and handed to the door adapter when it can show or
    say something (an adapter with a `prompt(text)` method: intercom display, speaker)."""
    show = getattr(door, "prompt", None)

    def prompt(track_id: int, text: str) -> None:
        log.info("[%s] track %d: %s", entrance, track_id, text)
        if callable(show):
            show(text)

    return prompt


def startup_summary(liveness: Liveness) -> str:
    """One line for the start-up log: what is checked and what is not."""
    describe = getattr(liveness, "describe", None)
    d = describe() if callable(describe) else {"checks": [liveness.name]}
    if not d.get("checks"):
        return f"liveness: OFF - {NoLiveness.NOTE}"
    parts = [
        f"liveness checks: {', '.join(d['checks'])} (need {d.get('need', 'all')}, "
        f"undecided -> {d.get('on_undecided', '?')})"
    ]
    if d.get("passive_model"):
        t = d.get("passive_threshold")  # unknown until the model is loaded (a config's view)
        at = f" at threshold {t}" if t is not None else " at its calibrated threshold"
        parts.append(f"passive model {d['passive_model']}{at}")
    if d.get("note"):
        parts.append(d["note"])
    return "; ".join(parts)


def liveness_checks(liveness: Liveness) -> list[str]:
    """The checks a liveness stage runs ([] for NoLiveness)."""
    describe = getattr(liveness, "describe", None)
    return list(describe().get("checks", [])) if callable(describe) else [liveness.name]
