"""the area tree: grids become the leaves of district > town | street > community | village > grid

Every existing grid becomes an area of kind ``grid`` with the same id, at the top of the tree until an
administrator places it under a community or village; staff assignments move from grids to areas (a
grid assignment is kept as the same area). ``area_paths`` is the tree's closure: one row per ancestor and
descendant (itself included, at depth 0), so "everything below this area" is one indexed lookup.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 12:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["areas.id"], name=op.f("fk_areas_parent_id_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
    )
    op.create_index("ix_areas_parent_id", "areas", ["parent_id"])
    op.create_table(
        "area_paths",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["ancestor_id"], ["areas.id"], name=op.f("fk_area_paths_ancestor_id_areas"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["descendant_id"], ["areas.id"], name=op.f("fk_area_paths_descendant_id_areas"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name=op.f("pk_area_paths")),
    )
    op.create_index("ix_area_paths_descendant_id", "area_paths", ["descendant_id"])
    op.create_table(
        "user_areas",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_areas_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_user_areas_area_id_areas"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "area_id", name=op.f("pk_user_areas")),
    )
    op.create_index("ix_user_areas_area_id", "user_areas", ["area_id"])

    op.execute("INSERT INTO areas (id, name, kind, parent_id, created_at) "
               "SELECT id, name, 'grid', NULL, created_at FROM grids")
    op.execute("INSERT INTO area_paths (ancestor_id, descendant_id, depth) SELECT id, id, 0 FROM grids")
    op.execute("INSERT INTO user_areas (user_id, area_id) SELECT user_id, grid_id FROM user_grids")
    if op.get_bind().dialect.name == "postgresql":
        # Grids and other areas share one id space from now on (a grid is the area with its id): new
        # grids take their id from the areas' sequence, which starts after the grids already there.
        op.execute("SELECT setval(pg_get_serial_sequence('areas', 'id'), "
                   "GREATEST((SELECT max(id) FROM areas), 1), (SELECT max(id) FROM areas) IS NOT NULL)")
    with op.batch_alter_table("user_grids") as batch_op:
        batch_op.drop_index("ix_user_grids_grid_id")
    op.drop_table("user_grids")


def downgrade() -> None:
    op.create_table(
        "user_grids",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_user_grids_grid_id_grids"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_grids_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "grid_id", name=op.f("pk_user_grids")),
    )
    op.create_index("ix_user_grids_grid_id", "user_grids", ["grid_id"])
    # Staff assigned above the grids keep every grid below their areas.
    op.execute("INSERT INTO user_grids (user_id, grid_id) SELECT DISTINCT ua.user_id, p.descendant_id "
               "FROM user_areas ua JOIN area_paths p ON p.ancestor_id = ua.area_id "
               "JOIN grids g ON g.id = p.descendant_id")
    op.drop_table("user_areas")
    op.drop_table("area_paths")
    op.drop_table("areas")
