"""a call-back request is a roster flag of its own: stored on the person, ranked after symptoms

The severity gains a level for an unhandled call-back request between symptoms and nothing abnormal.
Nothing-abnormal stays 3 (the partial indexes and the counters' triggers carry ``< 3`` and ``= 3``), so
the abnormal levels move down by one: a positive test -1 → -2, high fever 0 → -1, fever 1 → 0,
symptoms 2 → 1. Only the few rows that need attention are rewritten, most severe first so no two levels
ever share a value mid-way; the counters follow through their triggers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLBACK = 2
NONE = 3


def upgrade() -> None:
    op.add_column("subjects", sa.Column("callback_requested_at", server.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE subjects SET callback_requested_at = (SELECT max(a.opened_at) FROM alerts a "
               "WHERE a.subject_id = subjects.id AND a.kind = 'callback_request' AND a.status = 'open') "
               "WHERE open_alerts > 0")
    for old in (-1, 0, 1, 2):
        op.execute(f"UPDATE subjects SET severity = {old - 1} WHERE severity = {old}")
    op.execute(f"UPDATE subjects SET severity = {CALLBACK} "
               f"WHERE severity = {NONE} AND callback_requested_at IS NOT NULL AND state = 'active'")


def downgrade() -> None:
    op.execute(f"UPDATE subjects SET severity = {NONE} WHERE severity = {CALLBACK}")
    for new in (1, 0, -1, -2):
        op.execute(f"UPDATE subjects SET severity = {new + 1} WHERE severity = {new}")
    op.drop_column("subjects", "callback_requested_at")
