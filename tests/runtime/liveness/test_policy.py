"""The per-entrance policy: combining the checks, the config's defaults and validation, and
what a stage says when no passive model is configured."""

from __future__ import annotations

import pytest

from facegate.errors import ConfigError
from facegate.models.pad import SHIPPED_NAME, MiniFASNet
from facegate.runtime.liveness import (
    LivenessConfig,
    LivenessVerdict,
    NoLiveness,
    PolicyLiveness,
    build_liveness,
    startup_summary,
)
from tests.runtime.liveness.helpers import require_pad_model


class Fixed:
    """A check that says what it is told."""

    def __init__(self, name: str, verdict: LivenessVerdict) -> None:
        self.name = name
        self.v = verdict
        self.seen = 0

    def observe(self, track_id, image, face, t) -> None:
        self.seen += 1

    def verdict(self, track_id) -> LivenessVerdict:
        return self.v

    def forget(self, track_id) -> None:
        pass


LIVE = LivenessVerdict(True, True, "x", 0.9)
ATTACK = LivenessVerdict(True, False, "x", 0.1, note="flat")
UNSURE = LivenessVerdict(False, None, "x", note="too little motion to tell")


@pytest.mark.parametrize(
    ("a", "b", "need", "on_undecided", "expect"),
    [
        (LIVE, LIVE, "all", "wait", (True, True, False)),
        (LIVE, ATTACK, "any", "allow", (True, False, False)),  # an attack verdict always wins
        (LIVE, UNSURE, "all", "wait", (False, None, True)),  # the door waits
        (LIVE, UNSURE, "all", "allow", (False, None, False)),
        (LIVE, UNSURE, "any", "wait", (True, True, False)),
        (UNSURE, UNSURE, "any", "challenge", (False, None, True)),
    ],
)
def test_policy_combines_checks(a, b, need, on_undecided, expect) -> None:
    cfg = LivenessConfig(need=need, on_undecided=on_undecided)
    pol = PolicyLiveness(cfg, {"passive": Fixed("passive", a), "motion": Fixed("motion", b)})
    v = pol.verdict(3)
    assert (v.checked, v.live, v.required) == expect
    assert set(v.evidence) == {"passive", "motion"}


def test_config_defaults_and_validation(tmp_path) -> None:
    # the default since issue 14: the shipped passive model and the motion check (it was the
    # motion check alone, passive only with a user's model)
    assert LivenessConfig().active_checks() == ["passive", "motion", "screen"]
    assert LivenessConfig(model=tmp_path).active_checks() == ["passive", "motion", "screen"]
    assert LivenessConfig(checks=["passive"]).active_checks() == ["passive"]  # shipped model
    with pytest.raises(ValueError, match="must not repeat"):
        LivenessConfig(checks=["motion", "motion"])
    with pytest.raises(ValueError):
        LivenessConfig(motion={"live_ratio": 0.05, "planar_ratio": 0.1})
    assert isinstance(build_liveness(LivenessConfig(checks=[])), NoLiveness)


def test_default_stage_runs_both_checks_with_the_shipped_model(engine) -> None:
    liv = build_liveness(LivenessConfig(), engine)
    d = liv.describe()
    assert d["checks"] == ["passive", "motion", "screen"] and d["need"] == "all"
    assert d["passive_model"] == SHIPPED_NAME and d["passive_threshold"] == pytest.approx(
        MiniFASNet().default_threshold()
    )
    assert "note" not in d  # nothing the default leaves unchecked is hidden
    summary = startup_summary(liv)
    assert "passive, motion, screen" in summary and SHIPPED_NAME in summary
    assert "no passive PAD" not in summary
    assert liv.verdict(1).required  # default policy: wait, never a silent "live"


def test_without_the_passive_check_every_verdict_says_so(engine) -> None:
    liv = build_liveness(LivenessConfig(checks=["motion"]), engine)
    assert "no passive PAD check" in startup_summary(liv)
    assert "no passive PAD check" in liv.verdict(1).note
    assert liv.verdict(1).required  # default policy: wait, never a silent "live"
    assert startup_summary(NoLiveness()).startswith("liveness: OFF")


def test_unknown_pad_model_needs_an_explicit_threshold(tmp_path) -> None:
    model = require_pad_model()
    one = tmp_path / "2.7_80x80_MiniFASNetV2.onnx"
    one.write_bytes((model / "2.7_80x80_MiniFASNetV2.onnx").read_bytes())
    with pytest.raises(ConfigError, match="threshold"):
        build_liveness(LivenessConfig(model=one))
    liv = build_liveness(LivenessConfig(model=one, passive={"threshold": 0.5}))
    assert liv.describe()["passive_threshold"] == 0.5
