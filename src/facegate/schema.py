"""The base of every configuration section: unknown keys are errors, not silently ignored.

Kept apart from `config.py` so a stage can define its own section next to its code and
`config.py` can assemble them into the one `FaceGateConfig` without an import cycle.
"""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
