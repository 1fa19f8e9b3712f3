"""the cluster's leadership term and its decisions

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    term = op.create_table(
        "cluster_term",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(term, [{"id": 1, "epoch": 0, "node": ""}])
    op.create_table(
        "cluster_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "key"),
    )
    op.create_index("ix_cluster_decisions_epoch", "cluster_decisions", ["epoch"])


def downgrade() -> None:
    op.drop_index("ix_cluster_decisions_epoch", "cluster_decisions")
    op.drop_table("cluster_decisions")
    op.drop_table("cluster_term")
