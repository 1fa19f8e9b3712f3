"""seats' SIP passwords in the shared database, as the SIP edge reads them

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# Kamailio's auth_db checks the version of the table it reads against the
# one it was built for (subscriber: 7), in a table named `version`.
SUBSCRIBER_VERSION = 7


def upgrade() -> None:
    op.create_table(
        "seat_credentials",
        sa.Column("seat", sa.String(32), primary_key=True),
        sa.Column("password", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return  # the edge (Kamailio) runs only with PostgreSQL
    op.create_table(
        "version",
        sa.Column("table_name", sa.String(32), primary_key=True),
        sa.Column("table_version", sa.Integer(), nullable=False),
    )
    op.execute(f"INSERT INTO version (table_name, table_version) VALUES ('edge_subscriber', {SUBSCRIBER_VERSION})")
    # What Kamailio's auth_db reads: user name and password, no domain.
    op.execute(
        "CREATE VIEW edge_subscriber AS "
        "SELECT seat AS username, CAST('' AS varchar(64)) AS domain, password FROM seat_credentials"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP VIEW edge_subscriber")
        op.drop_table("version")
    op.drop_table("seat_credentials")
