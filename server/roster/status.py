"""A subject's status, kept on the subject row.

Two paths write it, and a property test pins that they agree:
- a new reading, alert or check-in re-evaluates one subject in Python (``monitoring.evaluate``);
- time alone (a window opens or closes, a fever ages out) is applied by :func:`refresh_stale_statuses`,
  one SQL statement over the rows whose ``status_valid_until`` has passed, so the roster never loads
  readings and a million subjects cost one indexed UPDATE at each window boundary. Its expressions are
  the SQL twins in :mod:`server.roster.rules_sql`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import (
    Evaluation,
    Rules,
    Status,
    SubjectState,
    abnormal_until,
    evaluate,
    severity,
    sweep_parameters,
)
from monitoring.flags import STATUS_RANK
from server.db import dialect_of
from server.domain_events import emit
from server.models import ACTIVE, Subject
from server.roster import rules_sql

BULK_EVENT_THRESHOLD = 500
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
    subject.status_valid_until = evaluation.status_valid_until
    subject.abnormal_until = abnormal_until(state, rules)
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


async def refresh_stale_statuses(session: AsyncSession, *, now: datetime, rules: Rules) -> list[StatusChange]:
    """Apply the passage of time to every active subject whose stored status may be out of date.

    Returns the subjects whose status changed (and queues their events). Safe to run from several
    processes at once: the UPDATEs are idempotent and row locks serialise them."""
    p = sweep_parameters(now, rules)
    rank, severity_sql = rules_sql.status_rank(p), rules_sql.severity(p)
    valid_until = rules_sql.status_valid_until(p, dialect_of(session))
    stale = and_(rules_sql.under_observation(), Subject.status_valid_until <= now)
    changed_rows = (
        await session.execute(
            update(Subject)
            .where(stale, or_(Subject.status_rank != rank, Subject.severity != severity_sql))
            .values(status_rank=rank, severity=severity_sql, status_valid_until=valid_until)
            .returning(Subject.id, Subject.grid_id, Subject.status_rank)
            .execution_options(synchronize_session=False)
        )
    ).all()
    await session.execute(
        update(Subject).where(stale).values(status_valid_until=valid_until)
        .execution_options(synchronize_session=False)
    )
    changes = [StatusChange(row[0], row[1], STATUS_BY_RANK[row[2]]) for row in changed_rows]
    if len(changes) <= BULK_EVENT_THRESHOLD:
        for change in changes:
            emit(session, "subject.status_changed", subject_id=str(change.subject_id), grid_id=change.grid_id,
                 status=change.status.value)
    else:
        # A window boundary can flip most of the district at once: one event per grid tells live
        # rosters to reload instead of flooding every stream with a row per person.
        for grid_id in sorted({c.grid_id for c in changes}):
            emit(session, "roster.refreshed", subject_id=None, grid_id=grid_id,
                 changed=sum(1 for c in changes if c.grid_id == grid_id))
    return changes
