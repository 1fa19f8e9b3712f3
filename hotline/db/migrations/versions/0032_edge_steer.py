"""where the SIP edge sends new calls: one row per seat free, written by the cluster's leader

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edge_steer",
        sa.Column("slot", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("uri", sa.String(128), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("edge_steer")
