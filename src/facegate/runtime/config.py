"""The `runtime:` section: one entrance, where frames come from, how decisions are made,
where they go. Assembled from each stage's own section, next to the stages themselves."""

from __future__ import annotations

from pydantic import Field

from facegate.runtime.access import AccessConfig
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig, LogDoorConfig
from facegate.runtime.idle import IdleConfig
from facegate.runtime.journal import JournalConfig
from facegate.runtime.liveness.config import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.regions import RegionConfig
from facegate.runtime.sources.config import SourceConfig
from facegate.schema import StrictModel


class RuntimeConfig(StrictModel):
    """One entrance: where frames come from, how decisions are made, where they go."""

    entrance: str = Field("main", min_length=1)
    source: SourceConfig | None = None
    door: DoorConfig = Field(default_factory=LogDoorConfig)
    access: AccessConfig = AccessConfig()
    journal: JournalConfig = JournalConfig()
    decision: DecisionConfig = DecisionConfig()
    quality: QualityConfig = QualityConfig()
    liveness: LivenessConfig = LivenessConfig()
    idle: IdleConfig = IdleConfig()
    regions: RegionConfig = RegionConfig()
    track_max_age_s: float = Field(1.0, gt=0, description="a face unseen this long has left")
    gallery_reload_s: float = Field(5.0, gt=0, description="pick up new enrolments this often")
    retention_every_s: float = Field(3600.0, gt=0)
