"""Sign-in hardening: failed sign-ins are counted in the database (throttling that holds
across replicas), usernames are unique regardless of case, API keys can expire and say when
they were last used.

Usernames that differ only in case ("Ann", "ann") cannot both be kept once sign-in ignores
case: the upgrade stops and names them, so an admin renames or deletes one first (with the
previous version), rather than FaceGate choosing which account survives.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import facegate.server.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "usernames must be unique regardless of case from revision 0003 on; rename or "
            f"delete all but one of each of these first: {', '.join(sorted(clashes))}"
        )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", facegate.server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_time", "sign_in_failures", ["time"])
    op.create_index("ix_sign_in_failures_username", "sign_in_failures", ["username"])
    op.create_index("ix_sign_in_failures_client", "sign_in_failures", ["client"])
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column(
                "expires_at", facegate.server.db.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "last_used_at",
                facegate.server.db.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
    op.drop_index("ix_users_username_lower", table_name="users")
    op.drop_table("sign_in_failures")
