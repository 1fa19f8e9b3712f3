"""callbacks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 23:59:30.472287
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_result", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_status"), ["status"], unique=False)

    with op.batch_alter_table("queue_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_calls", schema=None) as batch_op:
        batch_op.drop_column("callback_id")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_status"))
        batch_op.drop_index(batch_op.f("ix_callbacks_created_at"))
        batch_op.drop_index(batch_op.f("ix_callbacks_call_id"))

    op.drop_table("callbacks")
