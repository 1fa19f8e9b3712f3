"""tickets answered on the spot belong to no handling unit: the department
the desk pre-filled from the category is cleared (unless it was dispatched later)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE tickets SET department = '', deadline_at = NULL "
        "WHERE handling = 'answered' AND redispatches = 0 "
        "AND id NOT IN (SELECT ticket_id FROM ticket_events WHERE action = 'dispatch')"
    )


def downgrade() -> None:
    pass  # which bureau the form once showed is not kept
