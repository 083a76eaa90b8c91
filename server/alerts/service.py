"""Alerts: opened by abnormal readings (and by people asking to be called), closed by a clinician."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules
from server.alerts.schemas import AlertRead
from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff, SubjectPrincipal
from server.domain_events import emit
from server.errors import Conflict, NotFound
from server.models import ACTIVE, Alert, Reading, Subject
from server.notifications.outbox import enqueue_staff_alert
from server.roster.status import reevaluate
from server.subjects.service import lock_subject

CALLBACK = "callback_request"


async def open_alert(session: AsyncSession, *, actor: Actor, subject: Subject, kind: str, now: datetime,
                     rules: Rules, reading: Reading | None = None, note: str | None = None,
                     staff_channels: tuple[str, ...] = ()) -> Alert:
    """The one way an alert opens (an abnormal reading, two missed windows, a call-back request):
    counted on the subject, its status re-evaluated, audited, sent to the staff channels and announced.

    ``subject`` must be locked by the caller (see :func:`server.subjects.service.lock_subject`)."""
    alert = Alert(id=uuid.uuid4(), subject_id=subject.id, grid_id=subject.grid_id, kind=kind, status="open",
                  opened_at=now, note=note, reading_id=reading.id if reading else None,
                  temperature_c=reading.temperature_c if reading else None,
                  symptoms=list(reading.symptoms) if reading else [])
    session.add(alert)
    subject.open_alerts += 1
    if kind == CALLBACK:
        subject.callback_requested_at = now
    evaluation = reevaluate(session, subject, now=now, rules=rules)
    await session.flush()
    audit.record(session, actor, "alert.opened", subject_id=subject.id, alert_id=str(alert.id), kind=kind)
    enqueue_staff_alert(session, alert=alert, subject=subject, channels=staff_channels, now=now)
    emit(session, "alert.opened", alert_id=str(alert.id), kind=kind, subject_id=str(subject.id),
         grid_id=subject.grid_id, status=evaluation.status.value, flags=[f.value for f in evaluation.flags])
    return alert


async def open_alert_of_kind(session: AsyncSession, *, subject_id: uuid.UUID, kind: str) -> Alert | None:
    return await session.scalar(
        select(Alert).where(Alert.subject_id == subject_id, Alert.kind == kind, Alert.status == "open")
        .order_by(Alert.opened_at.desc()).limit(1)
    )


async def request_callback(session: AsyncSession, *, subject_id: uuid.UUID, now: datetime, rules: Rules,
                           staff_channels: tuple[str, ...] = ()) -> Alert | None:
    """"Please call me back" from a person under observation: opens a ``callback_request`` alert the
    clinicians of their grid see at once. None when released, or when their earlier request is still open."""
    subject = await lock_subject(session, subject_id)
    if subject.state != ACTIVE or await open_alert_of_kind(session, subject_id=subject.id, kind=CALLBACK):
        return None
    return await open_alert(session, actor=SubjectPrincipal(subject.id, subject), subject=subject, kind=CALLBACK,
                            now=now, rules=rules, staff_channels=staff_channels)


async def list_alerts(
    session: AsyncSession, *, staff: Staff, status: str | None, subject_id: uuid.UUID | None,
    limit: int, offset: int,
) -> Sequence[Row[Alert, str]]:
    query = select(Alert, Subject.full_name).join(Subject, Subject.id == Alert.subject_id).where(
        staff.subject_filter()
    )
    if status is not None:
        query = query.where(Alert.status == status)
    if subject_id is not None:
        query = query.where(Alert.subject_id == subject_id)
    query = query.order_by(Alert.opened_at.desc(), Alert.id).limit(limit).offset(offset)
    return (await session.execute(query)).all()


async def acknowledge(session: AsyncSession, *, staff: Staff, alert_id: uuid.UUID, note: str, now: datetime,
                      rules: Rules) -> tuple[Alert, Subject]:
    row = (
        await session.execute(
            select(Alert, Subject).join(Subject, Subject.id == Alert.subject_id)
            .where(Alert.id == alert_id, staff.subject_filter()).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("No such alert in your grids.")
    alert, subject = row
    if alert.status != "open":
        raise Conflict("This alert was already acknowledged.")
    alert.status = "acknowledged"
    alert.acknowledged_at = now
    alert.acknowledged_by = staff.db_user_id
    alert.note = note.strip() or None
    subject.open_alerts = max(0, subject.open_alerts - 1)
    if alert.kind == CALLBACK:
        subject.callback_requested_at = None
    evaluation = reevaluate(session, subject, now=now, rules=rules)
    audit.record(session, staff, "alert.acknowledged", subject_id=subject.id, alert_id=str(alert.id),
                 note=alert.note)
    emit(session, "alert.acknowledged", alert_id=str(alert.id), subject_id=str(subject.id),
         grid_id=subject.grid_id, status=evaluation.status.value, flags=[f.value for f in evaluation.flags])
    return alert, subject


def to_read(alert: Alert, subject_name: str) -> AlertRead:
    return AlertRead(
        id=alert.id, subject_id=alert.subject_id, subject_name=subject_name, grid_id=alert.grid_id,
        kind=alert.kind, reading_id=alert.reading_id, temperature_c=alert.temperature_c,
        symptoms=list(alert.symptoms or []), status=alert.status, opened_at=alert.opened_at,
        acknowledged_at=alert.acknowledged_at, acknowledged_by=alert.acknowledged_by, note=alert.note,
    )
