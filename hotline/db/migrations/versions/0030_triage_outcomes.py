"""triage suggestions: what the desk suggested for a ticket and what the agent chose

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(32), nullable=False, unique=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("chosen", sa.String(32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("clicked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_triage_outcomes_agent", "triage_outcomes", ["agent"])
    op.create_index("ix_triage_outcomes_at", "triage_outcomes", ["at"])


def downgrade() -> None:
    op.drop_table("triage_outcomes")
