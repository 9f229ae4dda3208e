"""Events on their way to the server: one SQLite row per door event, kept until the server
has acknowledged it (and received its best shot).

Why it is built this way:
- An event must survive the process dying right after the door decided: the row is
  committed (WAL, synchronous=FULL) before anything is published, so after `kill -9` or a
  power cut it is still here and goes up on the next start.
- The server may see an event more than once (a publish whose ack was lost is sent again);
  that is fine because each event carries a uuid4 id made here and the server stores it
  once. The outbox only promises at-least-once; the id makes it exactly-once upstream.
- An open is held back until its door outcome is known (`settle`), briefly, so the server
  learns "open_failed" rather than an "open" the door never carried out; a crash in between
  still sends it (the hold has a deadline, kept in the row).
- The disk is finite and outages can be long: rows older than `outbox_max_age_s` are
  dropped, and past `outbox_max_mb` the oldest best shots go first, then the oldest events.
  Every drop is logged and counted (reported in the device's status); nothing is lost
  silently, and the local journal still has every event.
- A best shot is a face: it is stored sealed with the device's vault.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from facegate import sqlite
from facegate.fleet.config import EdgeBudget
from facegate.fleet.edge import EdgeError
from facegate.fleet.protocol import EventRecord
from facegate.private import private_dir, private_file
from facegate.vault import Vault

log = logging.getLogger("facegate.edge.outbox")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    ready_at REAL NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    shot BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    acked INTEGER NOT NULL DEFAULT 0,
    shot_attempts INTEGER NOT NULL DEFAULT 0,
    shot_next REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_pending ON events(acked, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Shot:
    """A best shot waiting for its upload (the event is already stored upstream)."""

    id: str
    jpeg: bytes
    attempts: int


class Outbox:
    """Thread-safe: entrances add from their threads, the sync client sends from its own."""

    def __init__(
        self,
        path: str | Path,
        budget: EdgeBudget | None = None,
        vault: Vault | None = None,
        *,
        clock=time.time,
        timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.budget = budget or EdgeBudget()
        self.vault = vault
        self._clock = clock
        self._lock = threading.Lock()
        try:
            if not self.path.parent.is_dir():
                private_dir(self.path.parent)
            private_file(self.path)
            self._db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            with self._tx() as db:
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
        except (sqlite3.Error, OSError) as exc:
            raise EdgeError(f"cannot open the outbox {self.path}: {exc}") from None

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.immediate(
            self._db, lambda exc: EdgeError(sqlite.explain(exc, "outbox", self.path))
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- in ---------------------------------------------------------------------------------

    def add(self, record: EventRecord, shot: bytes | None = None, hold_s: float = 0.0) -> None:
        """Store one event (committed when this returns); `hold_s`: keep it back that long
        unless `settle` comes first (an open waiting for its door outcome)."""
        now = self._clock()
        blob = None if shot is None else (self.vault.seal(shot) if self.vault else shot)
        record = record.model_copy(update={"snapshot": shot is not None})
        with self._lock:
            with self._tx() as db:
                db.execute(
                    "INSERT OR IGNORE INTO events(id, created, ready_at, payload, shot) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        record.id,
                        now,
                        now + hold_s if hold_s else 0.0,
                        record.model_dump_json(),
                        blob,
                    ),
                )
            self._enforce(now)

    def settle(self, record: EventRecord) -> None:
        """The final form of a held event (its door outcome); it may go up now."""
        with self._lock, self._tx() as db:
            row = db.execute("SELECT payload FROM events WHERE id = ?", (record.id,)).fetchone()
            if row is None:
                return
            old = json.loads(row[0])
            payload = record.model_copy(update={"snapshot": old.get("snapshot", False)})
            db.execute(
                "UPDATE events SET payload = ?, ready_at = 0 WHERE id = ? AND sent_at IS NULL",
                (payload.model_dump_json(), record.id),
            )
            db.execute("UPDATE events SET ready_at = 0 WHERE id = ?", (record.id,))

    # -- out --------------------------------------------------------------------------------

    def due(self, limit: int, resend_after_s: float = 30.0) -> list[EventRecord]:
        """Unacknowledged events to send now, oldest first: never sent, or sent more than
        `resend_after_s` ago without an ack (the ack or the publish was lost)."""
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM events WHERE acked = 0 AND ready_at <= ? AND "
                "(sent_at IS NULL OR sent_at <= ?) ORDER BY seq LIMIT ?",
                (now, now - resend_after_s, limit),
            ).fetchall()
        return [EventRecord.model_validate_json(r[0]) for r in rows]

    def mark_sent(self, ids: list[str]) -> None:
        now = self._clock()
        with self._lock, self._tx() as db:
            db.executemany(
                "UPDATE events SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                [(now, i) for i in ids],
            )

    def resend_all(self) -> None:
        """After a reconnect: what was in flight may be lost with the old connection."""
        with self._lock, self._tx() as db:
            db.execute("UPDATE events SET sent_at = NULL WHERE acked = 0")

    def ack(self, ids: list[str]) -> int:
        """The server stored these: forget them, except a best shot still to upload."""
        with self._lock, self._tx() as db:
            n = 0
            for i in ids:
                n += db.execute(
                    "DELETE FROM events WHERE id = ? AND shot IS NULL AND acked = 0", (i,)
                ).rowcount
                n += db.execute(
                    "UPDATE events SET acked = 1 WHERE id = ? AND acked = 0", (i,)
                ).rowcount
        return n

    def shots_due(self, limit: int = 5) -> list[Shot]:
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT id, shot, shot_attempts FROM events WHERE acked = 1 AND shot IS NOT NULL"
                " AND shot_next <= ? ORDER BY seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [Shot(i, self.vault.open(b) if self.vault else bytes(b), a) for i, b, a in rows]

    def shot_done(self, event_id: str) -> None:
        with self._lock, self._tx() as db:
            db.execute("DELETE FROM events WHERE id = ? AND acked = 1", (event_id,))

    def shot_failed(self, event_id: str, attempts: int, backoff_s: float) -> None:
        with self._lock, self._tx() as db:
            db.execute(
                "UPDATE events SET shot_attempts = ?, shot_next = ? WHERE id = ?",
                (attempts, self._clock() + backoff_s, event_id),
            )

    # -- budget -----------------------------------------------------------------------------

    def _count_drop(self, db: sqlite3.Connection, key: str, n: int) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + ?",
            (key, str(n), n),
        )

    def enforce(self) -> None:
        with self._lock:
            self._enforce(self._clock())

    def _enforce(self, now: float) -> None:
        """Drop what is past the age budget, then the oldest shots, then the oldest events,
        until the outbox fits its disk budget; each drop logged and counted."""
        b = self.budget
        limit = b.outbox_max_mb * 1024 * 1024
        with self._tx() as db:
            old = db.execute(
                "SELECT id, payload FROM events WHERE created < ? ORDER BY seq",
                (now - b.outbox_max_age_s,),
            ).fetchall()
            for event_id, payload in old:
                log.warning(
                    "outbox: event %s dropped unsent, older than %.0f s: %s",
                    event_id, b.outbox_max_age_s, payload,
                )  # fmt: skip
            if old:
                db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i, _ in old])
                self._count_drop(db, "dropped_events", len(old))
            size = self._size(db)
            if size <= limit:
                return
            for event_id, shot_len in db.execute(
                "SELECT id, length(shot) FROM events WHERE shot IS NOT NULL ORDER BY seq"
            ).fetchall():
                if size <= limit:
                    break
                log.warning("outbox: best shot of event %s dropped (disk budget)", event_id)
                db.execute("UPDATE events SET shot = NULL WHERE id = ?", (event_id,))
                db.execute("DELETE FROM events WHERE id = ? AND acked = 1", (event_id,))
                self._count_drop(db, "dropped_shots", 1)
                size -= shot_len
            for event_id, payload in db.execute(
                "SELECT id, payload FROM events ORDER BY seq"
            ).fetchall():
                if size <= limit:
                    break
                log.warning("outbox: event %s dropped unsent (disk budget): %s", event_id, payload)
                db.execute("DELETE FROM events WHERE id = ?", (event_id,))
                self._count_drop(db, "dropped_events", 1)
                size -= len(payload)

    @staticmethod
    def _size(db: sqlite3.Connection) -> int:
        row = db.execute(
            "SELECT COALESCE(SUM(length(payload) + COALESCE(length(shot), 0)), 0) FROM events"
        ).fetchone()
        return int(row[0])

    # -- figures ----------------------------------------------------------------------------

    def pending(self) -> int:
        """Events not yet acknowledged by the server."""
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM events WHERE acked = 0").fetchone()[0]
            )

    def waiting_shots(self) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM events WHERE acked = 1 AND shot IS NOT NULL"
                ).fetchone()[0]
            )

    def dropped(self) -> dict[str, int]:
        with self._lock:
            rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        return {k: int(rows.get(k, 0)) for k in ("dropped_events", "dropped_shots")}

    def size_bytes(self) -> int:
        with self._lock:
            return self._size(self._db)
