"""The data key's sources and what a sealed blob refuses: a wrong key, a changed byte."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from facegate.vault import (
    ENV_KEY,
    ENV_KEY_FILE,
    Vault,
    VaultError,
    blob_key_id,
    encode_key,
    new_key,
    read_key_file,
)


def test_a_key_is_made_once_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "facegate.key"
    v1 = Vault.load(None, path, env={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blob = v1.seal(b"template bytes")
    assert blob != b"template bytes" and b"template" not in blob
    assert Vault.load(None, path, env={}).open(blob) == b"template bytes"


def test_the_environment_wins_and_a_named_missing_file_is_an_error(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    env = {ENV_KEY: f"{encode_key(old)},{encode_key(new)}"}
    v = Vault.load(None, tmp_path / "unused.key", env=env)
    assert not (tmp_path / "unused.key").exists()
    assert blob_key_id(v.seal(b"x")) == v.current_id  # the last key seals
    assert v.open(Vault([old]).seal(b"y")) == b"y"  # every key opens
    with pytest.raises(VaultError, match="does not exist"):
        Vault.load(None, tmp_path / "default.key", env={ENV_KEY_FILE: str(tmp_path / "gone")})
    with pytest.raises(VaultError, match="32 bytes"):
        Vault.load(None, tmp_path / "d.key", env={ENV_KEY: encode_key(b"short")})


def test_a_wrong_key_or_a_changed_byte_is_refused(tmp_path: Path) -> None:
    blob = Vault([new_key()]).seal(b"a face")
    with pytest.raises(VaultError, match="not in the keyring"):
        Vault([new_key()]).open(blob)
    v = Vault([new_key()])
    sealed = bytearray(v.seal(b"a face"))
    sealed[-1] ^= 1
    with pytest.raises(VaultError, match="damaged"):
        v.open(bytes(sealed))
    assert (
        v.open(b"\xff\xd8plain jpeg of an older version")
        == b"\xff\xd8plain jpeg of an older version"
    )


def test_add_and_retire_keys_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "k"
    v = Vault.load(None, path, env={})
    first = v.seal(b"1")
    v.add_key()
    assert len(read_key_file(path)) == 2 and v.open(first) == b"1"
    assert v.retire_old_keys() == 1 and len(read_key_file(path)) == 1
    with pytest.raises(VaultError):
        v.open(first)
