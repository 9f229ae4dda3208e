"""Offline liveness: `facegate liveness` on a still image, with the default (the shipped
passive model), without the passive check, and with a user's model."""

from __future__ import annotations

import json

from facegate.cli import main
from tests.conftest import write_image
from tests.runtime.liveness.helpers import require_pad_model


def test_cli_liveness_image_and_video(engine, hopper, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    img = write_image(tmp_path / "hopper.png", hopper)
    # the default since issue 14: the shipped passive model judges a still image
    assert main(["liveness", str(img), "--json"]) == 0
    face = json.loads(capsys.readouterr().out.splitlines()[0])["faces"][0]
    assert face["checked"] and isinstance(face["live"], bool) and 0 <= face["score"] <= 1
    assert "passive" in face["checks"] and len(face["bbox"]) == 4
    # without the passive check a still image cannot be judged, and the line says why
    cfg = tmp_path / "motion-only.yaml"
    cfg.write_text("runtime:\n  liveness:\n    checks: [motion]\n")
    assert main(["liveness", "--config", str(cfg), str(img), "--json"]) == 0
    face = json.loads(capsys.readouterr().out.splitlines()[0])["faces"][0]
    assert face["live"] is None and not face["checked"] and "passive check is off" in face["note"]
    model = require_pad_model()  # a user's model folder still works
    assert main(["liveness", "--pad-model", str(model), str(img), "--json"]) == 0
    face = json.loads(capsys.readouterr().out.splitlines()[0])["faces"][0]
    assert face["checked"] and isinstance(face["live"], bool) and 0 <= face["score"] <= 1
    assert "passive" in face["checks"] and len(face["bbox"]) == 4
