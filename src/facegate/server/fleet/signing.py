"""The server's Ed25519 signing key: everything that changes what a device decides is
signed with it (`fleet.protocol.Signer`), and devices learn its public half when they enrol.

A file in the server's data dir (mode 0600), made on first start like the vault key.
Replicas of one server must share it (copy the file into each replica's data dir, or point
`$FACEGATE_FLEET_KEY_FILE` at one mounted copy): a device refuses what another key signed.
Losing it means re-enrolling every device.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from facegate.errors import ConfigError
from facegate.fleet.protocol import Signer
from facegate.private import private_file, write_private

KEY_FILE_NAME = "fleet_signing.key"
ENV = "FACEGATE_FLEET_KEY_FILE"


def key_path(data_dir: Path) -> Path:
    env = os.environ.get(ENV)
    return Path(env) if env else data_dir / KEY_FILE_NAME


def load_signer(data_dir: Path) -> Signer:
    """The signer from the key file, which is made (0600) when it does not exist yet."""
    path = key_path(data_dir)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
        return Signer(key)
    private_file(path)  # a copy made with a permissive umask is narrowed again
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return Signer(key)
