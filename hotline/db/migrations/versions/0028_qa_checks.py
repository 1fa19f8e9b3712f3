"""quality inspection: the automatic checks of every answered call

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("ticket", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("seat", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("speech", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("cpu_s", sa.Float(), nullable=False),
    )
    op.create_index("ix_qa_checks_call_id", "qa_checks", ["call_id"])
    op.create_index("ix_qa_checks_agent", "qa_checks", ["agent"])
    op.create_index("ix_qa_checks_at", "qa_checks", ["at"])
    op.create_index("ix_qa_checks_flagged", "qa_checks", ["flagged"])


def downgrade() -> None:
    op.drop_table("qa_checks")
