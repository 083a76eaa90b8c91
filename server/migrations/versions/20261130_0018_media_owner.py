"""The app process holding each check-in's and call's media

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 12:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: rows written by one process (or before several) belong to no process in particular.
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("media_owner", sa.String(length=300), nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("media_owner", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("media_owner")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("media_owner")
