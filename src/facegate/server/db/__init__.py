"""The server's database: SQLAlchemy models, engine set-up and Alembic migrations."""
