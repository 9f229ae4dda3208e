"""Biometric data at rest: `Vault.seal(bytes) -> bytes` and `Vault.open(bytes) -> bytes`.

Templates, enrolment photos and best-shot snapshots are sealed with AES-256-GCM before
they reach a disk; nothing else in FaceGate touches AES. A sealed blob carries a header so
keys can rotate and old plaintext rows still load:

    b"FGE" | version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext + tag

The first 8 bytes are authenticated (GCM associated data). A blob without the header is
plaintext written before encryption existed: `open` returns it as it is, and the server
seals such blobs at start-up and on `facegate keys rotate`.

Keys: a keyring of 256-bit keys, the last one seals, every one opens. It comes from
`$FACEGATE_KEY` (base64 keys, comma-separated), else the key file `$FACEGATE_KEY_FILE` (one
base64 key a line, `#` comments), else `<data dir>/facegate.key` (or beside the door's
gallery), generated 0600 on first start. A key file is re-read when it changes, so a rotation run
from the command line reaches a running server before its old keys are dropped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from facegate.errors import FaceGateError
from facegate.private import write_private

log = logging.getLogger(__name__)

MAGIC = b"FGE"
VERSION = 1
HEADER = len(MAGIC) + 1 + 4  # magic, version, key id
NONCE = 12
OVERHEAD = HEADER + NONCE + 16  # + the GCM tag
ENV_KEY = "FACEGATE_KEY"
ENV_KEY_FILE = "FACEGATE_KEY_FILE"
KEY_FILE_NAME = "facegate.key"
_FILE_HEAD = (
    "# FaceGate data keys (AES-256, base64): the last line seals, every line opens.\n"
    "# Back this file up apart from the database: without it templates, photos and\n"
    "# snapshots cannot be read.\n"
)


class VaultError(FaceGateError):
    """A key is missing, malformed, or a sealed blob does not open with it."""

    code = "vault_error"


def key_id(key: bytes) -> bytes:
    """4 bytes naming a key in each blob's header (a hash, so a key file needs no names)."""
    return hashlib.sha256(b"facegate-key-id:" + key).digest()[:4]


def is_sealed(blob: bytes) -> bool:
    return len(blob) >= OVERHEAD and blob[:3] == MAGIC and blob[3] == VERSION


def blob_key_id(blob: bytes) -> bytes | None:
    """The key id a blob was sealed with; None for plaintext."""
    return bytes(blob[4:HEADER]) if is_sealed(blob) else None


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"{where}: a key is not base64") from None
    if len(key) != 32:
        raise VaultError(f"{where}: a key must be 32 bytes (256 bits), got {len(key)}")
    return key


def new_key() -> bytes:
    return secrets.token_bytes(32)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


class Vault:
    """Seals and opens blobs with a keyring; thread-safe (the runtimes and requests share
    one). `path` is the key file the keys came from (None: from the environment)."""

    def __init__(self, keys: Sequence[bytes], path: Path | None = None) -> None:
        if not keys:
            raise VaultError("no data key")
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._set(keys)
        if path is not None:
            self._stamp = self._file_stamp()

    # -- keys -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        key_file: Path | None,
        default_file: Path,
        env: Mapping[str, str] | None = None,
    ) -> Vault:
        """`$FACEGATE_KEY`, else `$FACEGATE_KEY_FILE`, else `key_file`, else `default_file`
        (created with a new key when missing). A named key file that is missing is an
        error, never silently replaced: a new key could not open what the old one sealed."""
        env = os.environ if env is None else env
        if env.get(ENV_KEY):
            keys = [_decode_key(k, ENV_KEY) for k in env[ENV_KEY].split(",") if k.strip()]
            return cls(keys)
        named = env.get(ENV_KEY_FILE) or key_file
        if named:
            path = Path(named)
            if not path.is_file():
                raise VaultError(f"key file {path} does not exist (${ENV_KEY_FILE})")
            if path.stat().st_mode & 0o077:
                log.warning("key file %s is readable by others than its owner: chmod 600", path)
            return cls(read_key_file(path), path)
        if not default_file.is_file():
            write_private(default_file, (_FILE_HEAD + encode_key(new_key()) + "\n").encode())
        return cls(read_key_file(default_file), default_file)

    def _set(self, keys: Sequence[bytes]) -> None:
        self._keys = {key_id(k): AESGCM(k) for k in keys}
        self._current = key_id(keys[-1])

    def _file_stamp(self) -> tuple[int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _refresh(self) -> None:
        """Re-read the key file if it changed (a rotation from another process)."""
        if self.path is None:
            return
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            self._set(read_key_file(self.path))
            self._stamp = stamp

    @property
    def current_id(self) -> bytes:
        with self._lock:
            self._refresh()
            return self._current

    def key_ids(self) -> list[bytes]:
        with self._lock:
            self._refresh()
            return list(self._keys)

    def add_key(self) -> bytes:
        """Append a new key to the key file (it seals from now on); returns its id."""
        if self.path is None:
            raise VaultError(
                f"the keys come from ${ENV_KEY}: put the new key last in it (comma-separated, "
                "old keys before it) and run the rotation again"
            )
        with self._lock:
            keys = read_key_file(self.path)
            key = new_key()
            write_private(self.path, _key_file_text([*keys, key]))
            self._set([*keys, key])
            self._stamp = self._file_stamp()
        return key_id(key)

    def retire_old_keys(self) -> int:
        """Drop every key but the current one from the key file; returns how many."""
        if self.path is None:
            return 0
        with self._lock:
            keys = read_key_file(self.path)
            current = keys[-1]
            write_private(self.path, _key_file_text([current]))
            self._set([current])
            self._stamp = self._file_stamp()
        return len(keys) - 1

    # -- blobs ------------------------------------------------------------------------------

    def seal(self, data: bytes) -> bytes:
        with self._lock:
            self._refresh()
            kid, aead = self._current, self._keys[self._current]
        head = MAGIC + bytes([VERSION]) + kid
        nonce = os.urandom(NONCE)
        return head + nonce + aead.encrypt(nonce, bytes(data), head)

    def open(self, blob: bytes) -> bytes:
        """The plaintext of a sealed blob; a blob without the header is returned as is."""
        blob = bytes(blob)
        if not is_sealed(blob):
            return blob
        kid = blob[4:HEADER]
        with self._lock:
            aead = self._keys.get(kid)
            if aead is None:
                self._refresh()
                aead = self._keys.get(kid)
        if aead is None:
            raise VaultError(
                f"data sealed with key {kid.hex()}, which is not in the keyring "
                f"({self.path or '$' + ENV_KEY}): restore that key"
            )
        try:
            return aead.decrypt(
                blob[HEADER : HEADER + NONCE], blob[HEADER + NONCE :], blob[:HEADER]
            )
        except InvalidTag:
            raise VaultError(f"a blob sealed with key {kid.hex()} is damaged") from None

    def needs_reseal(self, blob: bytes | None) -> bool:
        """True for plaintext, or a blob sealed with a key other than the current one."""
        return blob is not None and blob_key_id(blob) != self.current_id


def read_key_file(path: Path) -> list[bytes]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise VaultError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    keys = [_decode_key(s, str(path)) for s in lines if s.strip() and not s.startswith("#")]
    if not keys:
        raise VaultError(f"key file {path} holds no key")
    return keys


def _key_file_text(keys: Sequence[bytes]) -> bytes:
    return (_FILE_HEAD + "".join(encode_key(k) + "\n" for k in keys)).encode()
