"""1:N search with open-set rejection, and galleries of another model version refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.errors import ModelVersionMismatch
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import NewTemplate, SQLiteGallery


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_best_template_per_person_and_unknown(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person(
            "ann",
            [
                NewTemplate("m", "v1", unit([1, 0, 0]), source="a1"),
                NewTemplate("m", "v1", unit([0, 1, 0]), source="a2"),
            ],
        )
        store.add_person("bob", [NewTemplate("m", "v1", unit([0, 0, 1]), source="b1")])
        gallery = Gallery(store.templates("m"), "v1")
    assert len(gallery) == 2
    m = gallery.identify(unit([0.1, 1, 0]), threshold=0.9)
    assert m.person is not None and m.person.name == "ann"
    assert m.candidates[0].score == pytest.approx(m.score)
    assert m.candidates[1].name == "bob"
    stranger = gallery.identify(unit([1, 1, 1]), threshold=0.9)
    assert stranger.person is None and stranger.score < 0.9


def test_other_model_version_is_refused(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as store:
        store.add_person("ann", [NewTemplate("sface", "oldversion", unit([1, 0]))])
        with pytest.raises(ModelVersionMismatch, match="re-enrol"):
            Gallery(store.templates("sface"), "newversion")
