"""tickets: full ticket, calls, history, drafts, sequences, knowledge base

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 01:26:46.605481
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ticket_sequences",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "ticket_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("seat", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recording", sa.String(length=256), nullable=False),
        sa.Column("recording_purged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_calls_agent"), ["agent"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_calls_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_calls_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_drafts",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_name", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("tag", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("ivr_path", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("category", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("district", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("address", sa.String(length=256), server_default="", nullable=False))
        batch_op.add_column(sa.Column("content", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("handling", sa.String(length=16), server_default="", nullable=False))
        batch_op.add_column(sa.Column("answer", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("department", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("feedback", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revisit_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revisit_note", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("satisfaction_source", sa.String(length=16), server_default="", nullable=False))
        batch_op.add_column(sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("agent", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("seat", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("wait_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("redispatches", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_tickets_agent"), ["agent"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_deadline_at"), ["deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_status"), ["status"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=32), server_default="", nullable=False))

    if op.get_bind().dialect.name == "sqlite":
        # Chinese has no spaces between words: the trigram tokenizer finds any
        # run of three or more characters (shorter queries fall back to LIKE).
        op.execute(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, content='kb_articles', "
            "content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER kb_ai AFTER INSERT ON kb_articles BEGIN "
            "INSERT INTO kb_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER kb_ad AFTER DELETE ON kb_articles BEGIN "
            "INSERT INTO kb_fts(kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END"
        )
        op.execute(
            "CREATE TRIGGER kb_au AFTER UPDATE ON kb_articles BEGIN "
            "INSERT INTO kb_fts(kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
            "INSERT INTO kb_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("kb_ai", "kb_ad", "kb_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("department")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tickets_department"))
        batch_op.drop_index(batch_op.f("ix_tickets_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_created_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_agent"))
        batch_op.drop_column("redispatches")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("wait_s")
        batch_op.drop_column("seat")
        batch_op.drop_column("agent")
        batch_op.drop_column("confidential")
        batch_op.drop_column("satisfaction_source")
        batch_op.drop_column("satisfaction")
        batch_op.drop_column("revisit_note")
        batch_op.drop_column("revisit_due_at")
        batch_op.drop_column("feedback_at")
        batch_op.drop_column("feedback")
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("department")
        batch_op.drop_column("answer")
        batch_op.drop_column("handling")
        batch_op.drop_column("content")
        batch_op.drop_column("address")
        batch_op.drop_column("district")
        batch_op.drop_column("category")
        batch_op.drop_column("ivr_path")
        batch_op.drop_column("tag")
        batch_op.drop_column("caller_name")

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    op.drop_table("ticket_drafts")
    with op.batch_alter_table("ticket_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_calls_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_calls_call_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_calls_agent"))

    op.drop_table("ticket_calls")
    op.drop_table("ticket_sequences")
    op.drop_table("kb_articles")
