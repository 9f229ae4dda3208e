"""Residents enrol themselves: invite links (only the token's hash is kept) and the photos
sent with them that wait for a manager's approval.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import facegate.server.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = facegate.server.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrol_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_enrol_invites_resident_id", "enrol_invites", ["resident_id"])
    op.create_table(
        "pending_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("pose", sa.String(length=16), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invite_id"], ["enrol_invites.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_photos_resident_id", "pending_photos", ["resident_id"])
    op.create_index("ix_pending_photos_invite_id", "pending_photos", ["invite_id"])


def downgrade() -> None:
    op.drop_table("pending_photos")
    op.drop_table("enrol_invites")
