"""The door's own gallery (`facegate enroll`, `identify`, `gallery`, `run`): templates sealed
with the key beside it, owner-only files, and a removed person gone from the file."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from facegate.cli import main
from facegate.gallery.store import NewTemplate, SQLiteGallery, gallery_vault
from facegate.vault import is_sealed
from tests.conftest import write_image


@pytest.fixture
def run(capsys: pytest.CaptureFixture, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FACEGATE_CACHE", str(cache_dir))
    monkeypatch.delenv("FACEGATE_KEY", raising=False)
    monkeypatch.delenv("FACEGATE_KEY_FILE", raising=False)
    old = os.umask(0o022)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    yield _run
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_enrolled_templates_are_sealed_and_files_owner_only(
    run, tmp_path: Path, hopper_path: Path, hopper_reshot: np.ndarray
) -> None:
    db = tmp_path / "door" / "gallery.sqlite"
    assert run("enroll", "Grace Hopper", hopper_path, "--db", db)[0] == 0
    key = db.with_name("facegate.key")
    assert mode(db.parent) == 0o700 and mode(db) == 0o600 and mode(key) == 0o600
    with sqlite3.connect(db) as c:
        blobs = [b for (b,) in c.execute("SELECT embedding FROM templates")]
    assert blobs and all(is_sealed(b) for b in blobs)
    again = write_image(tmp_path / "again.jpg", hopper_reshot)
    code, out, _ = run("identify", again, "--db", db, "--json")
    assert code == 0 and json.loads(out)["faces"][0]["person"]["name"] == "Grace Hopper"

    assert run("gallery", "--db", db, "--remove", "Grace Hopper")[0] == 0
    for f in db.parent.iterdir():
        data = f.read_bytes()
        assert b"Grace Hopper" not in data and not any(b[40:72] in data for b in blobs), f


def test_a_gallery_of_an_older_version_loads_and_is_sealed(run, tmp_path: Path) -> None:
    db = tmp_path / "gallery.sqlite"
    with SQLiteGallery(db) as plain:  # no vault: as written before sealing existed
        plain.add_person("Old", [NewTemplate("sface", "v", np.ones(128, np.float32))])
    code, out, _ = run("gallery", "--db", db, "--json")
    assert code == 0 and json.loads(out)[0]["name"] == "Old"
    with sqlite3.connect(db) as c:  # and is sealed from then on
        (blob,) = c.execute("SELECT embedding FROM templates").fetchone()
    assert is_sealed(blob)
    with SQLiteGallery(db, vault=gallery_vault(db)) as g:
        assert np.array_equal(g.templates("sface").matrix[0], np.ones(128, np.float32))
