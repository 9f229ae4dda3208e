"""The device's local copy of what the server decided: residents, their templates, the access
rules and the entrances' settings, in one SQLite file in the data dir.

Why it is built this way:
- The door must keep deciding with the server and the broker away, so everything it decides
  from is here, and the file survives `kill -9` and power loss (WAL, synchronous=FULL, every
  change one transaction: a snapshot replaces everything or nothing).
- Removal must never be undone by a late message. Each resident carries the server's change
  number (`rev`); the highest applied is kept per resident, also after a removal (a
  tombstone), so a redelivered older upsert cannot resurrect a removed resident. A delta
  that is a gap still has its revocations applied (`apply_delta`): a missed message may
  delay an enrolment, never a removal.
- A template is biometric data: each is sealed with the device's `Vault` before it is
  written (the file holds no raw embedding); deleted rows are zeroed (secure_delete) and
  the WAL truncated after removals.
- The pipeline reads it as a `GalleryStore` (`persons`, `templates`, `data_version`), the
  same protocol as the door's SQLiteGallery and the server's database: the entrance is
  assembled the same way everywhere. It is written only by the sync client.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from facegate import sqlite
from facegate.errors import GalleryError
from facegate.fleet.protocol import (
    Delta,
    EntranceRecord,
    RemoveEntrance,
    RemoveResident,
    ReplaceRules,
    ResidentRecord,
    RuleSet,
    Snapshot,
    Step,
    UpsertEntrance,
    UpsertResident,
    next_step,
)
from facegate.gallery.store import NewTemplate, Person, TemplateSet
from facegate.private import private_dir, private_file
from facegate.vault import Vault

log = logging.getLogger("facegate.edge.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revs (id INTEGER PRIMARY KEY, rev INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    dim INTEGER NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_model ON templates(model, resident_id);
CREATE TABLE IF NOT EXISTS entrances (id INTEGER PRIMARY KEY, name TEXT NOT NULL, record TEXT);
"""

#: meta counters: bumped in the transaction that changes what they count
GALLERY, RULES, ENTRANCES = "changes_gallery", "changes_rules", "changes_entrances"


class EdgeStore:
    """Thread-safe: the sync client writes from the MQTT thread while entrances read."""

    def __init__(self, path: str | Path, vault: Vault, *, timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.vault = vault
        self._lock = threading.RLock()
        try:
            if not self.path.parent.is_dir():
                private_dir(self.path.parent)
            private_file(self.path)
            self._db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")
            with self._tx() as db:
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
        except sqlite3.Error as exc:
            raise GalleryError(sqlite.explain(exc, "edge store", self.path)) from None
        except OSError as exc:
            raise GalleryError(f"cannot open {self.path}: {exc.strerror or exc}") from None

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.immediate(
            self._db, lambda exc: GalleryError(sqlite.explain(exc, "edge store", self.path))
        )

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise GalleryError(sqlite.explain(exc, "edge store", self.path)) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @staticmethod
    def _put(db: sqlite3.Connection, key: str, value: object) -> None:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    @staticmethod
    def _bump(db: sqlite3.Connection, *keys: str) -> None:
        for key in keys:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                (key,),
            )

    def _counter(self, key: str) -> int:
        v = self.meta(key)
        return int(v) if v else 0

    @property
    def version(self) -> int | None:
        """The chain version the device holds; None before the first snapshot."""
        v = self.meta("version")
        return int(v) if v is not None else None

    @property
    def last_sync(self) -> float | None:
        """When the device last knew it held the server's newest data (epoch s)."""
        v = self.meta("last_sync")
        return float(v) if v is not None else None

    def touch_sync(self, now: float | None = None) -> None:
        """The device is current (a head matched, or the sync channel is up and current)."""
        self.set_meta("last_sync", repr(time.time() if now is None else now))

    def changes(self) -> tuple[int, int, int]:
        """(gallery, rules, entrances) change counters: a reader reloads only what changed."""
        return self._counter(GALLERY), self._counter(RULES), self._counter(ENTRANCES)

    # -- writes: snapshot and deltas -------------------------------------------------------

    def apply_snapshot(self, snap: Snapshot, version: int, now: float | None = None) -> None:
        """Replace everything with `snap`, at chain `version`, in one transaction."""
        now = time.time() if now is None else now
        with self._lock:
            with self._tx() as db:
                db.execute("DELETE FROM templates")
                db.execute("DELETE FROM residents")
                db.execute("DELETE FROM revs")
                db.execute("DELETE FROM entrances")
                for r in snap.residents:
                    self._insert_resident(db, r)
                for e in snap.entrances:
                    self._upsert_entrance(db, e)
                self._put(db, "rules", snap.rules.model_dump_json())
                self._put(db, "version", version)
                self._put(db, "last_sync", repr(now))
                self._bump(db, GALLERY, RULES, ENTRANCES)
            self._checkpoint()
        log.info(
            "snapshot applied: version %d, %d residents, %d entrances",
            version,
            len(snap.residents),
            len(snap.entrances),
        )

    def apply_delta(
        self, prev: int | None, version: int | None, delta: Delta, now: float | None = None
    ) -> Step:
        """Apply a delta by the version rule (`protocol.next_step`) and say what was done:
        APPLY (all ops, revocations first; the device is now at `version`), DUPLICATE
        (nothing), GAP (only its revocations; the caller fetches a snapshot)."""
        now = time.time() if now is None else now
        with self._lock:
            local = self.version
            step = next_step(-1 if local is None else local, prev, version)
            if step is Step.DUPLICATE:
                return step
            ops = delta.ordered() if step is Step.APPLY else delta.revocations()
            removed = False
            with self._tx() as db:
                touched = set()
                for op in ops:
                    touched |= self._apply_op(db, op)
                    removed |= isinstance(op, RemoveResident)
                if step is Step.APPLY:
                    self._put(db, "version", version)
                    self._put(db, "last_sync", repr(now))
                self._bump(db, *touched)
            if removed:
                self._checkpoint()
        return step

    def _apply_op(self, db: sqlite3.Connection, op: object) -> set[str]:
        """One op; returns the counters it changed (none when a rev made it a no-op)."""
        if isinstance(op, RemoveResident):
            row = db.execute("SELECT rev FROM revs WHERE id = ?", (op.id,)).fetchone()
            if row is not None and op.rev < row[0]:
                return set()  # a newer upsert already superseded this removal
            db.execute("DELETE FROM residents WHERE id = ?", (op.id,))
            db.execute("INSERT OR REPLACE INTO revs(id, rev) VALUES (?, ?)", (op.id, op.rev))
            return {GALLERY, RULES}
        if isinstance(op, UpsertResident):
            r = op.resident
            row = db.execute("SELECT rev FROM revs WHERE id = ?", (r.id,)).fetchone()
            if row is not None and r.rev <= row[0]:
                return set()  # older than (or the same as) what was applied: never resurrect
            db.execute("DELETE FROM residents WHERE id = ?", (r.id,))
            self._insert_resident(db, r)
            return {GALLERY, RULES}
        if isinstance(op, ReplaceRules):
            self._put(db, "rules", op.rules.model_dump_json())
            return {RULES}
        if isinstance(op, UpsertEntrance):
            self._upsert_entrance(db, op.entrance)
            return {ENTRANCES}
        if isinstance(op, RemoveEntrance):
            db.execute("DELETE FROM entrances WHERE id = ?", (op.id,))
            return {ENTRANCES}
        raise GalleryError(f"unknown delta op {op!r}")

    def _insert_resident(self, db: sqlite3.Connection, r: ResidentRecord) -> None:
        record = r.model_dump(mode="json", exclude={"templates"})
        db.execute(
            "INSERT INTO residents(id, name, record) VALUES (?, ?, ?)",
            (r.id, r.name, json.dumps(record)),
        )
        db.execute("INSERT OR REPLACE INTO revs(id, rev) VALUES (?, ?)", (r.id, r.rev))
        db.executemany(
            "INSERT INTO templates(resident_id, model, model_version, dim, embedding) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    r.id,
                    t.model,
                    t.model_version,
                    t.dim,
                    self.vault.seal(np.asarray(t.vector(), "<f4").tobytes()),
                )
                for t in r.templates
            ],
        )

    @staticmethod
    def _upsert_entrance(db: sqlite3.Connection, e: EntranceRecord) -> None:
        db.execute(
            "INSERT OR REPLACE INTO entrances(id, name, record) VALUES (?, ?, ?)",
            (e.id, e.name, e.model_dump_json()),
        )

    def _checkpoint(self) -> None:
        """After removals: no old WAL page keeps a removed template."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("edge store: WAL not truncated after a removal: %s", exc)

    # -- reads: what the door decides from --------------------------------------------------

    def residents(self) -> list[ResidentRecord]:
        """Every resident held (without templates)."""
        return [
            ResidentRecord.model_validate(json.loads(r[0]))
            for r in self._rows("SELECT record FROM residents ORDER BY id")
        ]

    def rules(self) -> RuleSet:
        raw = self.meta("rules")
        return RuleSet.model_validate_json(raw) if raw else RuleSet()

    def entrances(self) -> list[EntranceRecord]:
        return [
            EntranceRecord.model_validate_json(r[0])
            for r in self._rows("SELECT record FROM entrances ORDER BY id")
        ]

    def rev(self, resident_id: int) -> int | None:
        rows = self._rows("SELECT rev FROM revs WHERE id = ?", (resident_id,))
        return rows[0][0] if rows else None

    # -- rule uses made on this device ------------------------------------------------------

    def local_uses(self) -> dict[int, int]:
        """Server rule id -> opens this device granted by it (kept across restarts)."""
        raw = self.meta("local_uses")
        return {int(k): int(v) for k, v in json.loads(raw).items()} if raw else {}

    def record_use(self, rule_id: int) -> None:
        with self._lock:
            uses = self.local_uses()
            uses[rule_id] = uses.get(rule_id, 0) + 1
            self.set_meta("local_uses", json.dumps(uses))

    # -- GalleryStore -------------------------------------------------------------------------

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        raise GalleryError("an edge device's residents come from the server: enrol there")

    def remove_person(self, name: str) -> bool:
        raise GalleryError("an edge device's residents come from the server: remove them there")

    def persons(self) -> list[Person]:
        rows = self._rows(
            "SELECT r.id, r.name, COUNT(t.id) FROM residents r "
            "LEFT JOIN templates t ON t.resident_id = r.id GROUP BY r.id ORDER BY r.name"
        )
        return [Person(*r) for r in rows]

    def templates(self, model: str) -> TemplateSet:
        rows = self._rows(
            "SELECT t.resident_id, r.name, t.model_version, t.dim, t.embedding FROM templates t "
            "JOIN residents r ON r.id = t.resident_id WHERE t.model = ? ORDER BY t.id",
            (model,),
        )
        dims = {r[3] for r in rows}
        if len(dims) > 1:
            raise GalleryError(f"edge store: '{model}' templates of mixed sizes {dims}")
        dim = dims.pop() if dims else 0
        matrix = (
            np.frombuffer(b"".join(self.vault.open(r[4]) for r in rows), "<f4").reshape(
                len(rows), dim
            )
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
        """Bumped by every change of residents or templates (the sync client writes through
        this same connection, so SQLite's own data_version would not see it)."""
        return self._counter(GALLERY)

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "last_sync": self.last_sync,
            "residents": len(self._rows("SELECT id FROM residents")),
            "entrances": [e.name for e in self.entrances()],
        }
