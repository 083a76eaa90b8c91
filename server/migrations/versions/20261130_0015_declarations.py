"""self-declarations with their screening queue, and the door-to-door census's tallies

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("id_number", sa.String(length=32), nullable=True),
        sa.Column("arrival_date", sa.Date(), nullable=True),
        sa.Column("arrived_from", sa.String(length=100), nullable=True),
        sa.Column("contact_with_case", sa.Boolean(), nullable=True),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("gatherings", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=500), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_declarations_grid_id_grids")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_declarations_recorded_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_declarations_decided_by_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_declarations_subject_id_subjects"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
    )
    op.create_index("ix_declarations_queue", "declarations", ["status", "grid_id", "created_at"])
    op.create_table(
        "census_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("households_visited", sa.Integer(), nullable=False),
        sa.Column("people_counted", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_census_tallies_grid_id_grids")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_census_tallies_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_census_tallies")),
    )
    op.create_index("ix_census_tallies_grid", "census_tallies", ["grid_id"])


def downgrade() -> None:
    op.drop_index("ix_census_tallies_grid", table_name="census_tallies")
    op.drop_table("census_tallies")
    op.drop_index("ix_declarations_queue", table_name="declarations")
    op.drop_table("declarations")
