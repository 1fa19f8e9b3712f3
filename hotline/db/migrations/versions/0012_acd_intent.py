"""the shift lead's line count and standby choice survive a restart

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "acd_intent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lines_override", sa.Integer(), nullable=True),
        sa.Column("lines_window", sa.String(length=64), nullable=False),
        sa.Column("lines_set_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lines_actor", sa.String(length=64), nullable=False),
        sa.Column("standby_manual", sa.Boolean(), nullable=True),
        sa.Column("standby_actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The one row the controller updates: no upsert needed on either database.
    op.bulk_insert(table, [{"id": 1, "lines_window": "", "lines_actor": "", "standby_actor": ""}])


def downgrade() -> None:
    op.drop_table("acd_intent")
