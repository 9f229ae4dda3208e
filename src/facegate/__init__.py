"""FaceGate: face recognition for smart intercoms.

The plain-function API (`facegate.api`, also re-exported here) is what the CLI and the REST
API call: `enroll`, `identify`, `verify`, `embed`. `FaceEngine` is the model-level object
under it: detect, align, embed, compare, thresholds.
"""

from facegate import api
from facegate.api import embed, enroll, identify, verify
from facegate.config import EngineConfig, FaceGateConfig, load_config
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.models.base import Face

__all__ = [
    "EngineConfig",
    "Face",
    "FaceEngine",
    "FaceGateConfig",
    "FaceGateError",
    "api",
    "embed",
    "enroll",
    "identify",
    "load_config",
    "verify",
]
__version__ = "0.1.0"
