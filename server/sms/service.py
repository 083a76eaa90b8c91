"""Readings by SMS reply: the gateway forwards what a person texted back; a temperature from the phone of
someone under observation becomes a reading (source "sms") through the one reading service, so its flags,
alerts and events are those of any reading; every sender gets a short answer through the SMS outbox.

Each message is handled once: its id is inserted first ("unless it exists", which on PostgreSQL waits for
a concurrent first try to commit), and the reading's id is derived from it, so a gateway retrying a
message it did not see acknowledged stores nothing twice and sends no second answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import TemperatureClass
from monitoring.sms import SmsReport, parse_sms
from server.auth.principal import SubjectPrincipal
from server.db import dialect_of
from server.errors import AppError
from server.models import ACTIVE, Subject
from server.models.notifications import PENDING, OutboxMessage
from server.models.sms import SmsInbound
from server.notifications import messages
from server.readings.schemas import ReadingCreate
from server.readings.service import add_reading
from server.settings import Settings
from server.sms.schemas import SmsInboundCreate
from server.subjects import phones

SOURCE = "sms"
# Reading ids of SMS reports are derived from the gateway's message id (see the module's docstring).
_READING_IDS = uuid.UUID("5d0b6a43-3c57-4f2e-9d0e-6b7f5a0c2e11")


def reading_id_for(message_id: str) -> uuid.UUID:
    return uuid.uuid5(_READING_IDS, message_id)


async def receive(session: AsyncSession, *, message: SmsInboundCreate, settings: Settings,
                  now: datetime) -> SmsInbound:
    """Handle one forwarded reply (or answer how it was handled before, for a retry)."""
    received_at = min(message.received_at or now, now)
    insert = postgresql_insert if dialect_of(session) == "postgresql" else sqlite_insert
    row: SmsInbound | None = await session.scalar(
        insert(SmsInbound).values(message_id=message.message_id, outcome="help", received_at=received_at)
        .on_conflict_do_nothing(index_elements=["message_id"]).returning(SmsInbound),
        execution_options={"populate_existing": True})
    if row is None:
        seen = await session.get(SmsInbound, message.message_id)
        assert seen is not None  # rows are never deleted while a retry can come
        return seen
    try:
        phone = phones.normalise(message.from_)
    except phones.NotAPhoneNumber:
        row.outcome = "unknown_sender"  # nowhere to answer
        return row
    people = (await session.scalars(
        select(Subject).where(Subject.phone == phone, Subject.state == ACTIVE).limit(2))).all()
    if not people:
        row.outcome = "unknown_sender"
        _answer(session, settings, row, phone=phone, language=None, text=messages.SMS_UNKNOWN, now=now)
        return row
    if len(people) > 1:
        row.outcome = "ambiguous"
        _answer(session, settings, row, phone=phone, language=None, text=messages.SMS_SHARED, now=now)
        return row
    subject = people[0]
    row.subject_id = subject.id
    report = parse_sms(message.text, settings.rules)
    reading = None
    if report is not None:
        try:
            reading, _created = await add_reading(
                session, subject=subject, actor=SubjectPrincipal(subject.id, subject), body=_body(message, report,
                                                                                              received_at),
                rules=settings.rules, now=now, source=SOURCE, staff_channels=settings.staff_channels)
        except AppError:
            reading = None  # refused by the rules after all (the id already used elsewhere, say): help
    if reading is None:
        _answer(session, settings, row, phone=phone, language=subject.language, text=messages.SMS_HELP, now=now)
        return row
    row.outcome = "reading"
    row.reading_id = reading.id
    temperature = f"{reading.temperature_c:.1f} °C"
    if reading.classification != TemperatureClass.normal.value:
        text = messages.SMS_SAVED_FEVER
    elif reading.symptoms:
        text = messages.SMS_SAVED_SYMPTOMS
    else:
        text = messages.SMS_SAVED
    _answer(session, settings, row, phone=phone, language=subject.language, text=text, now=now,
            temperature=temperature)
    return row


def _body(message: SmsInboundCreate, report: SmsReport, received_at: datetime) -> ReadingCreate:
    return ReadingCreate(id=reading_id_for(message.message_id), temperature_c=report.temperature_c,
                         taken_at=received_at, symptoms=list(report.symptoms), note=report.note)


def _answer(session: AsyncSession, settings: Settings, row: SmsInbound, *, phone: str, language: str | None,
            text: str, now: datetime, **params: str) -> None:
    """The short answer to the sender, through the outbox (only where an SMS gateway is configured)."""
    if not settings.sms_configured:
        return
    locale = messages.locale_for(language, settings.default_language)
    session.add(OutboxMessage(
        id=uuid.uuid4(), channel="sms", recipient=phone, subject_id=row.subject_id,
        title=messages.text(locale, messages.SMS_REPLY_TITLE),
        text=messages.text(locale, text, hotline=settings.hotline, **params),
        data={"kind": "sms_reply", "message_id": row.message_id}, dedupe_key=f"sms-reply:{row.message_id}",
        status=PENDING, attempts=0, next_attempt_at=now, created_at=now,
    ))
