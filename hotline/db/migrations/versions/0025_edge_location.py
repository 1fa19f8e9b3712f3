"""where seat phones registered at the SIP edge (Kamailio's usrloc table)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# Kamailio 5.6's usrloc reads and writes a table of this shape, and checks
# its version (9) in `version`; the table's name is the location domain the
# edge saves to (kamailio-conf/kamailio.cfg).
LOCATION_VERSION = 9


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # the edge (Kamailio) runs only with PostgreSQL
    naive = sa.DateTime(timezone=False)
    op.create_table(
        "edge_location",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ruid", sa.String(64), nullable=False, server_default=""),
        sa.Column("username", sa.String(64), nullable=False, server_default=""),
        sa.Column("domain", sa.String(64)),
        sa.Column("contact", sa.String(512), nullable=False, server_default=""),
        sa.Column("received", sa.String(128)),
        sa.Column("path", sa.String(512)),
        sa.Column("expires", naive, nullable=False, server_default=sa.text("'2030-05-28 21:32:15'")),
        sa.Column("q", sa.REAL(), nullable=False, server_default=sa.text("1.0")),
        sa.Column("callid", sa.String(255), nullable=False, server_default="Default-Call-ID"),
        sa.Column("cseq", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("last_modified", naive, nullable=False, server_default=sa.text("'2000-01-01 00:00:01'")),
        sa.Column("flags", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("cflags", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
        sa.Column("socket", sa.String(64)),
        sa.Column("methods", sa.Integer()),
        sa.Column("instance", sa.String(255)),
        sa.Column("reg_id", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("server_id", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("connection_id", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("keepalive", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("partition", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.UniqueConstraint("ruid", name="edge_location_ruid_idx"),
    )
    op.create_index("edge_location_account_contact_idx", "edge_location", ["username", "domain", "contact"])
    op.create_index("edge_location_expires_idx", "edge_location", ["expires"])
    op.execute(f"INSERT INTO version (table_name, table_version) VALUES ('edge_location', {LOCATION_VERSION})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DELETE FROM version WHERE table_name = 'edge_location'")
        op.drop_table("edge_location")
