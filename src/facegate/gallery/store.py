"""Gallery persistence: people and their templates, each tagged with model name and version.

SQLite in WAL mode: readers (the door) never block on a writer (an enrolment), a crash never
leaves half an enrolment behind (one transaction per enrolment), and a locked database is a
clear error after a bounded wait instead of a hang.

With a `Vault` (the CLI passes one: `facegate.key` beside the gallery, or $FACEGATE_KEY /
$FACEGATE_KEY_FILE) every embedding is sealed before it is written; the file is 0600 and
deleted rows are zeroed (secure_delete). A gallery written before that is sealed the first
time it is opened with a vault.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from facegate import sqlite
from facegate.errors import GalleryError
from facegate.private import private_dir, private_file
from facegate.vault import KEY_FILE_NAME, Vault, is_sealed

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    dim INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    quality REAL,
    source TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_model ON templates(model, person_id);
"""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    photos: int  # distinct enrolment photos


@dataclass(frozen=True)
class NewTemplate:
    model: str
    version: str
    embedding: np.ndarray
    quality: float | None = None
    source: str | None = None


@dataclass(frozen=True)
class TemplateSet:
    """All templates of one model: row i of `matrix` belongs to person `person_ids[i]`."""

    model: str
    person_ids: np.ndarray
    names: dict[int, str]
    matrix: np.ndarray
    versions: set[str]


class GalleryStore(Protocol):
    """Where templates live: SQLite at the door, the server's database upstream."""

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person: ...

    def persons(self) -> list[Person]: ...

    def remove_person(self, name: str) -> bool: ...

    def templates(self, model: str) -> TemplateSet: ...

    def data_version(self) -> int:
        """Changes whenever another writer changed the gallery: reload only then."""
        ...


def gallery_vault(path: Path) -> Vault:
    """The key that seals a gallery file's templates: $FACEGATE_KEY, $FACEGATE_KEY_FILE, or
    `facegate.key` beside the gallery (made 0600 at first use)."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    return Vault.load(None, path.with_name(KEY_FILE_NAME))


class SQLiteGallery:
    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        timeout_s: float = 5.0,
        vault: Vault | None = None,
    ) -> None:
        """`vault`: seal templates with it (the CLI's galleries); None keeps them plain (the
        benchmarks' temporary galleries)."""
        self.path = Path(path)
        self.vault = vault
        if not create and not self.path.is_file():
            raise GalleryError(
                f"gallery {self.path} does not exist; enrol someone first with "
                f"`facegate enroll NAME PHOTO --db {self.path}`"
            )
        try:
            if create:
                if not self.path.parent.is_dir():
                    private_dir(self.path.parent)
                private_file(self.path)
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA synchronous=FULL")
            exists = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='templates'"
            ).fetchone()
            if not exists:  # only a new gallery needs the write lock at open
                self._db.execute("PRAGMA journal_mode=WAL")
                with self._tx() as db:
                    for stmt in SCHEMA.split(";"):
                        if stmt.strip():
                            db.execute(stmt)
                    db.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
            if vault is not None:
                try:
                    self._seal_plaintext(vault)
                except GalleryError as exc:  # a read-only copy still serves the door
                    log.warning("gallery %s: plaintext templates not sealed: %s", self.path, exc)
        except sqlite3.DatabaseError as exc:
            raise GalleryError(self._explain(exc)) from None
        except OSError as exc:
            raise GalleryError(f"cannot open gallery {self.path}: {exc.strerror or exc}") from None

    def _explain(self, exc: sqlite3.Error) -> str:
        return sqlite.explain(exc, "gallery", self.path)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One IMMEDIATE transaction: all of it lands, or none of it."""
        return sqlite.immediate(self._db, lambda exc: GalleryError(self._explain(exc)))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteGallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        """Create the person if new and add templates, in one transaction."""
        name = name.strip()
        if not name:
            raise GalleryError("a person needs a non-empty name")
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT id FROM persons WHERE name = ?", (name,)).fetchone()
            pid = (
                row[0]
                if row
                else db.execute(
                    "INSERT INTO persons(name, created_at) VALUES (?, ?)", (name, now)
                ).lastrowid
            )
            db.executemany(
                "INSERT INTO templates(person_id, model, model_version, dim, embedding, quality,"
                " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        pid,
                        t.model,
                        t.version,
                        int(t.embedding.size),
                        self._seal(np.asarray(t.embedding, "<f4").tobytes()),
                        t.quality,
                        t.source,
                        now,
                    )
                    for t in templates
                ],
            )
            count = db.execute(
                "SELECT COUNT(DISTINCT source) FROM templates WHERE person_id = ?", (pid,)
            ).fetchone()[0]
        return Person(pid, name, count)

    def persons(self) -> list[Person]:
        rows = self._query(
            "SELECT p.id, p.name, COUNT(DISTINCT t.source) FROM persons p "
            "LEFT JOIN templates t ON t.person_id = p.id GROUP BY p.id ORDER BY p.name"
        )
        return [Person(*r) for r in rows]

    def remove_person(self, name: str) -> bool:
        """Delete a person and their templates; the WAL is then truncated, so no old page
        keeps them (secure_delete zeroes them in the file itself)."""
        with self._tx() as db:
            gone = db.execute("DELETE FROM persons WHERE name = ?", (name,)).rowcount > 0
        if gone:
            self._query("PRAGMA wal_checkpoint(TRUNCATE)")
        return gone

    def templates(self, model: str) -> TemplateSet:
        rows = self._query(
            "SELECT t.person_id, p.name, t.model_version, t.dim, t.embedding FROM templates t "
            "JOIN persons p ON p.id = t.person_id WHERE t.model = ? ORDER BY t.id",
            (model,),
        )
        dims = {r[3] for r in rows}
        if len(dims) > 1:
            raise GalleryError(f"gallery {self.path}: '{model}' templates of mixed sizes {dims}")
        dim = dims.pop() if dims else 0
        matrix = (
            np.frombuffer(b"".join(self._open(r[4]) for r in rows), "<f4").reshape(len(rows), dim)
            if rows
            else np.zeros((0, 0), np.float32)
        )
        return TemplateSet(
            model,
            np.array([r[0] for r in rows], np.int64),
            {r[0]: r[1] for r in rows},
            matrix.astype(np.float32),
            {r[2] for r in rows},
        )

    def data_version(self) -> int:
        return int(self._query("PRAGMA data_version")[0][0])

    def _seal_plaintext(self, vault: Vault) -> None:
        """Once per gallery: seal the templates an older version wrote in plaintext."""
        done = "SELECT 1 FROM meta WHERE key = 'vault_sealed'"
        if self._db.execute(done).fetchone():
            return
        with self._tx() as db:
            rows = db.execute("SELECT id, embedding FROM templates").fetchall()
            db.executemany(
                "UPDATE templates SET embedding = ? WHERE id = ?",
                [(vault.seal(b), i) for i, b in rows if not is_sealed(b)],
            )
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('vault_sealed', '1')")

    def _seal(self, data: bytes) -> bytes:
        return self.vault.seal(data) if self.vault is not None else data

    def _open(self, blob: bytes) -> bytes:
        return self.vault.open(blob) if self.vault is not None else blob

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise GalleryError(self._explain(exc)) from None
