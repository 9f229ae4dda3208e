"""Entrances carry their liveness settings (`runtime.liveness` of one entrance).

Existing entrances get `{}`, the defaults of `LivenessConfig` (the motion check; a passive PAD
model only when one is configured): before this revision the server ran no liveness at all.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entrances") as batch:
        batch.add_column(
            sa.Column("liveness", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("entrances") as batch:
        batch.drop_column("liveness")
