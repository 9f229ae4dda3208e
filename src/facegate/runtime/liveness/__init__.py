"""Liveness: is the face in front of the camera a live person, or a photo or a screen?

The stage sees every tracked detection (`observe`) and gives a per-track verdict. Four checks
exist, combined by a per-entrance policy (`LivenessConfig`, `build_liveness`):

- `passive` (on by default): a presentation-attack model (MiniFASNet layout,
  `facegate.models.pad`): the pair shipped with FaceGate, or the user's `liveness.model`.
  Scores a few frames per track and averages.
- `motion` (model-free, on by default): a printed photo or a photo on a screen moves as a
  plane, so across a track's frames its dense landmarks (dlib's 68-point predictor) all follow
  one homography; a real head's do not (the nose, the eye corners and the jaw line sit at
  different depths and shift against each other as the head turns or comes closer). When the
  face has not moved enough to tell, the check says so (`checked: false`) and the policy
  decides: allow, wait for more frames (deny when the track ends), or ask for a challenge.
- `challenge` (optional, for high-security entrances): the door's display/speaker is asked to
  prompt "please blink" or "please turn your head", and the eyes (eye aspect ratio) or the
  head (nose against the face outline) must do it within a time limit.

- `screen` (model-free, on by default, a veto): a long straight edge next to the face that
  moves with the face while the camera's view stays still is a held screen's or photo's
  border. It can deny a face, never vouch for one, so the policy does not wait for it.

Every verdict says what was checked and what was not: without the passive check the note
says so in every event, and `NoLiveness` (no check at all) never claims a face was live.

Costs per tracked face and frame: the 68-point predictor runs on every `motion.every`-th
frame (about 1-3 ms on one core), the passive model on every `passive.every`-th frame until
it has `passive.samples` scores (about 7 ms per call); a track whose verdict is final costs
nothing more. State per track is a bounded ring buffer, dropped in `forget`.

Modules, one job each: `config` (the `liveness:` section; a leaf), `base` (the verdict, the
stage's interface, `NoLiveness`, per-track state), `geometry` (landmark geometry), `passive`,
`motion`, `challenge` and `screen` (the checks), `policy` (combining them per entrance, building
the stage), `tools` (offline use: `facegate liveness FILE...`). The landmark model they use is
`facegate.models.shape68.Landmarks68`. Everything public is re-exported here.
"""

from facegate.models.shape68 import Landmarks68
from facegate.runtime.liveness.base import MAX_TRACKS, Liveness, LivenessVerdict, NoLiveness, Prompt
from facegate.runtime.liveness.challenge import ChallengeCheck
from facegate.runtime.liveness.config import (
    ChallengeConfig,
    CheckName,
    LivenessConfig,
    MotionConfig,
    PassiveConfig,
    ScreenConfig,
)
from facegate.runtime.liveness.geometry import (
    eye_aspect_ratio,
    fit_homography,
    head_turn,
    homography_residuals,
    interocular,
    pair_evidence,
    similarity_fit,
)
from facegate.runtime.liveness.motion import PlanarMotionCheck
from facegate.runtime.liveness.passive import PassiveCheck, passive_threshold
from facegate.runtime.liveness.policy import (
    NO_MODEL_NOTE,
    PolicyLiveness,
    build_liveness,
    door_prompt,
    liveness_checks,
    passive_model_name,
    startup_summary,
)
from facegate.runtime.liveness.screen import ScreenEdgeCheck
from facegate.runtime.liveness.tools import check_image, check_video, still_image_config

__all__ = [
    "MAX_TRACKS",
    "NO_MODEL_NOTE",
    "ChallengeCheck",
    "ChallengeConfig",
    "CheckName",
    "Landmarks68",
    "Liveness",
    "LivenessConfig",
    "LivenessVerdict",
    "MotionConfig",
    "NoLiveness",
    "PassiveCheck",
    "PassiveConfig",
    "PlanarMotionCheck",
    "PolicyLiveness",
    "Prompt",
    "ScreenConfig",
    "ScreenEdgeCheck",
    "build_liveness",
    "check_image",
    "check_video",
    "door_prompt",
    "eye_aspect_ratio",
    "fit_homography",
    "head_turn",
    "homography_residuals",
    "interocular",
    "liveness_checks",
    "pair_evidence",
    "passive_model_name",
    "passive_threshold",
    "similarity_fit",
    "startup_summary",
    "still_image_config",
]
