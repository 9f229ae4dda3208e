"""FaceGate: face recognition for smart intercoms.

from facegate import FaceEngine
engine = FaceEngine()
faces = engine.detect(bgr)
emb = engine.embed(bgr, faces[0], model="sface")
score = engine.compare(emb_a, emb_b, model="sface")
"""

from facegate.config import EngineConfig, FaceGateConfig, load_config
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.models.base import Face

__all__ = ["EngineConfig", "Face", "FaceEngine", "FaceGateConfig", "FaceGateError", "load_config"]
__version__ = "0.1.0"
