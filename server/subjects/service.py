"""Enrolment and the subject record."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, evaluate, local_date, observation_day, planned_end_date
from server.audit import service as audit
from server.auth.principal import Staff
from server.auth.security import hash_access_code, new_access_code
from server.domain_events import emit
from server.errors import Invalid, NotFound
from server.models import ACTIVE, Grid, Subject
from server.roster.status import reevaluate, subject_state
from server.subjects.schemas import LastReading, SubjectCreate, SubjectRead


def mask_id_number(value: str | None) -> str | None:
    """PIPL: national ID numbers are sensitive; staff screens only ever show a masked form."""
    if not value:
        return None
    if len(value) <= 7:
        return value[0] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def access_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/s/{code}"


async def enrol(
    session: AsyncSession, *, actor: Staff, body: SubjectCreate, rules: Rules, now: datetime
) -> tuple[Subject, str]:
    """Create a subject; returns it with its access code, which exists only in this answer."""
    grid = await session.get(Grid, body.grid_id)
    if grid is None:
        raise Invalid("No grid with id {grid_id}.", grid_id=body.grid_id)
    start = body.start_date or local_date(now, rules)
    duration = body.duration_days or rules.observation_days
    code = new_access_code()
    subject = Subject(
        id=uuid.uuid4(),
        grid_id=grid.id,
        full_name=body.full_name,
        phone=body.phone,
        observation_type=body.observation_type,
        reason=body.reason,
        start_date=start,
        duration_days=duration,
        planned_end_date=planned_end_date(start, duration),
        address=body.address,
        id_number=body.id_number,
        date_of_birth=body.date_of_birth,
        language=body.language,
        access_code_hash=hash_access_code(code),
        access_code_version=1,
        access_code_issued_at=now,
        state=ACTIVE,
        open_alerts=0,
        created_at=now,
        created_by=actor.db_user_id,
        release_override=False,
    )
    evaluation = reevaluate(session, subject, now=now, rules=rules)
    session.add(subject)
    await session.flush()
    audit.record(session, actor, "subject.enrolled", subject_id=subject.id, grid_id=grid.id)
    emit(session, "subject.enrolled", subject_id=str(subject.id), grid_id=grid.id,
         status=evaluation.status.value, flags=[])
    return subject, code


def _locked(query: Select[Subject]) -> Select[Subject]:
    # Re-read under the lock: an object already in the session may hold values another transaction
    # has since changed, and a summary written from them would undo that change.
    return query.with_for_update().execution_options(populate_existing=True)


async def lock_subject(session: AsyncSession, subject_id: uuid.UUID) -> Subject:
    """The subject's row, locked ``FOR UPDATE`` until the transaction ends and freshly read: the one
    way to get a subject whose summary columns (readings, alerts, check-ins, status) are about to change."""
    subject = await session.scalar(_locked(select(Subject).where(Subject.id == subject_id)))
    if subject is None:
        raise NotFound("No such person.")
    return subject


async def get_in_scope(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID,
                       for_update: bool = False) -> Subject:
    """The one way staff reach a subject: out-of-scope and unknown look the same (404)."""
    query = select(Subject).where(Subject.id == subject_id, staff.subject_filter())
    subject = await session.scalar(_locked(query) if for_update else query)
    if subject is None:
        raise NotFound("No such person in your grids.")
    return subject


async def look_at(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID,
                  action: str = "subject.viewed") -> Subject:
    """A staff member looks at a person's record or part of it: the one way such a look happens, so
    every one is recorded in the audit log as ``action``."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    audit.record(session, staff, action, subject_id=subject.id)
    return subject


async def update_note(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, note: str) -> Subject:
    """Replace the clinicians' free-text note on a person (blank clears it)."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    subject.clinician_note = note.strip() or None
    audit.record(session, staff, "subject.note_updated", subject_id=subject.id)
    return subject


async def full_names(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not subject_ids:
        return {}
    rows = await session.execute(select(Subject.id, Subject.full_name).where(Subject.id.in_(subject_ids)))
    return {subject_id: name for subject_id, name in rows.all()}


async def reissue_access_code(session: AsyncSession, *, actor: Staff, subject: Subject, now: datetime) -> str:
    code = new_access_code()
    subject.access_code_hash = hash_access_code(code)
    # Bumping the version revokes the old link and every token signed in with it.
    subject.access_code_version += 1
    subject.access_code_issued_at = now
    audit.record(session, actor, "subject.access_code_reissued", subject_id=subject.id,
                 version=subject.access_code_version)
    return code


def last_reading(subject: Subject) -> LastReading | None:
    """The newest reading as kept on the subject row (the readings table is not read)."""
    if subject.last_reading_at is None or subject.last_temperature_c is None:
        return None
    return LastReading(temperature_c=subject.last_temperature_c, taken_at=subject.last_reading_at)


def to_read(subject: Subject, *, now: datetime, rules: Rules) -> SubjectRead:
    active = subject.state == ACTIVE
    evaluation = evaluate(subject_state(subject), now, rules, video_rules=True) if active else None
    return SubjectRead(
        id=subject.id,
        grid_id=subject.grid_id,
        full_name=subject.full_name,
        phone=subject.phone,
        observation_type=subject.observation_type,
        reason=subject.reason,
        start_date=subject.start_date,
        duration_days=subject.duration_days,
        planned_end_date=subject.planned_end_date,
        address=subject.address,
        id_number_masked=mask_id_number(subject.id_number),
        date_of_birth=subject.date_of_birth,
        language=subject.language,
        status="active" if active else "released",
        roster_status=evaluation.status.value if evaluation else None,
        flags=[f.value for f in evaluation.flags] if evaluation else [],
        observation_day=observation_day(subject.start_date, now, rules),
        last_reading=last_reading(subject),
        open_alerts=subject.open_alerts,
        released_at=subject.released_at,
        release_note=subject.release_note,
        release_override=subject.release_override,
        clinician_note=subject.clinician_note,
        created_at=subject.created_at,
    )
