"""where each seat takes queue calls in a cluster; each node's queue load

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_seats",
        sa.Column("seat", sa.String(32), primary_key=True),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("why", sa.String(16), nullable=False),
    )
    with op.batch_alter_table("cluster_nodes") as batch:
        batch.add_column(sa.Column("load", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("cluster_nodes") as batch:
        batch.drop_column("load")
    op.drop_table("cluster_seats")
