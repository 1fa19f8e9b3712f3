"""car moving: vehicles, registration codes, bindings, their log, the blacklist

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("owner_phone", sa.String(length=20), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("verified_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plate"),
    )
    op.create_table(
        "vehicle_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "carmove_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("x", sa.String(length=20), nullable=False),
        sa.Column("requester", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=20), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("ticket_number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_carmove_bindings_x", "carmove_bindings", ["x"])
    op.create_index("ix_carmove_bindings_requester", "carmove_bindings", ["requester"])
    op.create_index("ix_carmove_bindings_created_at", "carmove_bindings", ["created_at"])
    op.create_index("ix_carmove_bindings_expires_at", "carmove_bindings", ["expires_at"])
    op.create_table(
        "carmove_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["carmove_bindings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_carmove_events_binding_id", "carmove_events", ["binding_id"])
    op.create_table(
        "carmove_blacklist",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )


def downgrade() -> None:
    for table in ("carmove_blacklist", "carmove_events", "carmove_bindings", "vehicle_codes", "vehicles"):
        op.drop_table(table)
