"""Alembic revisions (shipped inside the package) build exactly the schema the models
describe, on SQLite and PostgreSQL, and running them again is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from facegate.server.db.database import MIGRATIONS, make_engine, migrate
from facegate.server.db.models import Base


def test_migrations_match_the_models_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        migrate(engine)  # every start runs it: a no-op the second time
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn)
            assert ctx.get_current_revision() == "0001"
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
        tables = set(inspect(engine).get_table_names())
        assert {"residents", "photos", "templates", "users", "audit_log"} <= tables
    finally:
        engine.dispose()


def test_revisions_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert any(MIGRATIONS.joinpath("versions").glob("0001_*.py"))
