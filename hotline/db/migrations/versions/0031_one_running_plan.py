"""contingency plans: at most one runs, whichever controller starts it

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

RUNNING = sa.text("ended_at IS NULL")


def upgrade() -> None:
    # Two runs left open by two controllers before this index: the older ones end where they began.
    op.execute(
        "UPDATE plan_runs SET ended_at = started_at, ended_by = '系统', end_reason = '与后启动的预案重叠'"
        " WHERE ended_at IS NULL AND id < (SELECT max(id) FROM plan_runs WHERE ended_at IS NULL)"
    )
    op.create_index(
        "uq_plan_runs_running",
        "plan_runs",
        [sa.text("(ended_at IS NULL)")],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_plan_runs_running", table_name="plan_runs")
