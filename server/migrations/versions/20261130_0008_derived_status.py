"""statuses derived at read time: no stored status, counters keyed by severity and filled windows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:30:00

``subjects.status_rank`` goes: missed and due change whenever a window opens or closes, so storing them
made every window boundary rewrite most of the table (930,000 rows at a million people). The roster now
derives them from the filled windows and the clock (``server/roster/rules_sql.py``); only the severity,
which readings change, stays stored.

``roster_counts`` is keyed by grid, severity and the last two filled windows instead of by status: a
reading moves its person between two such counters, the clock moves nobody, and the roster turns the
counters into counts by status with ``monitoring.roster_status``. The keys cannot be NULL, so "no
window" is stored as 1970-01-01; in the abnormal group the windows do not matter and are keyed that way
too, which keeps the number of counters small. Existing rows are counted again from the table.

Triggers as before (0004, 0006): per statement with transition tables on PostgreSQL, writing each
counter once per statement and in key order (INSERT … ORDER BY … ON CONFLICT), so two writers adjusting
the same counters queue instead of deadlocking; per row on SQLite.
"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABNORMAL = sa.text("state = 'active' AND severity < 3")
CALM = sa.text("state = 'active' AND severity = 3")
ACTIVE = sa.text("state = 'active'")
ONE_BY_ONE = ["grid_id", "severity", "filled_window_1", "filled_window_2", "created_at", "start_date"]

PG_NO_WINDOW = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
SQLITE_NO_WINDOW = "'1970-01-01 00:00:00.000000'"  # SQLAlchemy's text format for SQLite datetimes


def _key(row: str, no_window: str, *, named: bool = False) -> str:
    """The counter key of a subject row (``row`` is a table alias, or NEW/OLD in a SQLite trigger)."""
    def window(column: str) -> str:
        return f"CASE WHEN {row}.severity < 3 THEN {no_window} ELSE coalesce({row}.{column}, {no_window}) END"
    names = (" AS g", " AS s", " AS w1", " AS w2") if named else ("", "", "", "")
    parts = [f"{row}.grid_id", f"{row}.severity", window("filled_window_1"), window("filled_window_2")]
    return ", ".join(part + name for part, name in zip(parts, names, strict=True))


def _pg_function(name: str, rows: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Net change per counter (a reading that keeps its person's key writes none), each counter written
    -- once and in key order, so a sweep batch and readings touching the same counters never deadlock.
    INSERT INTO roster_counts AS c (grid_id, severity, filled_window_1, filled_window_2, n)
    SELECT g, s, w1, w2, sum(k) FROM ({rows}) x
    GROUP BY g, s, w1, w2 HAVING sum(k) <> 0 ORDER BY g, s, w1, w2
    ON CONFLICT (grid_id, severity, filled_window_1, filled_window_2) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END $$"""


def _pg_rows(table: str, sign: str) -> str:
    return f"SELECT {_key('r', PG_NO_WINDOW, named=True)}, {sign}1 AS k FROM {table} r WHERE r.state = 'active'"


def _pg_statements() -> list[str]:
    inserted = _pg_rows("new_rows", "+")
    deleted = _pg_rows("old_rows", "-")
    return [
        _pg_function("roster_counts_inserted", inserted),
        _pg_function("roster_counts_updated", f"{deleted} UNION ALL {inserted}"),
        _pg_function("roster_counts_deleted", deleted),
        """CREATE TRIGGER subjects_roster_counts_ins AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_inserted()""",
        """CREATE TRIGGER subjects_roster_counts_upd AFTER UPDATE ON subjects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION roster_counts_updated()""",
        """CREATE TRIGGER subjects_roster_counts_del AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_deleted()""",
    ]


PG_DROP = [
    "DROP TRIGGER IF EXISTS subjects_roster_counts_del ON subjects",
    "DROP TRIGGER IF EXISTS subjects_roster_counts_upd ON subjects",
    "DROP TRIGGER IF EXISTS subjects_roster_counts_ins ON subjects",
    "DROP TRIGGER IF EXISTS grids_roster_counts ON grids",
    "DROP FUNCTION IF EXISTS roster_counts_deleted()",
    "DROP FUNCTION IF EXISTS roster_counts_updated()",
    "DROP FUNCTION IF EXISTS roster_counts_inserted()",
    "DROP FUNCTION IF EXISTS roster_counts_grid_added()",
]
SQLITE_TRIGGERS = ("subjects_roster_counts_del", "subjects_roster_counts_upd", "subjects_roster_counts_upd_new",
                   "subjects_roster_counts_ins", "grids_roster_counts")


def _sqlite_add(row: str) -> str:
    return (f"INSERT INTO roster_counts (grid_id, severity, filled_window_1, filled_window_2, n) "
            f"VALUES ({_key(row, SQLITE_NO_WINDOW)}, 1) "
            "ON CONFLICT (grid_id, severity, filled_window_1, filled_window_2) DO UPDATE SET n = n + 1;")


def _sqlite_remove(row: str) -> str:
    return (f"UPDATE roster_counts SET n = n - 1 WHERE (grid_id, severity, filled_window_1, filled_window_2) "
            f"= ({_key(row, SQLITE_NO_WINDOW)});")


def _sqlite_statements() -> list[str]:
    # An update has two triggers, one per side, since a SQLite trigger body has no IF.
    changed = ("OLD.severity IS NOT NEW.severity OR OLD.filled_window_1 IS NOT NEW.filled_window_1 "
               "OR OLD.filled_window_2 IS NOT NEW.filled_window_2 OR OLD.state IS NOT NEW.state "
               "OR OLD.grid_id IS NOT NEW.grid_id")
    columns = "severity, filled_window_1, filled_window_2, state, grid_id"
    return [
        f"""CREATE TRIGGER subjects_roster_counts_ins AFTER INSERT ON subjects WHEN NEW.state = 'active' BEGIN
            {_sqlite_add('NEW')}
        END""",
        f"""CREATE TRIGGER subjects_roster_counts_upd AFTER UPDATE OF {columns} ON subjects
        WHEN OLD.state = 'active' AND ({changed}) BEGIN
            {_sqlite_remove('OLD')}
        END""",
        f"""CREATE TRIGGER subjects_roster_counts_upd_new AFTER UPDATE OF {columns} ON subjects
        WHEN NEW.state = 'active' AND ({changed}) BEGIN
            {_sqlite_add('NEW')}
        END""",
        f"""CREATE TRIGGER subjects_roster_counts_del AFTER DELETE ON subjects WHEN OLD.state = 'active' BEGIN
            {_sqlite_remove('OLD')}
        END""",
    ]


def _create_table() -> None:
    op.create_table(
        "roster_counts",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("filled_window_1", server.db.UTCDateTime(), nullable=False),
        sa.Column("filled_window_2", server.db.UTCDateTime(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_roster_counts_grid_id_grids"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("grid_id", "severity", "filled_window_1", "filled_window_2",
                                name=op.f("pk_roster_counts")),
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for statement in PG_DROP:
            op.execute(statement)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_subjects_roster", table_name="subjects")
    op.drop_index("ix_subjects_grid_roster", table_name="subjects")
    # Plain DROP COLUMN (SQLite 3.35+): a batch table copy would drop the triggers made below.
    op.drop_column("subjects", "status_rank")
    op.drop_table("roster_counts")
    _create_table()
    no_window = PG_NO_WINDOW if postgres else SQLITE_NO_WINDOW
    op.execute(f"INSERT INTO roster_counts (grid_id, severity, filled_window_1, filled_window_2, n) "
               f"SELECT {_key('s', no_window)}, count(*) FROM subjects s WHERE s.state = 'active' "
               f"GROUP BY 1, 2, 3, 4")
    for statement in _pg_statements() if postgres else _sqlite_statements():
        op.execute(statement)
    op.create_index("ix_subjects_roster_abnormal", "subjects", ["severity", "full_name", "id"],
                    postgresql_where=ABNORMAL, sqlite_where=ABNORMAL)
    op.create_index("ix_subjects_grid_roster_abnormal", "subjects", ["grid_id", "severity", "full_name", "id"],
                    postgresql_where=ABNORMAL, sqlite_where=ABNORMAL)
    op.create_index("ix_subjects_roster_calm", "subjects", ["full_name", "id"],
                    postgresql_where=CALM, sqlite_where=CALM)
    op.create_index("ix_subjects_grid_roster_calm", "subjects", ["grid_id", "full_name", "id"],
                    postgresql_where=CALM, sqlite_where=CALM)
    # Covering on PostgreSQL: the people counted one by one are read from the index alone.
    op.create_index("ix_subjects_enrolled_at", "subjects", ["created_at"], postgresql_where=ACTIVE,
                    sqlite_where=ACTIVE, postgresql_include=ONE_BY_ONE)
    op.create_index("ix_subjects_start_date", "subjects", ["start_date"], postgresql_where=ACTIVE,
                    sqlite_where=ACTIVE, postgresql_include=ONE_BY_ONE)


def _sibling(filename: str) -> ModuleType:
    """An earlier revision's module, for the trigger definitions the downgrade restores."""
    spec = importlib.util.spec_from_file_location(f"_homewatch_{filename}", Path(__file__).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for statement in PG_DROP:
            op.execute(statement)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in ("ix_subjects_start_date", "ix_subjects_enrolled_at", "ix_subjects_grid_roster_calm",
                 "ix_subjects_roster_calm", "ix_subjects_grid_roster_abnormal", "ix_subjects_roster_abnormal"):
        op.drop_index(name, table_name="subjects")
    op.drop_table("roster_counts")
    # The stored status comes back as "ok", or "abnormal" for the abnormal group; the old sweep, which
    # compares every row at start-up, puts missed and due back.
    op.add_column("subjects", sa.Column("status_rank", sa.SmallInteger(), server_default=sa.text("3"),
                                        nullable=False))
    op.execute("UPDATE subjects SET status_rank = 0 WHERE severity < 3")
    op.create_index("ix_subjects_roster", "subjects", ["status_rank", "severity", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_subjects_grid_roster", "subjects", ["grid_id", "status_rank", "severity", "full_name", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_table(
        "roster_counts",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_roster_counts_grid_id_grids"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("grid_id", "status_rank", name=op.f("pk_roster_counts")),
    )
    op.execute("INSERT INTO roster_counts (grid_id, status_rank, n) SELECT g.id, r.rank, 0 FROM grids g CROSS JOIN "
               "(SELECT 0 AS rank UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) r")
    op.execute("UPDATE roster_counts SET n = (SELECT count(*) FROM subjects s WHERE s.state = 'active' "
               "AND s.grid_id = roster_counts.grid_id AND s.status_rank = roster_counts.status_rank)")
    counts = _sibling("20261128_0004_roster_counts.py")
    if postgres:
        for statement in counts.POSTGRES_UP:
            op.execute(statement)
        for statement in _sibling("20261130_0006_sweep_in_batches.py").ORDERED:
            op.execute(statement)
    else:
        for statement in counts._sqlite_triggers():
            op.execute(statement)
