"""leaders' briefings: the archive

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "briefings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("first_day", sa.String(length=10), nullable=False),
        sa.Column("after_day", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("scheduled_key", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scheduled_key"),
    )
    op.create_index("ix_briefings_first_day", "briefings", ["first_day"])
    op.create_index("ix_briefings_created_at", "briefings", ["created_at"])


def downgrade() -> None:
    op.drop_table("briefings")
