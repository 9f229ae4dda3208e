"""Alembic revisions (shipped inside the package) build exactly the schema the models
describe, on SQLite and PostgreSQL, and running them again is harmless."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from facegate.config import RuntimeConfig
from facegate.server.db.database import MIGRATIONS, make_engine, migrate
from facegate.server.db.models import Base, Entrance
from facegate.server.runtimes import EntranceSettings


def _head() -> str:
    """The newest revision shipped (each new one moves it; the check stays the same)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them
def test_migrations_match_the_models_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        migrate(engine)  # every start runs it: a no-op the second time
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn)
            assert ctx.get_current_revision() == _head()
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
        tables = set(inspect(engine).get_table_names())
        assert {"residents", "photos", "templates", "users", "audit_log"} <= tables
    finally:
        engine.dispose()


def test_upgrade_gives_existing_entrances_the_default_liveness(db_url: str) -> None:
    """An entrance stored before revision 0002 runs with the motion check afterwards."""
    engine = make_engine(db_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(
                text(
                    "INSERT INTO entrances (name, enabled, source, door, decision, quality, "
                    "created_at) VALUES ('old', true, NULL, '{\"kind\": \"log\"}', '{}', '{}', "
                    "CURRENT_TIMESTAMP)"
                )
            )
        migrate(engine)
        with Session(engine) as s:
            row = s.query(Entrance).one()
            settings = EntranceSettings.from_row(row, RuntimeConfig())
        assert row.liveness == {}
        # the default liveness (issue 14: the shipped passive model, motion, the screen veto)
        assert settings.runtime.liveness.active_checks() == ["passive", "motion", "screen"]
    finally:
        engine.dispose()


def test_revisions_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert any(MIGRATIONS.joinpath("versions").glob("0001_*.py"))
    assert any(MIGRATIONS.joinpath("versions").glob("0002_*.py"))


def test_upgrade_to_0003_names_usernames_that_differ_only_in_case(db_url: str) -> None:
    """Sign-in ignores case from 0003 on: two such users stop the upgrade, named, rather
    than one of them being dropped or renamed silently."""
    engine = make_engine(db_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            for name in ("Ann", "ann"):
                conn.execute(
                    text(
                        "INSERT INTO users (username, password_hash, role, active, created_at) "
                        "VALUES (:n, 'x', 'viewer', true, CURRENT_TIMESTAMP)"
                    ),
                    {"n": name},
                )
        with pytest.raises(RuntimeError, match=r"regardless of case.*: ann"):
            migrate(engine)
    finally:
        engine.dispose()
