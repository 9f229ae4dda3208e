"""What the server says about its own condition: each entrance's runtime state and liveness
(`EntranceStatus`, shown in the API, the UI and `/health`) and `/health` itself. Kept apart
from `schemas.py` (which re-exports them) so neither module grows past what one reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LivenessStatus(BaseModel):
    """What an entrance's liveness stage checks and, as plainly, what it does not: an
    entrance without a passive PAD model says so here instead of looking "live"."""

    described_by: Literal["runtime", "config"] = Field(
        description="runtime: the running stage's own description; config: from the "
        "settings, while the runtime is not running"
    )
    checks: list[str] = Field(
        description="checks that must vouch for a face; [] = no liveness check at all"
    )
    passive: bool = Field(
        description="a passive anti-spoofing (PAD) model is configured; "
        "false: replayed videos and bent or cut-out photos are not "
        "detected"
    )
    passive_model: str | None = Field(None, description="its file or folder name")
    passive_threshold: float | None = None
    need: str | None = Field(None, description="all or any of the checks")
    on_undecided: str | None = Field(None, description="allow, wait or challenge")
    challenge: str | None = Field(None, description="blink or turn, when a challenge is asked")
    note: str = Field(
        description="what this entrance does not detect; never empty without a passive model"
    )
    summary: str = Field(description="one line, worded as the runtime's start-up log")


EntranceState = Literal[
    "stopped",
    "starting",
    "running",
    "reconnecting",
    "source_lost",
    "ended",
    "error",
    "no_source",
    "disabled",
]


class EntranceStatus(BaseModel):
    """`starting` until the first frame is processed; `reconnecting` while a camera that
    stopped delivering is retried, `source_lost` once that has lasted longer than the
    source's `reconnect_max_s` (`running` again with the next frame)."""

    state: EntranceState
    detail: str = ""
    since: datetime | None = Field(None, description="when the entrance entered this state")
    frames: int = 0
    fps: float = 0.0
    events: dict[str, int] = Field(default_factory=dict)
    liveness: LivenessStatus | None = None


class HealthProblem(BaseModel):
    """Why /health says `degraded`: one entrance that should be watching and is not."""

    entrance: str
    state: EntranceState
    since: datetime | None
    detail: str = ""


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    problems: list[HealthProblem] = Field(
        default_factory=list,
        description="why the status is degraded: each enabled entrance with a source that is "
        "not running (error, reconnecting, source_lost, ended, stopped)",
    )
    entrances: dict[str, str] = Field(description="entrance name -> runtime state")
    fleet: str = Field(
        "off",
        description="the broker connection of the fleet: off (no fleet.mqtt_url), connecting, "
        "connected, reconnecting (degraded: changes wait in the outbox, nothing is lost)",
    )
    liveness: dict[str, LivenessStatus] = Field(
        default_factory=dict, description="entrance name -> what its liveness stage checks"
    )
