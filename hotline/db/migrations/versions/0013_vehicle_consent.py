"""car moving: registrations named by unguessable tokens, and the current
owner's consent code when a registered plate changes hands

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Pending codes live ten minutes and were named by guessable ids: drop them
    # rather than invent tokens their senders never saw.
    op.execute("DELETE FROM vehicle_codes")
    with op.batch_alter_table("vehicle_codes") as batch:
        batch.add_column(sa.Column("token", sa.String(length=43), nullable=False, server_default=""))
        batch.add_column(sa.Column("owner_phone", sa.String(length=20), nullable=False, server_default=""))
        batch.add_column(sa.Column("owner_code_hash", sa.String(length=64), nullable=False, server_default=""))
        batch.create_index("ix_vehicle_codes_token", ["token"], unique=True)
        batch.create_index("ix_vehicle_codes_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("vehicle_codes") as batch:
        batch.drop_index("ix_vehicle_codes_created_at")
        batch.drop_index("ix_vehicle_codes_token")
        batch.drop_column("owner_code_hash")
        batch.drop_column("owner_phone")
        batch.drop_column("token")
