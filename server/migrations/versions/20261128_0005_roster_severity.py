"""roster severity: high fever first within the abnormal group

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:45:00

A plain ADD COLUMN (no batch table copy on SQLite, which would drop the roster-count triggers of 0004).
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.add_column("subjects", sa.Column("severity", sa.SmallInteger(), server_default=sa.text("3"), nullable=False))
    op.drop_index("ix_subjects_roster", table_name="subjects")
    op.drop_index("ix_subjects_grid_roster", table_name="subjects")
    op.create_index("ix_subjects_roster", "subjects", ["status_rank", "severity", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_subjects_grid_roster", "subjects", ["grid_id", "status_rank", "severity", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    # Existing abnormal rows get their severity at their next re-evaluation: make that the next sweep.
    subjects = sa.table("subjects", sa.column("status_valid_until", server.db.UTCDateTime()),
                        sa.column("state", sa.String()), sa.column("status_rank", sa.SmallInteger()))
    op.execute(subjects.update().where(subjects.c.state == "active", subjects.c.status_rank == 0)
               .values(status_valid_until=datetime(2000, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    op.drop_index("ix_subjects_grid_roster", table_name="subjects")
    op.drop_index("ix_subjects_roster", table_name="subjects")
    op.create_index("ix_subjects_grid_roster", "subjects", ["grid_id", "status_rank", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_subjects_roster", "subjects", ["status_rank", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("severity")
