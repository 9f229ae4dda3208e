"""Engine and sessions for SQLite (default, a file under the data dir) or PostgreSQL (by URL),
and schema migration with Alembic on start-up (the revisions ship inside the package)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from facegate.errors import ConfigError
from facegate.private import private_dir, private_file
from facegate.server.db import fleet_capture
from facegate.server.db.models import Counter

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """`postgresql://` means the psycopg 3 driver, the one we depend on."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, timeout_s: float = 5.0) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"server.database_url is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            db_file = Path(parsed.database)
            if not db_file.parent.is_dir():
                private_dir(db_file.parent)
            private_file(db_file)  # 0600 before SQLite opens it; its -wal/-shm follow
        engine = create_engine(url, connect_args={"timeout": timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # every pooled connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA secure_delete=ON")  # deleted templates and names are zeroed
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": max(1, int(timeout_s))}
        )
    raise ConfigError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, safe on every start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that record what edge devices must hear about in the same transaction as
    the change (`fleet_capture`): every write path goes through here."""
    factory = sessionmaker(engine, expire_on_commit=False)
    fleet_capture.install(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits at the end of the block, or not at all."""
    with factory() as session, session.begin():
        yield session


def bump(session: Session, name: str) -> None:
    """Tell the runtimes that `name` (gallery, rules, entrances) changed."""
    if session.get(Counter, name) is None:
        session.add(Counter(name=name, value=1))
        session.flush()
    else:
        session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))


def counter(session: Session, name: str) -> int:
    value = session.scalar(select(Counter.value).where(Counter.name == name))
    return int(value or 0)


def truncate_wal(engine: Engine) -> bool:
    """After an erasure: copy the WAL into the database and truncate it to zero bytes, so
    no old page image keeps deleted data (SQLite). PostgreSQL has no file of ours to scrub
    (its WAL and dead tuples are the database server's; VACUUM reclaims them). Returns
    False when SQLite could not truncate (a reader held an old snapshot)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy and busy[0]:
        log.warning("database: WAL not truncated after an erasure (a reader holds it)")
        return False
    return True
