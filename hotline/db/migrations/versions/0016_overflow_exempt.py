"""overflow: the agents the shift lead keeps off overflow (never pulled onto a line)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acd_intent") as batch:
        batch.add_column(sa.Column("overflow_exempt", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("acd_intent") as batch:
        batch.drop_column("overflow_exempt")
