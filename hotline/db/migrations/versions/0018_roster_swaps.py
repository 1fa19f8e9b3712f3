"""roster swaps: an agent hands a shift to a colleague or exchanges it, the lead decides

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_swaps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requester", sa.String(64), nullable=False, index=True),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("with_agent", sa.String(64), nullable=False),
        sa.Column("their_entry_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("roster_swaps")
