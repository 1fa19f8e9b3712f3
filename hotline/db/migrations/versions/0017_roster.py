"""roster: who is due on which shift of which day

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, index=True),
        sa.Column("shift", sa.String(8), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False, index=True),
        sa.Column("added_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("day", "shift", "agent"),
    )


def downgrade() -> None:
    op.drop_table("roster_entries")
