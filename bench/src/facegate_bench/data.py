"""Where the shared evaluation data and reference models are: `$FACEGATE_DATA` and
`$FACEGATE_MODELS`, else `../shared/data` and `../shared/models` beside the checkout.

One rule for the `facegate eval` / `facegate bench` defaults and for the tests (tests/conftest.py
and bench/tests/conftest.py call these). Nothing here is copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path


def checkout() -> Path:
    """The FaceGate checkout this package is installed from (`pip install -e ./bench`), else
    the working directory (an installed copy cannot know where a checkout is)."""
    here = Path(__file__).resolve().parents  # <checkout>/bench/src/facegate_bench/data.py
    if len(here) > 3 and (here[2] / "pyproject.toml").is_file() and here[2].name == "bench":
        return here[3]
    return Path.cwd()


def data_root() -> Path:
    """`$FACEGATE_DATA`, else `../shared/data` beside the checkout."""
    env = os.environ.get("FACEGATE_DATA")
    return Path(env) if env else checkout().parent / "shared" / "data"


def data_dir(sub: str) -> Path:
    """One data set under `data_root()` (`lfw`, `wider-face-val-subset`, `antispoof`, ...)."""
    return data_root() / sub


def models_root() -> Path:
    """`$FACEGATE_MODELS`, else `../shared/models` beside the checkout (reference models that
    are not shipped, e.g. the MiniFASNet PAD pair)."""
    env = os.environ.get("FACEGATE_MODELS")
    return Path(env) if env else checkout().parent / "shared" / "models"
