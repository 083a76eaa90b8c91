"""a person's last exposure and why their observation end moved; ID numbers indexed for duplicates

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 06:30:00

The duplicate check at enrolment looks people up by ID number among those under observation; the
partial index keeps that lookup cheap at a million people without indexing released records.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN on both databases: no table copy, so the roster-count triggers stay.
    op.add_column("subjects", sa.Column("last_exposure_date", sa.Date(), nullable=True))
    op.add_column("subjects", sa.Column("end_date_reason", sa.String(length=500), nullable=True))
    op.create_index("ix_subjects_active_id_number", "subjects", ["id_number"],
                    postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))


def downgrade() -> None:
    op.drop_index("ix_subjects_active_id_number", table_name="subjects")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("end_date_reason")
        batch.drop_column("last_exposure_date")
