"""Runtime tests' shared parts: a gallery holding Grace Hopper, a runtime over given frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate import api
from facegate.engine import FaceEngine
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.pipeline import Runtime
from facegate.runtime.sources import FrameListSource, VirtualClock


@pytest.fixture
def gallery(tmp_path: Path, engine: FaceEngine, hopper_path: Path) -> Path:
    path = tmp_path / "gallery.sqlite"
    with SQLiteGallery(path) as store:
        assert api.enroll(engine, store, "Grace Hopper", [hopper_path]).accepted
    return path


def make_runtime(engine, store, frames, sinks, **kw) -> Runtime:
    # "fast": every frame, whatever the machine's load (a loaded CI runner skipping frames
    # on the simulated pace once split a visit into two tracks); skipping has its own tests
    clock = VirtualClock()
    source = FrameListSource(frames, fps=15, pace="fast", clock=clock)
    return Runtime(
        entrance="main", engine=engine, store=store, source=source, clock=clock, sinks=sinks, **kw
    )
