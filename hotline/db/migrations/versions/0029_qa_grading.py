"""quality inspection: the scorecard, leads' grades of calls, agents' appeals

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_scorecard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "qa_grades",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("grader", sa.String(64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("marks", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("call_id", "grader", name="uq_qa_grades_call_grader"),
    )
    op.create_index("ix_qa_grades_call_id", "qa_grades", ["call_id"])
    op.create_index("ix_qa_grades_agent", "qa_grades", ["agent"])
    op.create_table(
        "qa_appeals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False, unique=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_qa_appeals_agent", "qa_appeals", ["agent"])


def downgrade() -> None:
    op.drop_table("qa_appeals")
    op.drop_table("qa_grades")
    op.drop_table("qa_scorecard")
