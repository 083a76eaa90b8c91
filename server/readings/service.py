"""Storing a temperature reading: validate, keep the subject's summary current, open alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
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
from server.audit import service as audit
from server.audit.service import Actor
from server.domain_events import emit
from server.errors import Conflict, Invalid
from server.models import ACTIVE, Alert, Reading, Subject
from server.notifications.outbox import enqueue_staff_alert
from server.readings.schemas import ReadingCreate
from server.roster.status import reevaluate, subject_state

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
            if existing.subject_id != subject.id:
                raise Conflict("This reading id is already used by another record.")
            return existing, False
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
        locked = await session.scalar(
            select(Subject).where(Subject.id == subject.id).with_for_update()
            .execution_options(populate_existing=True)
        )
        assert locked is not None
        subject = locked

    temperature_class = classify(temperature, rules)
    window = window_for(taken_at, rules)
    reading = Reading(
        id=body.id or uuid.uuid4(),
        subject_id=subject.id,
        temperature_c=temperature,
        taken_at=taken_at,
        received_at=now,
        method=body.method,
        symptoms=list(symptoms),
        note=body.note,
        source=source,
        classification=temperature_class.value,
        window_start=window.start if window else None,
        entered_by=entered_by,
        checkin_id=checkin_id,
    )
    session.add(reading)
    # Without a relationship() the unit of work does not order the alert after its reading.
    await session.flush()

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

    alert = None
    kind = ALERT_KIND.get(temperature_class) or ("symptoms" if symptoms else None)
    if kind is not None:
        alert = Alert(id=uuid.uuid4(), subject_id=subject.id, grid_id=subject.grid_id, kind=kind,
                      reading_id=reading.id, temperature_c=temperature, symptoms=list(symptoms),
                      status="open", opened_at=now)
        session.add(alert)
        subject.open_alerts += 1

    evaluation = reevaluate(session, subject, now=now, rules=rules)
    await session.flush()
    audit.record(session, actor, "reading.created", subject_id=subject.id, reading_id=str(reading.id),
                 temperature_c=temperature, source=source)
    common = {"subject_id": str(subject.id), "grid_id": subject.grid_id,
              "status": evaluation.status.value, "flags": [f.value for f in evaluation.flags]}
    emit(session, "reading.created", reading_id=str(reading.id), temperature_c=temperature,
         taken_at=taken_at.isoformat(), symptoms=list(symptoms), **common)
    if alert is not None:
        enqueue_staff_alert(session, alert=alert, subject=subject, channels=staff_channels, now=now)
        emit(session, "alert.opened", alert_id=str(alert.id), kind=alert.kind, **common)
    return reading, True


async def list_readings(
    session: AsyncSession, *, subject_id: uuid.UUID, limit: int = 200, since: datetime | None = None
) -> Sequence[Reading]:
    query = select(Reading).where(Reading.subject_id == subject_id)
    if since is not None:
        query = query.where(Reading.taken_at >= since)
    return (await session.scalars(query.order_by(Reading.taken_at.desc()).limit(limit))).all()
