"""Enrolment and the subject record."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Reason, Rules, evaluate, local_date, observation_day
from monitoring.course import Identity, duplicate_of, enrolment_end, extend
from server.audit import service as audit
from server.auth.principal import Staff
from server.auth.security import hash_access_code, new_access_code
from server.domain_events import emit
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.models import ACTIVE, Grid, Subject
from server.models.case import Site
from server.models.households import Household
from server.roster.status import reevaluate, subject_state
from server.subjects.schemas import (
    CLINICIAN_EDITABLE,
    ExtendCreate,
    LastReading,
    SubjectCreate,
    SubjectRead,
    SubjectState,
    SubjectUpdate,
)


class Duplicate(Conflict):
    """The person is already under observation; ``existing_subject_id`` only when the caller may see it."""

    error = "duplicate"


def mask_id_number(value: str | None) -> str | None:
    """PIPL: national ID numbers are sensitive; staff screens only ever show a masked form."""
    if not value:
        return None
    if len(value) <= 7:
        return value[0] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def access_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/s/{code}"


def identity(subject: Subject | SubjectCreate) -> Identity:
    return Identity(full_name=subject.full_name, phone=subject.phone, id_number=subject.id_number)


async def find_duplicates(session: AsyncSession, people: list[Identity]) -> list[tuple[Subject, str] | None]:
    """For each person, someone already under observation who is the same person (and why), or None.
    One query for the whole list: candidates by ID number or phone (both indexed), then the rule of
    :func:`monitoring.course.duplicate_of` decides."""
    phones = {p.phone for p in people}
    id_numbers = {p.id_number for p in people if p.id_number}
    candidates: list[Subject] = []
    if people:
        match: ColumnElement[bool] = Subject.phone.in_(sorted(phones))
        if id_numbers:
            match = match | Subject.id_number.in_(sorted(id_numbers))
        candidates = list((await session.scalars(
            select(Subject).where(Subject.state == ACTIVE, match).order_by(Subject.created_at, Subject.id))).all())
    found: list[tuple[Subject, str] | None] = []
    for person in people:
        hit = next(((c, why) for c in candidates if (why := duplicate_of(person, identity(c)))), None)
        found.append(hit)
    return found


def duplicate_error(actor: Staff, existing: Subject, why: str) -> Duplicate:
    extra = {"existing_subject_id": str(existing.id)} if actor.sees_grid(existing.grid_id) else {}
    if why == "id_number":
        return Duplicate("Someone with this ID number is already under observation.", extra=extra)
    return Duplicate("Someone with this name and phone number is already under observation.", extra=extra)


async def enrol(
    session: AsyncSession, *, actor: Staff, body: SubjectCreate, rules: Rules, now: datetime,
    duplicates_checked: bool = False,
) -> tuple[Subject, str]:
    """Create a subject; returns it with its access code, which exists only in this answer. Refuses a
    person already under observation (:class:`Duplicate`) unless ``body.allow_duplicate``."""
    grid = await session.get(Grid, body.grid_id)
    if grid is None:
        raise Invalid("No grid with id {grid_id}.", grid_id=body.grid_id)
    today = local_date(now, rules)
    if body.last_exposure_date is not None and body.last_exposure_date > today:
        raise Invalid("The last exposure date cannot be in the future.")
    if body.site_id is not None and await session.get(Site, body.site_id) is None:
        raise Invalid("No site with id {site_id}.", site_id=body.site_id)
    if body.household_id is not None:
        await check_household(session, household_id=body.household_id, grid_id=grid.id)
    duplicate = None if duplicates_checked else (await find_duplicates(session, [identity(body)]))[0]
    if duplicate is not None and not body.allow_duplicate:
        raise duplicate_error(actor, *duplicate)
    start = body.start_date or today
    end = enrolment_end(start, body.duration_days or rules.observation_days, body.last_exposure_date, rules)
    duration = (end - start).days
    if duration < 1:
        raise Invalid("Counted from the last exposure the observation would already be over; "
                      "no enrolment is needed.")
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
        planned_end_date=end,
        last_exposure_date=body.last_exposure_date,
        site_id=body.site_id,
        room=body.room,
        household_id=body.household_id,
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
    if duplicate is not None:
        audit.record(session, actor, "subject.enrolled", subject_id=subject.id, grid_id=grid.id,
                     duplicate_of=str(duplicate[0].id), duplicate_because=duplicate[1])
    else:
        audit.record(session, actor, "subject.enrolled", subject_id=subject.id, grid_id=grid.id)
    emit(session, "subject.enrolled", subject_id=str(subject.id), grid_id=grid.id,
         status=evaluation.status.value, flags=[])
    return subject, code


async def check_household(session: AsyncSession, *, household_id: uuid.UUID, grid_id: int) -> Household:
    """The household a person is put in: it must exist and be in the person's grid."""
    household = await session.get(Household, household_id)
    if household is None or household.grid_id != grid_id:
        raise Invalid("No household with id {household_id} in this person's grid.", household_id=str(household_id))
    return household


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


def _(message: str) -> str:
    """Marks a message template for the catalogue; the error handler translates it."""
    return message


_MASKED_IN_AUDIT = {"id_number": mask_id_number}


def _audit_value(field: str, value: object) -> object:
    if value is None:
        return None
    if field in _MASKED_IN_AUDIT:
        return _MASKED_IN_AUDIT[field](str(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.isoformat() if isinstance(value, date) else value


REQUIRED_ON_RECORD = {
    "full_name": _("A record needs a name; it cannot be cleared."),
    "phone": _("A record needs a phone number; it cannot be cleared."),
    "observation_type": _("A record needs the place of observation; it cannot be cleared."),
}


async def correct(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: SubjectUpdate,
                  now: datetime) -> Subject:
    """Correct a record: only the fields sent change, each change audited with its old and new value.
    Clinicians correct contact details of people in their grids; the rest is an administrator's."""
    sent = body.model_fields_set
    if not staff.is_admin and sent - CLINICIAN_EDITABLE:
        raise Forbidden("Only an administrator may change {fields}.",
                        fields=", ".join(sorted(sent - CLINICIAN_EDITABLE)))
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    if body.site_id is not None and await session.get(Site, body.site_id) is None:
        raise Invalid("No site with id {site_id}.", site_id=body.site_id)
    if body.household_id is not None:
        await check_household(session, household_id=body.household_id, grid_id=subject.grid_id)
    changes: dict[str, list[object]] = {}
    for field in sorted(sent):
        value = getattr(body, field)
        if value is None and field in REQUIRED_ON_RECORD:
            raise Invalid(REQUIRED_ON_RECORD[field])
        old = getattr(subject, field)
        if old != value:
            changes[field] = [_audit_value(field, old), _audit_value(field, value)]
            setattr(subject, field, value)
    if changes:
        audit.record(session, staff, "subject.corrected", subject_id=subject.id, changes=changes)
        emit(session, "subject.updated", subject_id=str(subject.id), grid_id=subject.grid_id,
             fields=sorted(changes))
    return subject


# monitoring.course's refusals as message templates (the catalogue's msgids).
EXTENSION_REFUSED = {
    "extension_needs_one": _("Give either a number of days or a new last exposure date."),
    "extension_days": _("An extension is 1 to {max} days."),
    "exposure_in_future": _("The last exposure date cannot be in the future."),
    "extension_not_later": _("Counted from that exposure the observation would end on {new_end}, not after the "
                             "planned end {current_end}."),
}


async def extend_observation(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: ExtendCreate,
                             rules: Rules, now: datetime) -> Subject:
    """Move the planned end later (never earlier) by days or from a new last exposure."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    if subject.state != ACTIVE:
        raise Conflict("This person is no longer under observation.")
    result = extend(start_date=subject.start_date, current_end=subject.planned_end_date, days=body.days,
                    last_exposure_date=body.last_exposure_date, today=local_date(now, rules), rules=rules)
    if isinstance(result, Reason):
        params: dict[str, Any] = dict(result.params)
        raise Invalid(EXTENSION_REFUSED[result.code], **params)
    old_end = subject.planned_end_date
    subject.planned_end_date = result.new_end
    subject.duration_days = result.duration_days
    if body.last_exposure_date is not None:
        subject.last_exposure_date = body.last_exposure_date
    subject.end_date_reason = body.reason
    evaluation = reevaluate(session, subject, now=now, rules=rules)
    audit.record(session, staff, "subject.extended", subject_id=subject.id, old_end=old_end.isoformat(),
                 new_end=result.new_end.isoformat(), days=body.days,
                 last_exposure_date=body.last_exposure_date.isoformat() if body.last_exposure_date else None,
                 reason=body.reason)
    emit(session, "subject.extended", subject_id=str(subject.id), grid_id=subject.grid_id,
         status=evaluation.status.value, planned_end_date=result.new_end.isoformat())
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


_STATES: dict[str, SubjectState] = {"active": "active", "released": "released", "closed": "closed"}


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
        last_exposure_date=subject.last_exposure_date,
        end_date_reason=subject.end_date_reason,
        address=subject.address,
        id_number_masked=mask_id_number(subject.id_number),
        date_of_birth=subject.date_of_birth,
        language=subject.language,
        status=_STATES[subject.state],
        outcome=subject.outcome,
        site_id=subject.site_id,
        room=subject.room,
        household_id=subject.household_id,
        case_flag=subject.case_flag,
        test_state=subject.test_state,
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
