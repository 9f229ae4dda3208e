"""Fixtures the liveness tests share."""

from __future__ import annotations

import pytest

from facegate.models.base import Face


@pytest.fixture(scope="module")
def hopper_face(engine, hopper) -> Face:
    return engine.detect(hopper)[0]
