"""the daily brief: each grid's figures for each day, frozen when the day is over

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 09:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("home", "centralized", "new", "released", "closed", "fever", "symptoms", "referrals", "tests_sampled",
          "tests_pending", "tests_positive", "video_checkins")


def upgrade() -> None:
    op.create_table(
        "daily_brief",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column("missed", sa.Integer(), nullable=True),
        sa.Column("frozen_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_daily_brief_grid_id_grids"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("day", "grid_id", name=op.f("pk_daily_brief")),
    )


def downgrade() -> None:
    op.drop_table("daily_brief")
