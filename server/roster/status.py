"""A subject's status, kept on the subject row.

Two paths write it, and property tests pin that they agree:
- a new reading, alert or check-in re-evaluates one subject in Python (``monitoring.evaluate``);
- time alone (a window opens or closes, a fever ages out) is applied by :func:`sweep_statuses`, which
  compares every stored status with the SQL twins in :mod:`server.roster.rules_sql` and rewrites only
  the rows that differ, so the roster never loads readings.

Nothing stores until when a status holds: the schedule says when windows open and close, and the sweep
runs at every boundary and at least every few minutes between them (for fevers ageing out). Storing it
per row made every boundary rewrite every row just to move that instant on.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from monitoring import (
    Evaluation,
    Rules,
    Status,
    SubjectState,
    SweepParameters,
    evaluate,
    severity,
    sweep_parameters,
)
from monitoring.flags import STATUS_RANK
from server.db import Database
from server.domain_events import emit
from server.models import ACTIVE, Subject
from server.roster import rules_sql

BULK_EVENT_THRESHOLD = 500
# Rows per transaction of the scheduler's sweep: a reading waits at most for one such batch.
SWEEP_BATCH = 2000
STATUS_BY_RANK = {rank: status for status, rank in STATUS_RANK.items()}


def status_of(subject: Subject) -> Status:
    return STATUS_BY_RANK[subject.status_rank]


def subject_state(subject: Subject) -> SubjectState:
    return SubjectState(
        start_date=subject.start_date,
        planned_end_date=subject.planned_end_date,
        released=subject.state != ACTIVE,
        last_reading_at=subject.last_reading_at,
        last_fever_at=subject.last_fever_at,
        last_high_fever_at=subject.last_high_fever_at,
        last_symptoms_at=subject.last_symptoms_at,
        filled_windows=tuple(w for w in (subject.filled_window_1, subject.filled_window_2) if w is not None),
        open_alerts=subject.open_alerts,
        last_checkin_completed_at=subject.last_checkin_completed_at,
        last_checkin_face_seen=subject.last_checkin_face_seen,
        enrolled_at=subject.created_at,
    )


def reevaluate(session: AsyncSession, subject: Subject, *, now: datetime, rules: Rules) -> Evaluation:
    """Recompute one subject's stored status after new data; emits ``subject.status_changed``."""
    state = subject_state(subject)
    evaluation = evaluate(state, now, rules)
    old_rank = subject.status_rank
    subject.status_rank = evaluation.status.rank
    subject.severity = severity(state, now, rules)
    if old_rank != subject.status_rank:
        emit(session, "subject.status_changed", subject_id=str(subject.id), grid_id=subject.grid_id,
             status=evaluation.status.value, previous_status=STATUS_BY_RANK[old_rank].value,
             flags=[f.value for f in evaluation.flags])
    return evaluation


@dataclass(frozen=True, slots=True)
class StatusChange:
    subject_id: uuid.UUID
    grid_id: int
    status: Status


def _differs(p: SweepParameters) -> ColumnElement[bool]:
    return and_(rules_sql.under_observation(),
                or_(Subject.status_rank != rules_sql.status_rank(p), Subject.severity != rules_sql.severity(p)))


def _in_range(after: uuid.UUID | None, upto: uuid.UUID | None) -> list[ColumnElement[bool]]:
    bounds = []
    if after is not None:
        bounds.append(Subject.id > after)
    if upto is not None:
        bounds.append(Subject.id <= upto)
    return bounds


async def _rewrite(session: AsyncSession, p: SweepParameters, where: list[ColumnElement[bool]], *,
                   skip_locked: bool) -> list[StatusChange]:
    """Rewrite the rows matching ``where`` whose status or severity is no longer what the rules say,
    locking them in key order (the order every other multi-row writer uses)."""
    locked = list((await session.scalars(
        select(Subject.id).where(*where, _differs(p)).order_by(Subject.id).with_for_update(skip_locked=skip_locked)
    )).all())
    changes: list[StatusChange] = []
    # The keys as a list, not a subquery: PostgreSQL then updates through the primary key instead of
    # hashing the subquery against a scan of the whole table for every batch.
    for start in range(0, len(locked), SWEEP_BATCH):
        rows = (await session.execute(
            update(Subject).where(Subject.id.in_(locked[start:start + SWEEP_BATCH]))
            .values(status_rank=rules_sql.status_rank(p), severity=rules_sql.severity(p))
            .returning(Subject.id, Subject.grid_id, Subject.status_rank)
            .execution_options(synchronize_session=False)
        )).all()
        changes += [StatusChange(row[0], row[1], STATUS_BY_RANK[row[2]]) for row in rows]
    return changes


def _announce(session: AsyncSession, changes: list[StatusChange]) -> None:
    if len(changes) <= BULK_EVENT_THRESHOLD:
        for change in changes:
            emit(session, "subject.status_changed", subject_id=str(change.subject_id), grid_id=change.grid_id,
                 status=change.status.value)
        return
    # A window boundary can flip most of the district at once: one event per grid tells live rosters to
    # reload instead of flooding every stream with a row per person.
    per_grid = Counter(change.grid_id for change in changes)
    for grid_id in sorted(per_grid):
        emit(session, "roster.refreshed", subject_id=None, grid_id=grid_id, changed=per_grid[grid_id])


async def refresh_stale_statuses(session: AsyncSession, *, now: datetime, rules: Rules) -> list[StatusChange]:
    """Apply the passage of time to every person under observation, in the caller's transaction.

    For a request that must see current statuses when no scheduler runs (development, tests); the
    scheduler uses :func:`sweep_statuses`, which never holds more than one batch of rows at a time."""
    changes = await _rewrite(session, sweep_parameters(now, rules), [], skip_locked=False)
    _announce(session, changes)
    return changes


async def _rewrite_each(db: Database, p: SweepParameters, ids: list[uuid.UUID], batch: int) -> list[StatusChange]:
    """Rewrite the differing rows among ``ids`` a batch per transaction; those held by another
    transaction are skipped, then taken again at the end, waiting this time (the writer may have
    evaluated them at an instant before the sweep's)."""
    changes: list[StatusChange] = []
    for skip_locked in (True, False):
        left: list[uuid.UUID] = []
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            async with db.session() as session:
                changes += await _rewrite(session, p, [Subject.id.in_(chunk)], skip_locked=skip_locked)
                if skip_locked:
                    left += (await session.scalars(select(Subject.id).where(Subject.id.in_(chunk), _differs(p)))).all()
        ids = left
    return changes


async def sweep_statuses(db: Database, *, now: datetime, rules: Rules, batch: int | None = None,
                         abnormal_only: bool = False) -> list[StatusChange]:
    """Apply the passage of time to every person under observation; returns the rows it rewrote.

    The table is walked in primary-key ranges of ``batch`` rows, each range its own short transaction,
    and only rows whose status or severity changes are written (a window opening flips most people to
    due; the rest are not touched). Rows a concurrent writer holds are skipped rather than waited for,
    so a reading never waits behind more than one range; they are taken again at the end, waiting
    this time, because the writer may have evaluated them at an instant before ``now``. Lock order is
    the readings' own: subject rows (here in key order), then the per-grid counters (in key order, by
    their trigger). Running it twice, or from two processes, is harmless: the second finds nothing. A
    writer that evaluated its person before ``now`` but took the row only after its range was done is
    put right by the next full sweep (the scheduler compares every row again a few minutes after each
    boundary).

    ``abnormal_only`` is for wake-ups between boundaries: only the abnormal group is compared."""
    batch = batch or SWEEP_BATCH
    p = sweep_parameters(now, rules)
    if abnormal_only:
        # Between boundaries only fevers and symptoms age out: the abnormal group, read through the
        # roster's index, is all that can have changed.
        async with db.session() as session:
            ids = list((await session.scalars(
                select(Subject.id).where(Subject.status_rank == Status.abnormal.rank, _differs(p)).order_by(Subject.id)
            )).all())
        aged = await _rewrite_each(db, p, ids, batch)
        if aged:
            async with db.session() as session:
                _announce(session, aged)
        return aged
    changes: list[StatusChange] = []
    skipped: list[uuid.UUID] = []
    after: uuid.UUID | None = None
    while True:
        async with db.session() as session:
            # The batch's upper key: an index-only walk of the primary key, whatever the statuses are.
            upto = await session.scalar(
                select(Subject.id).where(*_in_range(after, None)).order_by(Subject.id).offset(batch - 1).limit(1))
            bounds = _in_range(after, upto)
            changes += await _rewrite(session, p, bounds, skip_locked=True)
            # Still different after the rewrite: rows another transaction held.
            skipped += (await session.scalars(select(Subject.id).where(*bounds, _differs(p)))).all()
        if upto is None:
            break
        after = upto
    for start in range(0, len(skipped), batch):
        async with db.session() as session:
            changes += await _rewrite(session, p, [Subject.id.in_(skipped[start:start + batch])], skip_locked=False)
    if changes:
        async with db.session() as session:
            _announce(session, changes)
    return changes
