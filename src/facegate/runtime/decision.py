"""Turn a track's evidence into at most one door decision.

Policy, per track (one person walking up to the door):
- every good shot is embedded with the fast recogniser and searched in the gallery; a shot
  *votes* for a resident when its score passes the threshold for the target FMR;
- the door may open once `min_votes` shots agree on one resident and no shot voted for anyone
  else; with `confirm` on, the second recogniser then looks at the shot that scored highest
  for that resident, and two calibrated gates must both pass for a false open:
  `confirm_by: model` (default) requires the second recogniser alone to pass `confirm_fmr`;
  `confirm_by: fusion` requires the fused score of both recognisers on that shot (mean of
  impostor z-scores, the calibrated fusion of `facegate eval calibrate`) to pass `fusion_fmr`.
  A failed confirmation is retried (up to `max_confirm_tries`) only on a shot that scored
  higher still;
- the FMRs are per comparison, and a visit makes many: every shot meets every template of
  every resident (a 100-resident gallery holds 300-500 templates). The defaults (SFace votes
  at 1e-5, reid confirms at 1e-5) were chosen for the *per-visit* rate on the door
  benchmark's tuning seed (docs/door-benchmark.md, steps 6 and 7): of the strangers whose photo
  passed a vote at 1e-3, reid at 1e-4 confirmed 16 of 344 and at 1e-5 none; with reid at 1e-4
  a fresh seed let one stranger in of 2,000. dlib at 1e-4 (the earlier default) confirmed
  13 of 2,000 strangers on their best resident where reid at 1e-5 confirmed 1, and missed
  more residents; fusion at 1e-5 admitted strangers;
- liveness and the access rules come last; a resident who fails either is denied and
  journalled, and the door stays shut;
- the first `max_embeds` good shots are embedded; after that only a shot clearly better than
  every embedded one (`better_shot_gain`: a visitor who came closer), so a face that is still
  far away when the budget runs out is looked at again when it arrives, and a face that
  stays as it is stops costing CPU;
- a track that ends undecided is journalled as unknown when the person leaves.
Thresholds are set by target false-match rate through the engine's calibration, never raw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from pydantic import Field

from facegate.errors import ConfigError
from facegate.gallery.matcher import Gallery
from facegate.models.base import Face
from facegate.runtime.access import AccessPolicy
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.liveness.base import Liveness
from facegate.runtime.quality import ShotQuality
from facegate.schema import StrictModel

if TYPE_CHECKING:  # the engine imports the config, which imports this module
    from facegate.engine import FaceEngine

log = logging.getLogger("facegate.runtime")


class DecisionConfig(StrictModel):
    fmr: float = Field(1e-5, gt=0, lt=1, description="per-comparison FMR of the fast model")
    min_votes: int = Field(2, ge=1, description="agreeing good shots needed to open")
    max_embeds: int = Field(12, ge=1, description="embedding budget per track")
    better_shot_gain: float | None = Field(
        0.1,
        ge=0,
        description="past `max_embeds`, a shot is still embedded when its quality "
        "score beats every embedded shot's by this fraction; null: stop at `max_embeds`",
    )
    confirm: bool = Field(True, description="second recogniser must agree before opening")
    confirm_by: Literal["model", "fusion"] = Field(
        "model",
        description="fusion: the fused score of both recognisers must pass "
        "`fusion_fmr`; model: the second recogniser alone must pass `confirm_fmr`",
    )
    fusion_fmr: float = Field(1e-5, gt=0, lt=1, description="FMR of the fused score")
    confirm_fmr: float = Field(
        1e-5, gt=0, lt=1, description="FMR of the confirming model (confirm_by: model)"
    )
    max_confirm_tries: int = Field(2, ge=1)
    require_liveness: bool = Field(
        False, description="deny when no liveness check could vouch for the face"
    )


@dataclass
class Shot:
    image: np.ndarray  # the face with context, cut from the frame (see `cut`)
    face: Face  # in `image` coordinates
    quality: ShotQuality

    @classmethod
    def cut(cls, frame: np.ndarray, face: Face, quality: ShotQuality, margin: float = 1.0) -> Shot:
        """Keep a copy of the face with `margin` box sizes of context on each side, not the
        frame: a track holds several shots, and a view of a 1080p frame keeps all 6 MB of it
        alive. The context covers the confirming model's own crop and the journal snapshot."""
        x, y, w, h = (float(v) for v in face.bbox)
        H, W = frame.shape[:2]
        x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
        x1, y1 = min(W, int(x + w * (1 + margin)) + 1), min(H, int(y + h * (1 + margin)) + 1)
        offset = np.array([x0, y0], np.float32)
        bbox = face.bbox.astype(np.float32).copy()
        bbox[:2] -= offset
        moved = Face(bbox, face.landmarks.astype(np.float32) - offset, face.score)
        return cls(frame[y0:y1, x0:x1].copy(), moved, quality)


@dataclass
class TrackEvidence:
    track_id: int
    first_t: float
    votes: dict[int, list[float]] = field(default_factory=dict)
    vote_shots: dict[int, Shot] = field(default_factory=dict)  # best quality: the snapshot
    top_shots: dict[int, tuple[float, Shot]] = field(default_factory=dict)  # best score
    best_shot: Shot | None = None
    best_score: float = float("-inf")
    best_person: int | None = None
    embeds: int = 0
    confirm_tries: int = 0
    confirm_scores: dict[str, float] = field(default_factory=dict)
    decided: Decision | None = None
    note: str = ""
    pending: int | None = None  # recognised resident still waiting for liveness
    confirmed: int | None = None  # resident the second model agreed on
    confirm_shot: Shot | None = None  # the shot it last looked at

    def offer(self, shot: Shot) -> None:
        if self.best_shot is None or shot.quality.score > self.best_shot.quality.score:
            self.best_shot = shot


def snapshot(shot: Shot | None, margin: float = 0.35) -> np.ndarray | None:
    """The best shot for the journal: the face with some context, at most 256 px."""
    if shot is None:
        return None
    x, y, w, h = (float(v) for v in shot.face.bbox)
    mx, my = w * margin, h * margin
    H, W = shot.image.shape[:2]
    x0, y0 = max(0, int(x - mx)), max(0, int(y - my))
    x1, y1 = min(W, int(x + w + mx)), min(H, int(y + h + my))
    crop = shot.image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    s = 256 / max(crop.shape[:2])
    return cv2.resize(crop, None, fx=s, fy=s) if s < 1 else crop.copy()


def decision_models(cfg: DecisionConfig, engine: FaceEngine) -> tuple[str, str | None]:
    """(the per-shot model, the confirming model or None), from the configuration alone.

    Never from what the galleries hold: a confirming model with no templates yet must
    refuse residents, not be skipped, or the door opens on one recogniser (fail closed).
    `confirm` with a single recogniser configured is a configuration error, said at start.
    """
    fast = engine.config.model
    others = [m for m in engine.model_names if m != fast]
    if cfg.confirm and not others:
        raise ConfigError(
            f"decision.confirm is on, but engine.recognizers has only '{fast}': add a second "
            "recogniser to confirm with, or set decision.confirm: false to open on one"
        )
    return fast, (others[0] if cfg.confirm else None)


class Decider:
    def __init__(
        self,
        cfg: DecisionConfig,
        entrance: str,
        engine: FaceEngine,
        galleries: dict[str, Gallery],
        liveness: Liveness,
        access: AccessPolicy,
    ) -> None:
        self.cfg = cfg
        self.entrance = entrance
        self.engine = engine
        self.fast, self.confirm_model = decision_models(cfg, engine)
        self.galleries: dict[str, Gallery] = {}
        self.set_galleries(galleries)
        self.liveness = liveness
        self.access = access
        self.threshold = engine.threshold(self.fast, cfg.fmr)
        self.confirm_threshold = (
            engine.threshold(self.confirm_model, cfg.confirm_fmr) if self.confirm_model else None
        )
        self.fusion_threshold: float | None = None
        if self.confirm_model and cfg.confirm_by == "fusion":
            if set(engine.model_names) == {self.fast, self.confirm_model}:
                try:
                    self.fusion_threshold = engine.fusion_calibration().threshold(cfg.fusion_fmr)
                except ConfigError as exc:
                    log.warning(
                        "%s; %s confirms alone at FMR %g", exc, self.confirm_model, cfg.confirm_fmr
                    )
            else:
                log.warning(
                    "fusion needs exactly two recognisers (configured: %s); %s "
                    "confirms alone at FMR %g",
                    ", ".join(engine.model_names),
                    self.confirm_model,
                    cfg.confirm_fmr,
                )

    @property
    def models(self) -> list[str]:
        """The recognisers this decision uses: the galleries it needs, the models to warm."""
        return [m for m in (self.fast, self.confirm_model) if m]

    def set_galleries(self, galleries: dict[str, Gallery]) -> None:
        missing = [m for m in self.models if m not in galleries]
        if missing:  # a caller's bug: fail loudly rather than decide without a model
            raise ConfigError(f"no gallery loaded for {', '.join(missing)}")
        self.galleries = galleries

    def wants_embedding(self, ev: TrackEvidence) -> bool:
        """Whether a track's new shot is worth aligning and assessing at all."""
        return ev.decided is None and (
            ev.embeds < self.cfg.max_embeds or self.cfg.better_shot_gain is not None
        )

    def worth_embedding(self, ev: TrackEvidence, quality: ShotQuality) -> bool:
        """A good shot within the budget, or past it one clearly better than all embedded."""
        if ev.embeds < self.cfg.max_embeds:
            return True
        gain = self.cfg.better_shot_gain
        return (
            gain is not None
            and ev.best_shot is not None
            and quality.score > ev.best_shot.quality.score * (1.0 + gain)
        )

    def add_shot(self, ev: TrackEvidence, shot: Shot, embedding: np.ndarray) -> None:
        """One embedded good shot: search the gallery, record a vote if it passes."""
        ev.embeds += 1
        ev.offer(shot)
        cands = self.galleries[self.fast].search(embedding, top_k=1)
        if not cands:
            return
        best = cands[0]
        if best.score > ev.best_score:
            ev.best_score, ev.best_person = best.score, best.person_id
        if best.score >= self.threshold:
            ev.votes.setdefault(best.person_id, []).append(best.score)
            prev = ev.vote_shots.get(best.person_id)
            if prev is None or shot.quality.score > prev.quality.score:
                ev.vote_shots[best.person_id] = shot
            top = ev.top_shots.get(best.person_id)
            if top is None or best.score > top[0]:
                ev.top_shots[best.person_id] = (best.score, shot)

    def decide(self, ev: TrackEvidence, now: float) -> DoorEvent | None:
        """Called after each frame's shots; returns an OPEN/DENY event at most once."""
        if ev.decided is not None or not ev.votes:
            return None
        if len(ev.votes) > 1:
            ev.note = "shots matched different residents"
            return None
        pid, scores = next(iter(ev.votes.items()))
        if len(scores) < self.cfg.min_votes:
            return None
        name = self.galleries[self.fast].names[pid]
        all_scores = {self.fast: max(scores)}
        if self.confirm_model and ev.confirmed != pid:
            fast_score, shot = ev.top_shots[pid]
            if ev.confirm_tries >= self.cfg.max_confirm_tries or shot is ev.confirm_shot:
                return None  # out of tries, or no higher-scoring shot since the last try
            if pid not in self.galleries[self.confirm_model]:
                return self._refuse_unconfirmable(ev, pid, name, all_scores)
            ev.confirm_tries += 1
            ev.confirm_shot = shot
            emb = self.engine.embed(shot.image, shot.face, model=self.confirm_model)
            score = self.galleries[self.confirm_model].score(emb, pid)
            ev.confirm_scores[self.confirm_model] = score
            if self.fusion_threshold is not None:
                fused = (
                    self.engine.fuse({self.fast: fast_score, self.confirm_model: score})
                    if np.isfinite(score)
                    else float("-inf")
                )
                ev.confirm_scores["fusion"] = fused
                if fused < self.fusion_threshold:
                    ev.note = (
                        f"fusion of {self.fast} and {self.confirm_model} did not confirm "
                        f"{name} ({fused:.3f} < {self.fusion_threshold:.3f})"
                    )
                    return None
            elif score < self.confirm_threshold:
                ev.note = (
                    f"{self.confirm_model} did not confirm {name} "
                    f"({score:.3f} < {self.confirm_threshold:.3f})"
                )
                return None
            ev.confirmed = pid
        all_scores.update(ev.confirm_scores)
        live = self.liveness.verdict(ev.track_id)
        event = DoorEvent(
            Decision.DENY,
            self.entrance,
            "",
            track=ev.track_id,
            person=name,
            person_id=pid,
            scores=all_scores,
            liveness=live.to_dict(),
            snapshot=snapshot(ev.vote_shots[pid]),
        )
        ev.decided = Decision.DENY
        if live.checked and live.live is False:
            event.reason = f"presentation attack suspected ({live.method})"
            return event
        if not live.checked and (self.cfg.require_liveness or live.required):
            ev.decided, ev.pending = None, pid  # more frames may still establish it
            ev.note = f"liveness required but not established for {name}"
            return None
        verdict = self.access.check(name, self.entrance, datetime.now(UTC))
        if not verdict.allowed:
            event.reason = verdict.reason
            return event
        if verdict.rule_index is not None:
            self.access.record_use(verdict.rule_index)
        event.decision = ev.decided = Decision.OPEN
        how = ("fusion with " if self.fusion_threshold is not None else "") + str(
            self.confirm_model
        )
        event.reason = f"{name} matched in {len(scores)} shots" + (
            f", confirmed by {how}" if self.confirm_model else ""
        )
        event.time_to_open_ms = 1000.0 * (now - ev.first_t)
        event.clock_t = now
        return event

    def _refuse_unconfirmable(
        self, ev: TrackEvidence, pid: int, name: str, scores: dict[str, float]
    ) -> DoorEvent:
        """A resident the confirming model cannot check (enrolled while it was not loaded, or
        their templates were lost): the door stays shut and the journal says how to fix it."""
        ev.decided = Decision.DENY
        return DoorEvent(
            Decision.DENY,
            self.entrance,
            f"{name} has no {self.confirm_model} template, so the second recogniser cannot "
            f"confirm them: re-enrol {name}'s photos",
            track=ev.track_id,
            person=name,
            person_id=pid,
            scores=scores,
            liveness=self.liveness.verdict(ev.track_id).to_dict(),
            snapshot=snapshot(ev.vote_shots[pid]),
        )

    def finish(self, ev: TrackEvidence) -> DoorEvent | None:
        """A track ended: journal an unknown visitor if we saw a good shot and never decided."""
        live = self.liveness.verdict(ev.track_id)
        self.liveness.forget(ev.track_id)
        if ev.decided is not None or ev.best_shot is None or ev.embeds == 0:
            return None
        if ev.pending is not None:
            ev.decided = Decision.DENY
            return DoorEvent(
                Decision.DENY,
                self.entrance,
                ev.note,
                track=ev.track_id,
                person=self.galleries[self.fast].names.get(ev.pending),
                person_id=ev.pending,
                scores={self.fast: max(ev.votes[ev.pending]), **ev.confirm_scores},
                liveness=live.to_dict(),
                snapshot=snapshot(ev.vote_shots[ev.pending]),
            )
        ev.decided = Decision.UNKNOWN
        best = ""
        if ev.best_person is not None:
            name = self.galleries[self.fast].names.get(ev.best_person, "?")
            if ev.best_score < self.threshold:
                best = f"; closest {name} {ev.best_score:.3f} < {self.threshold:.3f}"
            else:  # above the threshold, but on too few shots to count
                votes = len(ev.votes.get(ev.best_person, []))
                best = (
                    f"; {name} {ev.best_score:.3f} >= {self.threshold:.3f} on {votes} of "
                    f"{self.cfg.min_votes} shots needed"
                )
        reason = ev.note or f"no resident matched at FMR {self.cfg.fmr:g}{best}"
        return DoorEvent(
            Decision.UNKNOWN,
            self.entrance,
            reason,
            track=ev.track_id,
            scores={self.fast: ev.best_score, **ev.confirm_scores},
            liveness=live.to_dict(),
            snapshot=snapshot(ev.best_shot),
        )
