"""acd: agent sessions, queue calls, events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:43:27.728359
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acd_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seat", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("acd_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acd_events_at"), ["at"], unique=False)

    op.create_table(
        "agent_sessions",
        sa.Column("seat", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=64), nullable=False),
        sa.Column("login_at", sa.Float(), nullable=False),
        sa.Column("standby", sa.Boolean(), nullable=False),
        sa.Column("pause", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seat"),
        sa.UniqueConstraint("agent"),
    )
    op.create_table(
        "queue_calls",
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("joined_at", sa.Float(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("seat", sa.String(length=32), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("wrapup_s", sa.Float(), nullable=True),
        sa.Column("abandoned", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("uniqueid"),
    )
    with op.batch_alter_table("queue_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_calls_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_calls_joined_at"), ["joined_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_calls_joined_at"))
        batch_op.drop_index(batch_op.f("ix_queue_calls_call_id"))

    op.drop_table("queue_calls")
    op.drop_table("agent_sessions")
    with op.batch_alter_table("acd_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acd_events_at"))

    op.drop_table("acd_events")
