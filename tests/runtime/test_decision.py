"""The door decision on hand-made evidence: votes, confirmation by calibrated fusion or by the
second model alone, and which shot is confirmed. No camera and no face models run here: the
confirming model's embedding is supplied, the thresholds are the shipped calibration's.

The rule is the same whichever model confirms; these tests confirm with dlib (its cosine
scale sits far from SFace's, so a mixed-up threshold shows), the default pair is checked
apart (`test_the_default_pair_is_sface_voting_and_reid_confirming`)."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import TemplateSet
from facegate.models.base import Face
from facegate.models.config import EngineConfig, RecognizerConfig
from facegate.runtime.access import AccessConfig, AccessPolicy
from facegate.runtime.decision import (
    Decider,
    DecisionConfig,
    Shot,
    TrackEvidence,
    decision_models,
)
from facegate.runtime.events import Decision
from facegate.runtime.liveness import NoLiveness
from facegate.runtime.quality import ShotQuality

ANN, BOB = 1, 2
DIM = 128


def unit(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0
    return v


def probe(template: int, cos: float) -> np.ndarray:
    """A unit embedding whose cosine with template `template` (a basis vector) is `cos`."""
    v = cos * unit(template) + np.sqrt(1 - cos * cos) * unit(DIM - 1)
    return v.astype(np.float32)


def gallery(engine: FaceEngine, model: str) -> Gallery:
    ts = TemplateSet(
        model,
        np.array([ANN, BOB]),
        {ANN: "Ann", BOB: "Bob"},
        np.stack([unit(0), unit(1)]),
        {engine.version(model)},
    )
    return Gallery(ts, engine.version(model))


def shot(size: float) -> Shot:
    face = Face(np.array([0, 0, size, size], np.float32), np.zeros((5, 2), np.float32), 0.9)
    return Shot(np.zeros((4, 4, 3), np.uint8), face, ShotQuality(size, 200, 1.0, 120, True))


@pytest.fixture(scope="module")
def engine(cache_dir) -> FaceEngine:
    """SFace votes, dlib confirms (no model is run: embeddings are supplied)."""
    pair = [
        RecognizerConfig(name="sface", kind="sface"),
        RecognizerConfig(name="dlib", kind="dlib"),
    ]
    return FaceEngine(EngineConfig(cache_dir=cache_dir, recognizers=pair))


def test_the_default_pair_is_sface_voting_and_reid_confirming(cache_dir) -> None:
    default = FaceEngine(EngineConfig(cache_dir=cache_dir))
    assert decision_models(DecisionConfig(), default) == ("sface", "reid")
    assert "dlib" not in default.model_names  # the door does not load it unless configured


@pytest.fixture
def make(engine: FaceEngine, monkeypatch: pytest.MonkeyPatch):
    """A Decider whose confirming model returns `dlib_cos` (cosine with Ann) for every shot,
    and records which shots it was asked to embed."""
    confirmed: list[Shot] = []

    def build(dlib_cos: float, **cfg) -> tuple[Decider, list[Shot]]:
        def embed(image, face, model=None):
            assert model == "dlib"
            confirmed.append(next(s for s in shots if s.face is face))
            return probe(0, dlib_cos)

        monkeypatch.setattr(engine, "embed", embed)
        d = Decider(
            DecisionConfig(**cfg),
            "main",
            engine,
            {"sface": gallery(engine, "sface"), "dlib": gallery(engine, "dlib")},
            NoLiveness(),
            AccessPolicy(AccessConfig()),
        )
        return d, confirmed

    shots: list[Shot] = []
    build.shots = shots  # type: ignore[attr-defined]
    return build


def feed(d: Decider, shots: list[Shot], ev: TrackEvidence, sface: list[float], sizes=None):
    """Offer one shot per SFace cosine with Ann; return the first event decided."""
    for i, cos in enumerate(sface):
        s = shot(sizes[i] if sizes else 100.0)
        shots.append(s)
        d.add_shot(ev, s, probe(0, cos))
        event = d.decide(ev, float(i))
        if event is not None:
            return event
    return None


def test_defaults_are_calibrated_gates(make, engine) -> None:
    d, _ = make(0.95)
    assert d.cfg.confirm_by == "model" and d.fusion_threshold is None
    assert d.threshold == pytest.approx(engine.threshold("sface", 1e-5))
    assert d.confirm_threshold == pytest.approx(engine.threshold("dlib", 1e-5))
    d, _ = make(0.95, confirm_by="fusion")
    assert d.fusion_threshold == pytest.approx(engine.fusion_calibration().threshold(1e-5))


def test_strong_fast_score_lets_fusion_confirm_what_dlib_alone_would_not(make, engine) -> None:
    dlib = 0.92  # below dlib's own FMR 1e-3 threshold
    assert dlib < engine.threshold("dlib", 1e-3)
    fused = engine.fuse({"sface": 0.70, "dlib": dlib})
    assert fused >= engine.fusion_calibration().threshold(1e-5)
    d, _ = make(dlib, confirm_by="fusion")
    ev = TrackEvidence(1, 0.0)
    event = feed(d, make.shots, ev, [0.70, 0.70])
    assert event is not None and event.decision is Decision.OPEN and event.person == "Ann"
    assert event.scores["fusion"] == pytest.approx(fused, abs=1e-4)
    assert "fusion" in event.reason

    d, _ = make(dlib)  # the default: dlib alone
    ev = TrackEvidence(2, 0.0)
    assert feed(d, make.shots, ev, [0.70, 0.70]) is None
    assert "dlib did not confirm" in ev.note and "fusion" not in ev.confirm_scores


def test_marginal_fast_score_needs_more_than_dlib_at_1e3(make, engine) -> None:
    """Just over the SFace FMR 1e-4 threshold, dlib at its FMR 1e-3 threshold is not enough
    for the fused FMR 1e-5: fusion is the stricter gate where impostors live."""
    sface, dlib = 0.44, 0.93
    assert sface >= engine.threshold("sface", 1e-4) and dlib >= engine.threshold("dlib", 1e-3)
    d, _ = make(dlib, fmr=1e-4, confirm_fmr=1e-3, confirm_by="model")
    assert feed(d, make.shots, TrackEvidence(1, 0.0), [sface, sface]) is not None
    d, _ = make(dlib, fmr=1e-4, confirm_by="fusion")
    ev = TrackEvidence(2, 0.0)
    assert feed(d, make.shots, ev, [sface, sface]) is None
    assert "did not confirm Ann" in ev.note and ev.confirm_scores["fusion"] < d.fusion_threshold


def test_default_fast_threshold_is_fmr_1e5(make, engine) -> None:
    """A score that passes FMR 1e-4 but not 1e-5 casts no vote by default."""
    sface = 0.47
    assert engine.threshold("sface", 1e-4) <= sface < engine.threshold("sface", 1e-5)
    d, asked = make(0.99)
    ev = TrackEvidence(1, 0.0)
    assert feed(d, make.shots, ev, [sface] * 5) is None
    assert ev.votes == {} and asked == []


def test_confirmation_looks_at_the_highest_scoring_shot_and_retries_on_a_higher_one(make) -> None:
    d, asked = make(0.90, confirm_by="model")  # below dlib's FMR 1e-5 threshold: never confirms
    ev = TrackEvidence(1, 0.0)
    # the bigger (better quality) shot scores lower: the confirming model sees the other one
    assert feed(d, make.shots, ev, [0.55, 0.60], sizes=[150.0, 90.0]) is None
    assert asked == [make.shots[-1]]
    assert ev.vote_shots[ANN] is make.shots[-2]  # the journal snapshot stays the best quality
    assert feed(d, make.shots, ev, [0.58]) is None  # lower: no second try
    assert len(asked) == 1
    assert feed(d, make.shots, ev, [0.62]) is None  # higher: second (last) try
    assert asked[-1] is make.shots[-1] and len(asked) == 2
    assert feed(d, make.shots, ev, [0.70]) is None and len(asked) == 2  # out of tries


def test_votes_for_two_residents_never_open(make) -> None:
    d, asked = make(0.99)
    ev = TrackEvidence(1, 0.0)
    s = shot(100.0)
    make.shots.append(s)
    d.add_shot(ev, s, probe(1, 0.8))  # one shot votes for Bob
    assert feed(d, make.shots, ev, [0.8, 0.8, 0.8]) is None
    assert asked == [] and "different residents" in ev.note


def test_without_fusion_calibration_dlib_confirms_alone(make, engine, monkeypatch) -> None:
    def missing():
        raise ConfigError("no calibrated fusion thresholds")

    monkeypatch.setattr(engine, "fusion_calibration", missing)
    d, _ = make(0.93, confirm_by="fusion", fmr=1e-4, confirm_fmr=1e-3)
    assert d.fusion_threshold is None
    assert feed(d, make.shots, TrackEvidence(1, 0.0), [0.44, 0.44]) is not None


def test_past_the_budget_only_a_clearly_better_shot_is_embedded(make) -> None:
    """A visitor still far away when the budget runs out is looked at again on arrival; a face
    that stays as it is does not keep costing embeddings."""
    d, _ = make(0.99, max_embeds=3, better_shot_gain=0.1)
    ev = TrackEvidence(1, 0.0)
    for size in (40.0, 42.0, 44.0):  # far away: the budget goes on small faces
        assert d.worth_embedding(ev, shot(size).quality)
        d.add_shot(ev, shot(size), probe(0, 0.2))
    assert d.wants_embedding(ev)  # still worth looking at the next shots
    assert not d.worth_embedding(ev, shot(45.0).quality)  # barely better: skipped
    assert d.worth_embedding(ev, shot(120.0).quality)  # came closer: embedded
    d.add_shot(ev, shot(120.0), probe(0, 0.2))
    assert not d.worth_embedding(ev, shot(125.0).quality)  # now it must beat 120 px


def test_without_a_gain_the_budget_is_final(make) -> None:
    d, _ = make(0.99, max_embeds=2, better_shot_gain=None)
    ev = TrackEvidence(1, 0.0)
    for size in (40.0, 42.0):
        d.add_shot(ev, shot(size), probe(0, 0.2))
    assert not d.wants_embedding(ev)
    assert not d.worth_embedding(ev, shot(160.0).quality)
