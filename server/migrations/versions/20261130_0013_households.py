"""households: one address, one link for everyone living there

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("access_code_hash", sa.String(length=64), nullable=False),
        sa.Column("access_code_version", sa.Integer(), nullable=False),
        sa.Column("access_code_issued_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_households_grid_id_grids")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_households_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("access_code_hash", name=op.f("uq_households_access_code_hash")),
    )
    op.create_index("ix_households_grid", "households", ["grid_id", "address"])
    # Plain ALTER TABLE … ADD COLUMN on both databases (no table copy: the roster-count triggers stay);
    # SQLite takes the foreign key inline (REFERENCES) on a nullable column.
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE subjects ADD COLUMN household_id CHAR(32) REFERENCES households (id)")
    else:
        op.add_column("subjects", sa.Column("household_id", sa.Uuid(), nullable=True))
        op.create_foreign_key("fk_subjects_household_id_households", "subjects", "households", ["household_id"],
                              ["id"])
    op.create_index("ix_subjects_household", "subjects", ["household_id"],
                    postgresql_where=sa.text("household_id IS NOT NULL"),
                    sqlite_where=sa.text("household_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_subjects_household", table_name="subjects")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint("fk_subjects_household_id_households", "subjects", type_="foreignkey")
    op.drop_column("subjects", "household_id")
    op.drop_index("ix_households_grid", table_name="households")
    op.drop_table("households")
