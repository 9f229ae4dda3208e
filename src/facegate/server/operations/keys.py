"""The data key: seal what an older version stored in plaintext, and rotate the key.

Rotation (`facegate keys rotate`) appends a new key to the key file, seals every template,
photo and snapshot again with it, repeats until a pass finds nothing left under an old key
(a running server re-reads the key file and seals with the new key at once), and only then
drops the old keys: at every moment each blob opens with a key in the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import FaceGateConfig
from facegate.runtime.journal import Journal
from facegate.server.db.database import (
    bump,
    counter,
    make_engine,
    migrate,
    session_factory,
    transaction,
)
from facegate.server.db.models import Photo, Template
from facegate.server.operations.common import audit
from facegate.vault import KEY_FILE_NAME, Vault, is_sealed

BATCH = 500
SEALED = "vault_sealed"  # counter: the start-up pass over plaintext rows has run
MAX_PASSES = 5


def reseal_rows(sessions: sessionmaker[Session], vault: Vault, only_plaintext: bool) -> int:
    """Seal templates and photos again with the current key (or only plaintext ones), a
    batch per transaction; returns how many blobs were rewritten."""
    done = 0
    for model, column in ((Template, Template.embedding), (Photo, Photo.thumbnail)):
        last = 0
        while True:
            with transaction(sessions) as s:
                rows = s.execute(
                    select(model.id, column).where(model.id > last).order_by(model.id).limit(BATCH)
                ).all()
                for ident, blob in rows:
                    if blob is None:
                        continue
                    blob = bytes(blob)
                    if is_sealed(blob) if only_plaintext else not vault.needs_reseal(blob):
                        continue
                    s.execute(
                        update(model)
                        .where(model.id == ident)
                        .values({column.key: vault.seal(vault.open(blob))})
                    )
                    done += 1
            if len(rows) < BATCH:
                break
            last = rows[-1][0]
    return done


def seal_plaintext(sessions: sessionmaker[Session], journal: Journal, vault: Vault) -> int:
    """At start-up, once: seal what was stored before encryption existed (rows of older
    versions load either way: `Vault.open` passes plaintext through)."""
    done = 0
    with sessions() as s:
        rows_done = counter(s, SEALED) > 0
    if not rows_done:
        done += reseal_rows(sessions, vault, only_plaintext=True)
        with transaction(sessions) as s:
            bump(s, SEALED)
    if journal.meta(SEALED) is None:
        done += journal.reseal_snapshots(only_plaintext=True)
        journal.meta(SEALED, "1")
    return done


@dataclass
class Rotation:
    key: str  # the new current key's id (hex)
    blobs: int  # templates and photos sealed again
    snapshots: int  # snapshot files sealed again
    passes: int
    retired: int  # old keys dropped from the key file (0 for keys from the environment)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def rotate_keys(
    sessions: sessionmaker[Session], journal: Journal, vault: Vault, actor: str
) -> Rotation:
    """A new key (key file), everything sealed again, old keys retired when nothing needs
    them. With keys from `$FACEGATE_KEY` no key is made: everything is sealed with the last
    key listed there, and the caller removes the old ones from the variable."""
    if vault.path is not None:
        vault.add_key()
    blobs = snaps = passes = 0
    while passes < MAX_PASSES:
        passes += 1
        b = reseal_rows(sessions, vault, only_plaintext=False)
        n = journal.reseal_snapshots()
        blobs, snaps = blobs + b, snaps + n
        if b == n == 0:
            break
    clean = b == n == 0
    retired = vault.retire_old_keys() if clean else 0
    with transaction(sessions) as s:
        audit(
            s,
            actor,
            "keys_rotate",
            "",
            key=vault.current_id.hex(),
            blobs=blobs,
            snapshots=snaps,
            retired=retired,
            complete=clean,
        )
    return Rotation(vault.current_id.hex(), blobs, snaps, passes, retired)


def rotate_for_config(config: FaceGateConfig, actor: str = "cli") -> Rotation:
    """`facegate keys rotate`: open the server's database, journal and key as
    `facegate serve` would (same paths), rotate, close. Safe while the server runs: it
    re-reads the key file and seals with the new key at once."""
    sc = config.server
    vault = Vault.load(None, sc.data_dir / KEY_FILE_NAME)
    db = make_engine(sc.resolved_database_url(), timeout_s=sc.db_timeout_s)
    try:
        migrate(db)
        jc = config.runtime.journal  # the server's journal: app._journal's rule
        with Journal(jc, jc.path or sc.data_dir / "journal.sqlite", vault=vault) as journal:
            return rotate_keys(session_factory(db), journal, vault, actor)
    finally:
        db.dispose()
