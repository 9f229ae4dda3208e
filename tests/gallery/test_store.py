"""The SQLite gallery fails safely: a locked database, a file that is no gallery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import GalleryError
from facegate.gallery.store import NewTemplate, SQLiteGallery


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_locked_database_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as store:
        store.add_person("ann", [NewTemplate("m", "v", unit([1, 0]), source="a")])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (
            SQLiteGallery(path, timeout_s=0.2) as store,
            pytest.raises(GalleryError, match="locked"),
        ):
            store.add_person("bob", [NewTemplate("m", "v", unit([0, 1]))])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with SQLiteGallery(path) as store:
        assert [p.name for p in store.persons()] == ["ann"]
        assert store.templates("m").matrix.shape == (1, 2)


def test_not_a_gallery_and_missing_gallery(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(GalleryError, match="not a FaceGate gallery"):
        SQLiteGallery(junk)
    with pytest.raises(GalleryError, match="does not exist"):
        SQLiteGallery(tmp_path / "absent.sqlite", create=False)
