"""the window-boundary sweep in batches: no stored "valid until", counters locked in key order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:00:00

The status sweep used to find its work through ``status_valid_until`` and rewrite that column on every
row at every window boundary (a million rows, twice, four times a day). It now compares each stored
status with the rules in batches and writes only the rows that change, so neither that column nor
``abnormal_until`` (which only fed it) is read any more.

Readings and the sweep both end in the statement trigger that adjusts ``roster_counts``; it locked the
counter rows in whatever order its join produced, so a sweep batch and a reading touching the same two
counters in opposite order could deadlock. The trigger functions now lock the counters they adjust in
key order first.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("state = 'active'")


def _function(name: str, delta: str, sign: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Lock the counters first, in key order, so that two transactions adjusting the same counters
    -- (a sweep batch and a reading) queue one behind the other instead of deadlocking.
    PERFORM 1 FROM roster_counts c
    WHERE (c.grid_id, c.status_rank) IN (SELECT d.grid_id, d.status_rank FROM ({delta}) d)
    ORDER BY c.grid_id, c.status_rank FOR UPDATE;
    UPDATE roster_counts c SET n = c.n {sign} d.k
    FROM ({delta}) d
    WHERE c.grid_id = d.grid_id AND c.status_rank = d.status_rank;
    RETURN NULL;
END $$"""


INSERTED = "SELECT grid_id, status_rank, count(*) AS k FROM new_rows WHERE state = 'active' GROUP BY 1, 2"
DELETED = "SELECT grid_id, status_rank, count(*) AS k FROM old_rows WHERE state = 'active' GROUP BY 1, 2"
# Net change per counter: a reading that leaves the status as it was writes no counter at all.
UPDATED = """SELECT grid_id, status_rank, sum(k) AS k FROM (
            SELECT grid_id, status_rank, -1 AS k FROM old_rows WHERE state = 'active'
            UNION ALL
            SELECT grid_id, status_rank, 1 AS k FROM new_rows WHERE state = 'active'
        ) x GROUP BY 1, 2 HAVING sum(k) <> 0"""

ORDERED = [
    _function("roster_counts_inserted", INSERTED, "+"),
    _function("roster_counts_updated", UPDATED, "+"),
    _function("roster_counts_deleted", DELETED, "-"),
]


def _unordered(name: str, delta: str, sign: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster_counts c SET n = c.n {sign} d.k
    FROM ({delta}) d
    WHERE c.grid_id = d.grid_id AND c.status_rank = d.status_rank;
    RETURN NULL;
END $$"""


UNORDERED = [
    _unordered("roster_counts_inserted", INSERTED, "+"),
    _unordered("roster_counts_updated", UPDATED, "+"),
    _unordered("roster_counts_deleted", DELETED, "-"),
]


def upgrade() -> None:
    op.drop_index("ix_subjects_status_valid_until", table_name="subjects")
    # Plain DROP COLUMN (SQLite 3.35+): a batch table copy would drop the roster-count triggers of 0004.
    op.drop_column("subjects", "status_valid_until")
    op.drop_column("subjects", "abnormal_until")
    if op.get_bind().dialect.name == "postgresql":
        for statement in ORDERED:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UNORDERED:
            op.execute(statement)
    op.add_column("subjects", sa.Column("abnormal_until", server.db.UTCDateTime(), nullable=True))
    op.add_column("subjects", sa.Column("status_valid_until", server.db.UTCDateTime(), nullable=True))
    op.create_index("ix_subjects_status_valid_until", "subjects", ["status_valid_until"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    # The old sweep finds its work through these columns: make every status stale, and restore the
    # fever horizon with the default lookback of 24 hours.
    op.execute("UPDATE subjects SET status_valid_until = '2000-01-01 00:00:00.000000'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE subjects SET abnormal_until = "
                   "greatest(last_fever_at, last_high_fever_at, last_symptoms_at) + interval '24 hours'")
    else:
        latest = "max(coalesce(last_fever_at, ''), coalesce(last_high_fever_at, ''), coalesce(last_symptoms_at, ''))"
        op.execute(f"UPDATE subjects SET abnormal_until = datetime(substr({latest}, 1, 19), '+86400 seconds') "
                   f"|| substr({latest}, 20) WHERE {latest} <> ''")
