"""What is stored of a subject's status, and how time is applied to it.

Only what readings, alerts and check-ins change is stored: the filled windows, the fever and symptom
times, the call-back request, and the severity (``monitoring.severity``: below 3 the group that needs
attention, 3 nothing abnormal).
Missed and due change whenever a window opens or closes, for nearly everyone at once; they are derived
at read time from the filled windows and the clock by the SQL twins in :mod:`server.roster.rules_sql`
(the roster, its filters, order and counts) or by ``monitoring.evaluate`` (one person). Storing them made
every window boundary rewrite nearly every row (930,000 at a million people, 334 s measured under load).

Two paths write the severity, and property tests pin that they agree:
- a new reading, alert or check-in re-evaluates one subject in Python (:func:`reevaluate`);
- fevers and symptoms ageing out are applied by :func:`sweep_statuses`, which compares only the
  abnormal group (the clock can only lower a severity) and rewrites only the rows that differ. A window
  boundary therefore writes nothing but what ages out then; the scheduler announces it to live rosters
  with one ``roster.refreshed`` per grid (:func:`announce_boundary`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.base import NO_VALUE
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
from server.models import ACTIVE, RosterCount, Subject
from server.roster import rules_sql

BULK_EVENT_THRESHOLD = 500
# Rows per transaction of the scheduler's sweep: a reading waits at most for one such batch.
SWEEP_BATCH = 2000
STATUS_BY_RANK = {rank: status for status, rank in STATUS_RANK.items()}


def subject_state(subject: Subject) -> SubjectState:
    return _state(subject, {})


def _state(subject: Subject, overrides: dict[str, Any]) -> SubjectState:
    def value(name: str) -> Any:
        return overrides.get(name, getattr(subject, name))

    w1, w2 = value("filled_window_1"), value("filled_window_2")
    return SubjectState(
        start_date=value("start_date"),
        planned_end_date=value("planned_end_date"),
        released=value("state") != ACTIVE,
        last_reading_at=value("last_reading_at"),
        last_fever_at=value("last_fever_at"),
        last_high_fever_at=value("last_high_fever_at"),
        last_symptoms_at=value("last_symptoms_at"),
        filled_windows=tuple(w for w in (w1, w2) if w is not None),
        open_alerts=value("open_alerts"),
        last_checkin_completed_at=value("last_checkin_completed_at"),
        last_checkin_face_seen=value("last_checkin_face_seen"),
        enrolled_at=value("created_at"),
        test_positive=value("test_state") == "positive",
        callback_requested=value("callback_requested_at") is not None,
    )


def _state_before_changes(subject: Subject) -> SubjectState:
    """The subject as loaded, before the changes this transaction made to it and has not flushed."""
    committed = {name: value for name, value in sa_inspect(subject).committed_state.items()
                 if value is not NO_VALUE}
    return _state(subject, committed)


def reevaluate(session: AsyncSession, subject: Subject, *, now: datetime, rules: Rules) -> Evaluation:
    """Store one subject's severity after new data; emits ``subject.status_changed`` when the status it
    had at ``now`` before the change differs from the one it has after."""
    before = evaluate(_state_before_changes(subject), now, rules).status
    state = subject_state(subject)
    evaluation = evaluate(state, now, rules)
    subject.severity = severity(state, now, rules)
    if before is not evaluation.status:
        emit(session, "subject.status_changed", subject_id=str(subject.id), grid_id=subject.grid_id,
             status=evaluation.status.value, previous_status=before.value,
             flags=[f.value for f in evaluation.flags])
    return evaluation


@dataclass(frozen=True, slots=True)
class StatusChange:
    subject_id: uuid.UUID
    grid_id: int
    status: Status


def _in_range(after: uuid.UUID | None, upto: uuid.UUID | None) -> list[ColumnElement[bool]]:
    bounds = []
    if after is not None:
        bounds.append(Subject.id > after)
    if upto is not None:
        bounds.append(Subject.id <= upto)
    return bounds


def _differs(p: SweepParameters) -> ColumnElement[bool]:
    return and_(rules_sql.under_observation(), Subject.severity != rules_sql.severity(p))


async def _rewrite(session: AsyncSession, p: SweepParameters, where: list[ColumnElement[bool]], *,
                   skip_locked: bool) -> list[StatusChange]:
    """Rewrite the severity of the rows matching ``where`` where it is no longer what the rules say,
    locking them in key order (the order every other multi-row writer uses)."""
    locked = list((await session.scalars(
        select(Subject.id).where(*where, _differs(p)).order_by(Subject.id).with_for_update(skip_locked=skip_locked)
    )).all())
    changes: list[StatusChange] = []
    # The keys as a list, not a subquery: PostgreSQL then updates through the primary key.
    for start in range(0, len(locked), SWEEP_BATCH):
        chunk = locked[start:start + SWEEP_BATCH]
        await session.execute(update(Subject).where(Subject.id.in_(chunk)).values(severity=rules_sql.severity(p))
                              .execution_options(synchronize_session=False))
        # The status read back after the write (a RETURNING of the derived status gave wrong answers in
        # the twin tests; a plain SELECT in the same transaction is what they pin).
        rows = (await session.execute(select(Subject.id, Subject.grid_id, rules_sql.status_rank(p))
                                      .where(Subject.id.in_(chunk)).order_by(Subject.id))).all()
        changes += [StatusChange(row[0], row[1], STATUS_BY_RANK[row[2]]) for row in rows]
    return changes


def _announce(session: AsyncSession, changes: list[StatusChange]) -> None:
    if len(changes) <= BULK_EVENT_THRESHOLD:
        for change in changes:
            emit(session, "subject.status_changed", subject_id=str(change.subject_id), grid_id=change.grid_id,
                 status=change.status.value)
        return
    per_grid = Counter(change.grid_id for change in changes)
    for grid_id in sorted(per_grid):
        emit(session, "roster.refreshed", subject_id=None, grid_id=grid_id, changed=per_grid[grid_id])


async def announce_boundary(db: Database) -> int:
    """A window opened or closed: tell every grid's live rosters to reload, since derived statuses
    changed without any row being written (one event per grid, not one per person). Returns the grids."""
    async with db.session() as session:
        grids = list((await session.scalars(
            select(RosterCount.grid_id).where(RosterCount.n > 0).distinct().order_by(RosterCount.grid_id))).all())
        for grid_id in grids:
            emit(session, "roster.refreshed", subject_id=None, grid_id=grid_id, changed=None)
    return len(grids)


async def refresh_stale_statuses(session: AsyncSession, *, now: datetime, rules: Rules) -> list[StatusChange]:
    """Age out fevers and symptoms in the caller's transaction: for a request that must see current
    severities when no scheduler runs (development, tests). Only the abnormal group can have changed."""
    p = sweep_parameters(now, rules)
    changes = await _rewrite(session, p, [rules_sql.abnormal()], skip_locked=False)
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
                         everyone: bool = False) -> list[StatusChange]:
    """Age out fevers and symptoms: rewrite the severity of every person under observation whose stored
    one is no longer the rules' at ``now``; returns the rows it wrote.

    The clock can only lower a severity, so only the abnormal group is compared, read through its
    index, a few thousand rows at most. A window boundary changes no stored value: missed and due are
    derived at read time. Rows are written ``batch`` at a time, each batch its own short transaction,
    in key order (the readings' own lock order: subject rows, then the counters in key order by their
    trigger); rows a reading holds are skipped rather than waited for, so a reading never waits behind
    more than one batch, and taken again at the end, waiting this time, because the reading may have
    evaluated them at an instant before ``now``. Running it twice, or from two processes, is harmless.

    ``everyone`` compares every row (primary-key ranges) instead: for data loaded around the app, such
    as the benchmarks' bulk loads, whose severities nobody computed."""
    batch = batch or SWEEP_BATCH
    p = sweep_parameters(now, rules)
    if not everyone:
        async with db.session() as session:
            ids = list((await session.scalars(
                select(Subject.id).where(rules_sql.abnormal(), _differs(p)).order_by(Subject.id))).all())
        changes = await _rewrite_each(db, p, ids, batch)
    else:
        changes = []
        skipped: list[uuid.UUID] = []
        after: uuid.UUID | None = None
        while True:
            async with db.session() as session:
                upto = await session.scalar(
                    select(Subject.id).where(*_in_range(after, None)).order_by(Subject.id).offset(batch - 1).limit(1))
                bounds = _in_range(after, upto)
                changes += await _rewrite(session, p, bounds, skip_locked=True)
                skipped += (await session.scalars(select(Subject.id).where(*bounds, _differs(p)))).all()
            if upto is None:
                break
            after = upto
        changes += await _rewrite_each(db, p, skipped, batch)
    if changes:
        async with db.session() as session:
            _announce(session, changes)
    return changes
