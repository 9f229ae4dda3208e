"""Alembic environment: run with the connection the server hands over (see database.migrate),
or from `alembic -x url=...` when developing new revisions."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from facegate.server.db.database import normalise_url
from facegate.server.db.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///facegate.sqlite")
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run()
