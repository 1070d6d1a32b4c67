"""alerts analysts trust (issue 4): event merging state, batched deliveries, merge locks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merge_locks",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("touched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_merge_locks")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchor", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        # events stored before this revision were alerted when they were created
        batch_op.add_column(
            sa.Column("routed", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("peer_official_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("peer_official_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("peer_watchlist", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(
            "ix_deliveries_subscriber_channel", ["subscriber", "channel"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_subscriber_channel")
        batch_op.drop_column("batch")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("peer_watchlist")
        batch_op.drop_column("peer_official_name")
        batch_op.drop_column("peer_official_id")
        batch_op.drop_column("late")
        batch_op.drop_column("routed")
        batch_op.drop_column("anchor")
    op.drop_table("merge_locks")
