"""the daily brief counts the door-to-door census: households visited and people counted (by the day's
end), declarations received that day; days frozen before this stay unknown (null)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("households_visited", "people_counted", "declarations")


def upgrade() -> None:
    with op.batch_alter_table("daily_brief") as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("daily_brief") as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
