"""Storing a temperature reading: validate, keep the subject's summary current, open alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import (
    ReadingRejected,
    Rules,
    TemperatureClass,
    apply_reading,
    check_taken_at,
    classify,
    normalise_symptoms,
    normalise_temperature,
    window_for,
)
from server.alerts.service import open_alert
from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.db import after_commit, dialect_of
from server.domain_events import emit
from server.errors import Conflict, Invalid
from server.metrics import READINGS
from server.models import ACTIVE, Reading, Subject
from server.readings.schemas import ReadingCreate
from server.roster.status import reevaluate, subject_state
from server.subjects.service import lock_subject, look_at

ALERT_KIND = {TemperatureClass.high_fever: "high_fever", TemperatureClass.fever: "fever"}


def reading_rejected(error: ReadingRejected) -> Invalid:
    # The rules speak English; the catalogue is keyed by the rule's code so pages can translate it.
    return Invalid(error.message, extra={"code": error.code, "params": {k: str(v) for k, v in error.params.items()}})


async def add_reading(
    session: AsyncSession,
    *,
    subject: Subject,
    actor: Actor,
    body: ReadingCreate,
    rules: Rules,
    now: datetime,
    source: str = "self",
    entered_by: int | None = None,
    checkin_id: uuid.UUID | None = None,
    subject_locked: bool = False,
    staff_channels: tuple[str, ...] = (),
) -> tuple[Reading, bool]:
    """Store one reading; returns it and whether it is new (a retried id returns the stored one).

    ``subject_locked`` says the caller already holds the subject row ``FOR UPDATE``."""
    if body.id is not None:
        existing = await session.get(Reading, body.id)
        if existing is not None:
            return await _stored_before(session, reading_id=body.id, subject=subject), False
    if subject.state != ACTIVE:
        raise Conflict("Observation has ended for this person; no new readings are taken.")
    try:
        temperature = normalise_temperature(body.temperature_c, rules)
        symptoms = normalise_symptoms(body.symptoms, body.note)
        taken_at = check_taken_at(body.taken_at or now, now, rules)
    except ReadingRejected as error:
        raise reading_rejected(error) from error

    if not subject_locked:
        # Two readings at once must not both read and rewrite the same summary.
        subject = await lock_subject(session, subject.id)

    temperature_class = classify(temperature, rules)
    window = window_for(taken_at, rules)
    reading_id = body.id or uuid.uuid4()
    values = {
        "id": reading_id,
        "subject_id": subject.id,
        "temperature_c": temperature,
        "taken_at": taken_at,
        "received_at": now,
        "method": body.method,
        "symptoms": list(symptoms),
        "note": body.note,
        "source": source,
        "classification": temperature_class.value,
        "window_start": window.start if window else None,
        "entered_by": entered_by,
        "checkin_id": checkin_id,
    }
    # The check above misses a retry that runs while its first try is still uncommitted (a client that
    # timed out). Inserting "unless the id exists" waits for that first try and then stores nothing, so the
    # retry answers the stored reading instead of failing on the primary key. Inserted now, also because
    # without a relationship() the unit of work would not order the alert after its reading.
    insert = postgresql_insert if dialect_of(session) == "postgresql" else sqlite_insert
    reading = await session.scalar(
        insert(Reading).values(values).on_conflict_do_nothing(index_elements=["id"]).returning(Reading),
        execution_options={"populate_existing": True},
    )
    if reading is None:
        return await _stored_before(session, reading_id=reading_id, subject=subject), False

    before = subject_state(subject)
    after = apply_reading(before, taken_at=taken_at, temperature_c=temperature, has_symptoms=bool(symptoms),
                          rules=rules)
    if after.last_reading_at != before.last_reading_at:
        subject.last_temperature_c = temperature
    subject.last_reading_at = after.last_reading_at
    subject.last_fever_at = after.last_fever_at
    subject.last_high_fever_at = after.last_high_fever_at
    subject.last_symptoms_at = after.last_symptoms_at
    filled = after.filled_windows
    subject.filled_window_1 = filled[0] if filled else None
    subject.filled_window_2 = filled[1] if len(filled) > 1 else None

    evaluation = reevaluate(session, subject, now=now, rules=rules)
    audit.record(session, actor, "reading.created", subject_id=subject.id, reading_id=str(reading.id),
                 temperature_c=temperature, source=source)
    emit(session, "reading.created", reading_id=str(reading.id), temperature_c=temperature,
         taken_at=taken_at.isoformat(), symptoms=list(symptoms), subject_id=str(subject.id),
         grid_id=subject.grid_id, status=evaluation.status.value, flags=[f.value for f in evaluation.flags])
    kind = ALERT_KIND.get(temperature_class) or ("symptoms" if symptoms else None)
    if kind is not None:
        await open_alert(session, actor=actor, subject=subject, kind=kind, now=now, rules=rules, reading=reading,
                         staff_channels=staff_channels)

    async def counted() -> None:
        READINGS.labels(source).inc()

    after_commit(session, counted)
    return reading, True


async def get_reading(session: AsyncSession, *, subject_id: uuid.UUID, reading_id: uuid.UUID) -> Reading | None:
    """One of the subject's own readings (another person's looks the same as none)."""
    reading = await session.get(Reading, reading_id)
    return reading if reading is not None and reading.subject_id == subject_id else None


async def readings_for_staff(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID,
                             limit: int = 200) -> Sequence[Reading]:
    """A person's readings, newest first, for staff in scope; the look is audited."""
    subject = await look_at(session, staff=staff, subject_id=subject_id, action="subject.readings_viewed")
    return await list_readings(session, subject_id=subject.id, limit=limit)


async def _stored_before(session: AsyncSession, *, reading_id: uuid.UUID, subject: Subject) -> Reading:
    existing = await session.get(Reading, reading_id)
    assert existing is not None  # readings are never deleted on their own
    if existing.subject_id != subject.id:
        raise Conflict("This reading id is already used by another record.")
    return existing


async def list_readings(
    session: AsyncSession, *, subject_id: uuid.UUID, limit: int = 200, since: datetime | None = None
) -> Sequence[Reading]:
    query = select(Reading).where(Reading.subject_id == subject_id)
    if since is not None:
        query = query.where(Reading.taken_at >= since)
    return (await session.scalars(query.order_by(Reading.taken_at.desc()).limit(limit))).all()
