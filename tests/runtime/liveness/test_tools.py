"""Offline liveness: `facegate liveness` on a still image, without and with a passive model."""

from __future__ import annotations

import json

from facegate.cli import main
from tests.conftest import write_image
from tests.runtime.liveness.helpers import require_pad_model


def test_cli_liveness_image_and_video(engine, hopper, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FACEGATE_CACHE", str(engine.cache_dir))
    img = write_image(tmp_path / "hopper.png", hopper)
    assert main(["liveness", str(img), "--json"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    face = line["faces"][0]
    assert face["live"] is None and not face["checked"] and "no passive PAD" in face["note"]
    model = require_pad_model()
    assert main(["liveness", "--pad-model", str(model), str(img), "--json"]) == 0
    face = json.loads(capsys.readouterr().out.splitlines()[0])["faces"][0]
    assert face["checked"] and isinstance(face["live"], bool) and 0 <= face["score"] <= 1
    assert "passive" in face["checks"] and len(face["bbox"]) == 4
