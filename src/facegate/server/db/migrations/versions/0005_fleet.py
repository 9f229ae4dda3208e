"""The fleet: edge devices (credentials as hashes, version chain, status), the durable
change outbox the server publishes deltas from, and the door events devices send up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import facegate.server.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = facegate.server.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("entrance_ids", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", UTC_TIME, nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("enrolled_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=False),
        sa.Column("last_seen", UTC_TIME, nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("gallery_version", sa.Integer(), nullable=True),
        sa.Column("software", sa.String(length=128), nullable=False),
        sa.Column("entrance_states", sa.JSON(), nullable=False),
        sa.Column("outbox", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_table(
        "fleet_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_fleet_changes_published_at", "fleet_changes", ["published_at", "seq"])
    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("entrance", sa.String(length=128), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("track", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("liveness", sa.JSON(), nullable=False),
        sa.Column("door", sa.JSON(), nullable=True),
        sa.Column("snapshot_expected", sa.Boolean(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_device_events_time_id", "device_events", ["time", "id"])
    op.create_index("ix_device_events_device_id", "device_events", ["device_id"])


def downgrade() -> None:
    op.drop_table("device_events")
    op.drop_table("fleet_changes")
    op.drop_table("devices")
