"""census imports as background jobs: their progress and report, and the people each one enrolled

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "census_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("allow_duplicates", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("checked_rows", sa.Integer(), nullable=False),
        sa.Column("written_rows", sa.Integer(), nullable=False),
        sa.Column("problem_lines", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("heartbeat_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_census_imports_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_census_imports")),
    )
    op.create_index("ix_census_imports_created_at", "census_imports", ["created_at"])
    # Plain ADD COLUMN on both databases (no table copy: the roster-count triggers stay).
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE subjects ADD COLUMN census_import_id CHAR(32) REFERENCES census_imports (id)")
    else:
        op.add_column("subjects", sa.Column("census_import_id", sa.Uuid(), nullable=True))
        op.create_foreign_key("fk_subjects_census_import_id_census_imports", "subjects", "census_imports",
                              ["census_import_id"], ["id"])
    op.create_index("ix_subjects_census_import", "subjects", ["census_import_id", "grid_id"],
                    postgresql_where=sa.text("census_import_id IS NOT NULL"),
                    sqlite_where=sa.text("census_import_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_subjects_census_import", table_name="subjects")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint("fk_subjects_census_import_id_census_imports", "subjects", type_="foreignkey")
    op.drop_column("subjects", "census_import_id")
    op.drop_index("ix_census_imports_created_at", table_name="census_imports")
    op.drop_table("census_imports")
