"""roster counts kept by triggers; joins the outbox and check-in branches

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-28 16:05:00

The roster shows counts by status at the top of every page. Counting a million subjects takes half a
second; these counters make it a read of (grids × 4) rows. Triggers keep them exact whatever writes
the subjects table: the app, the status sweep, bulk loads (COPY fires them too), hand fixes in psql.

On PostgreSQL the triggers are per statement with transition tables, so the sweep's one UPDATE over a
million rows adjusts each counter once. SQLite gets simple per-row triggers.

Note for later SQLite migrations: a batch ALTER of ``subjects`` or ``grids`` recreates the table and
drops its triggers; such a migration must create them again (see ``_sqlite_triggers``).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | tuple[str, ...] | None = ("0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANKS = (0, 1, 2, 3)

POSTGRES_UP = [s for s in """
CREATE FUNCTION roster_counts_grid_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO roster_counts (grid_id, status_rank, n)
    SELECT NEW.id, r, 0 FROM unnest(ARRAY[0, 1, 2, 3]) AS r;
    RETURN NULL;
END $$;

CREATE FUNCTION roster_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster_counts c SET n = c.n + d.k
    FROM (SELECT grid_id, status_rank, count(*) AS k FROM new_rows WHERE state = 'active' GROUP BY 1, 2) d
    WHERE c.grid_id = d.grid_id AND c.status_rank = d.status_rank;
    RETURN NULL;
END $$;

CREATE FUNCTION roster_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Net change per counter: a reading that leaves the status as it was writes no counter at all,
    -- so concurrent readings in one grid do not queue on its counter rows.
    UPDATE roster_counts c SET n = c.n + d.k
    FROM (
        SELECT grid_id, status_rank, sum(k) AS k FROM (
            SELECT grid_id, status_rank, -1 AS k FROM old_rows WHERE state = 'active'
            UNION ALL
            SELECT grid_id, status_rank, 1 AS k FROM new_rows WHERE state = 'active'
        ) x GROUP BY 1, 2 HAVING sum(k) <> 0
    ) d
    WHERE c.grid_id = d.grid_id AND c.status_rank = d.status_rank;
    RETURN NULL;
END $$;

CREATE FUNCTION roster_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster_counts c SET n = c.n - d.k
    FROM (SELECT grid_id, status_rank, count(*) AS k FROM old_rows WHERE state = 'active' GROUP BY 1, 2) d
    WHERE c.grid_id = d.grid_id AND c.status_rank = d.status_rank;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_roster_counts AFTER INSERT ON grids
    FOR EACH ROW EXECUTE FUNCTION roster_counts_grid_added();

CREATE TRIGGER subjects_roster_counts_ins AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_inserted();

CREATE TRIGGER subjects_roster_counts_upd AFTER UPDATE ON subjects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION roster_counts_updated();

CREATE TRIGGER subjects_roster_counts_del AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_deleted();

-- Every window boundary rewrites most subject rows; vacuum them sooner than the default 20 %.
ALTER TABLE subjects SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)
""".split("\n\n") if s.strip()]  # asyncpg runs one statement per call

POSTGRES_DOWN = [s.strip().rstrip(";") for s in """
DROP TRIGGER IF EXISTS subjects_roster_counts_del ON subjects;
DROP TRIGGER IF EXISTS subjects_roster_counts_upd ON subjects;
DROP TRIGGER IF EXISTS subjects_roster_counts_ins ON subjects;
DROP TRIGGER IF EXISTS grids_roster_counts ON grids;
DROP FUNCTION IF EXISTS roster_counts_deleted();
DROP FUNCTION IF EXISTS roster_counts_updated();
DROP FUNCTION IF EXISTS roster_counts_inserted();
DROP FUNCTION IF EXISTS roster_counts_grid_added();
ALTER TABLE subjects RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
""".split(";\n") if s.strip()]


def _sqlite_triggers() -> list[str]:
    return [
        """CREATE TRIGGER grids_roster_counts AFTER INSERT ON grids BEGIN
            INSERT INTO roster_counts (grid_id, status_rank, n)
            VALUES (NEW.id, 0, 0), (NEW.id, 1, 0), (NEW.id, 2, 0), (NEW.id, 3, 0);
        END""",
        """CREATE TRIGGER subjects_roster_counts_ins AFTER INSERT ON subjects WHEN NEW.state = 'active' BEGIN
            UPDATE roster_counts SET n = n + 1 WHERE grid_id = NEW.grid_id AND status_rank = NEW.status_rank;
        END""",
        """CREATE TRIGGER subjects_roster_counts_upd AFTER UPDATE OF status_rank, state, grid_id ON subjects
        WHEN OLD.status_rank IS NOT NEW.status_rank OR OLD.state IS NOT NEW.state OR OLD.grid_id IS NOT NEW.grid_id
        BEGIN
            UPDATE roster_counts SET n = n - 1
            WHERE OLD.state = 'active' AND grid_id = OLD.grid_id AND status_rank = OLD.status_rank;
            UPDATE roster_counts SET n = n + 1
            WHERE NEW.state = 'active' AND grid_id = NEW.grid_id AND status_rank = NEW.status_rank;
        END""",
        """CREATE TRIGGER subjects_roster_counts_del AFTER DELETE ON subjects WHEN OLD.state = 'active' BEGIN
            UPDATE roster_counts SET n = n - 1 WHERE grid_id = OLD.grid_id AND status_rank = OLD.status_rank;
        END""",
    ]


def upgrade() -> None:
    op.create_table(
        "roster_counts",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_roster_counts_grid_id_grids"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("grid_id", "status_rank", name=op.f("pk_roster_counts")),
    )
    # Existing data: one zero row per grid and status, then the current counts.
    op.execute(
        "INSERT INTO roster_counts (grid_id, status_rank, n) SELECT g.id, r.rank, 0 FROM grids g CROSS JOIN ("
        + " UNION ALL ".join(f"SELECT {rank} AS rank" for rank in RANKS) + ") r"
    )
    op.execute(
        "UPDATE roster_counts SET n = (SELECT count(*) FROM subjects s WHERE s.state = 'active' "
        "AND s.grid_id = roster_counts.grid_id AND s.status_rank = roster_counts.status_rank)"
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    else:
        for name in ("subjects_roster_counts_del", "subjects_roster_counts_upd", "subjects_roster_counts_ins",
                     "grids_roster_counts"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("roster_counts")
