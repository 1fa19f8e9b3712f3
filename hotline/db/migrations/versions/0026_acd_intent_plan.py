"""a running contingency plan's line count in the shared intent row

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acd_intent") as batch:
        batch.add_column(sa.Column("plan_lines", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("acd_intent") as batch:
        batch.drop_column("plan_lines")
