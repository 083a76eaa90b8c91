"""rate limit counters shared by every app process

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 06:30:00

rate_limit_hits counts requests per key (a person starting video check-ins) in a fixed window.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index("ix_rate_limit_hits_window_start", "rate_limit_hits", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hits_window_start", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
