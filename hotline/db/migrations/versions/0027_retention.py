"""retention: a legal hold and the anonymisation mark on tickets, the runs' audit

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
    )
    op.create_index("ix_retention_runs_at", "retention_runs", ["at"])


def downgrade() -> None:
    op.drop_index("ix_retention_runs_at", "retention_runs")
    op.drop_table("retention_runs")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("anonymised_at")
        batch.drop_column("legal_hold")
