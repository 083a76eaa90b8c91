"""The daily round: who a grid worker still has to reach for a reading, and the visits and calls that
found nobody.

The list is the roster's own rule (:mod:`server.roster.rules_sql`): people of the caller's areas whose
status is ``due`` (the open window has no reading yet) or ``missed`` (the window that just closed had
none, and no reading has come since it began), one stop per household or address so a worker takes a
stairwell at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, Status, latest_closed_window, sweep_parameters
from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Conflict, Invalid
from server.models import ACTIVE, Subject
from server.models.households import ContactAttempt, Household
from server.roster import rules_sql
from server.roster.service import roster_filters
from server.roster.status import STATUS_BY_RANK
from server.round.schemas import ContactAttemptCreate, ContactAttemptRead, RoundPerson, RoundRead, RoundStop
from server.subjects.service import get_in_scope

ROUND_LIMIT = 500
# Attempts older than this are not shown on the round: one window and the next, not yesterday's.
ATTEMPT_SHOWN_FOR = timedelta(hours=12)
WANTED = (Status.missed.rank, Status.due.rank)


async def round_list(session: AsyncSession, *, staff: Staff, now: datetime, rules: Rules,
                     limit: int = ROUND_LIMIT) -> RoundRead:
    """Everyone of the caller's areas still to be reached in this window or the one just closed, grouped by
    household (or address), the households in address order."""
    p = sweep_parameters(now, rules)
    rank = rules_sql.calm_status_rank(p)
    wanted = [*roster_filters(staff), rules_sql.calm(), rank.in_(WANTED)]
    closed = latest_closed_window(now, rules)
    if closed is not None:
        # Someone who missed the window that just closed but has a reading since it began (taken late, at
        # the door after the window) has been reached: the roster still says missed, the round is done.
        wanted.append(or_(rank != Status.missed.rank, Subject.last_reading_at.is_(None),
                          Subject.last_reading_at < closed.start))
    total = int(await session.scalar(select(func.count()).select_from(Subject).where(*wanted)) or 0)
    door = func.coalesce(Household.address, Subject.address, "")
    rows = (await session.execute(
        select(Subject.id, Subject.full_name, Subject.phone, Subject.address, Subject.household_id,
               Household.address, rank)
        .outerjoin(Household, Household.id == Subject.household_id)
        .where(*wanted).order_by(door, Subject.household_id, Subject.full_name, Subject.id).limit(limit))).all()
    attempts: dict[uuid.UUID, ContactAttempt] = {}
    if rows:
        for attempt in (await session.scalars(
                select(ContactAttempt).where(ContactAttempt.subject_id.in_([r[0] for r in rows]),
                                             ContactAttempt.at > now - ATTEMPT_SHOWN_FOR)
                .order_by(ContactAttempt.at))).all():
            attempts[attempt.subject_id] = attempt
    stops: list[RoundStop] = []
    for subject_id, name, phone, address, household_id, household_address, rank_value in rows:
        key = (household_id, household_address if household_id else address)
        if not stops or (stops[-1].household_id, stops[-1].address) != key:
            stops.append(RoundStop(household_id=key[0], address=key[1], people=[]))
        last = attempts.get(subject_id)
        stops[-1].people.append(RoundPerson(
            subject_id=subject_id, full_name=name, phone=phone, address=address,
            status=STATUS_BY_RANK[rank_value].value,
            last_attempt=ContactAttemptRead.model_validate(last) if last else None))
    return RoundRead(total=total, stops=stops)


async def record_attempt(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: ContactAttemptCreate,
                         now: datetime) -> tuple[ContactAttempt, bool]:
    """A visit or call that found nobody. With the client's ``id``, a repeat (a phone sending its queue
    again) returns the first one unchanged: ``created`` is False."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    if body.id is not None:
        earlier = await session.get(ContactAttempt, body.id)
        if earlier is not None:
            if earlier.subject_id != subject.id:
                raise Conflict("This id belongs to another record.")
            return earlier, False
    if subject.state != ACTIVE:
        raise Conflict("This person is no longer under observation.")
    at = body.at or now
    if at.tzinfo is None:
        raise Invalid("Give the time with its offset.")
    if at > now + timedelta(minutes=5):
        raise Invalid("The time lies in the future.")
    attempt = ContactAttempt(id=body.id or uuid.uuid4(), subject_id=subject.id, kind=body.kind, outcome=body.outcome,
                             note=body.note, at=at, recorded_by=staff.db_user_id)
    session.add(attempt)
    await session.flush()
    audit.record(session, staff, "subject.contact_attempted", subject_id=subject.id, kind=body.kind,
                 outcome=body.outcome)
    return attempt, True


async def attempts_for(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID,
                       limit: int = 50) -> list[ContactAttempt]:
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    return list((await session.scalars(select(ContactAttempt).where(ContactAttempt.subject_id == subject.id)
                                       .order_by(ContactAttempt.at.desc()).limit(limit))).all())
