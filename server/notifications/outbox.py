"""The notification outbox: producers write rows in their own transaction; a worker delivers them.

Delivery is at-least-once towards the provider and at-most-once per row from our side: a row is
claimed (``sending`` with a lease) in one short transaction, sent outside any transaction, then
marked in another. Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so any number of processes
can deliver side by side without sending one row twice; a process that dies mid-send leaves a lease
that expires, and the row is taken again."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, and_, case, cast, delete, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import WindowInstance, local_date, open_window, windows_on
from server.context import AppContext
from server.db import dialect_of, rowcount
from server.models import Alert, Subject
from server.models.notifications import FAILED, PENDING, SENDING, SENT, OutboxMessage, PushSubscription
from server.notifications import messages
from server.notifications.channels import (
    Channel,
    DeliveryError,
    OutboundMessage,
    SubscriptionGone,
    backoff_seconds,
    build_channels,
)
from server.notifications.messages import ALERT_TITLE, BATCH_TITLE, REMINDER_TEXT, REMINDER_TITLE, alert_line
from server.roster import rules_sql
from server.settings import Settings

logger = logging.getLogger(__name__)

STAFF_CHANNELS = ("dingtalk", "webhook")
LEASE = timedelta(minutes=2)
# A DingTalk robot takes ~20 messages a minute: one batched message per channel per run, of at most this many.
STAFF_BATCH = 30
PERSONAL_BATCH = 200
POLL_SECONDS = 5.0


# --- producers -----------------------------------------------------------------------------------


def enqueue_staff_alert(session: AsyncSession, *, alert: Alert, subject: Subject, channels: Sequence[str],
                        now: datetime, language: str = "zh_Hans") -> None:
    """One outbox row per configured staff channel, in the alert's own transaction."""
    language = messages.locale_for(language)
    title = messages.text(language, ALERT_TITLE)
    text = alert_line(kind=alert.kind, subject_name=subject.full_name, temperature_c=alert.temperature_c,
                      language=language)
    data = {"kind": "alert", "alert_id": str(alert.id), "alert_kind": alert.kind, "subject_id": str(subject.id),
            "grid_id": subject.grid_id, "language": language}
    for channel in channels:
        session.add(OutboxMessage(
            id=uuid.uuid4(), channel=channel, recipient=None, subject_id=subject.id,
            title=title, text=text, data=data, dedupe_key=f"alert:{alert.id}:{channel}",
            status=PENDING, attempts=0, next_attempt_at=now, created_at=now,
        ))


def reminder_at(window: WindowInstance, minutes_before_close: int) -> datetime:
    return max(window.start, window.end - timedelta(minutes=minutes_before_close))


def window_to_remind(now: datetime, settings: Settings) -> WindowInstance | None:
    """The open window whose reminder time has come, if any."""
    if not (settings.webpush_configured or settings.sms_configured):
        return None
    window = open_window(now, settings.rules)
    if window is not None and now >= reminder_at(window, settings.reminder_minutes_before_close):
        return window
    return None


def next_reminder_at(now: datetime, settings: Settings) -> datetime | None:
    if not (settings.webpush_configured or settings.sms_configured):
        return None
    today = local_date(now, settings.rules)
    instants = [reminder_at(w, settings.reminder_minutes_before_close)
                for offset in range(0, 3) for w in windows_on(today + timedelta(days=offset), settings.rules)]
    return min((i for i in instants if i > now), default=None)


async def enqueue_call_push(session: AsyncSession, *, call_id: uuid.UUID, subject: Subject, clinician: str,
                            unit: str, settings: Settings, now: datetime) -> bool:
    """A Web Push for a ringing call, for when the person's page is closed (an open page rings by its
    event stream at once). Only to a phone that subscribed; True if one was queued."""
    if not settings.webpush_configured:
        return False
    subscribed = await session.scalar(select(exists().where(PushSubscription.subject_id == subject.id)))
    if not subscribed:
        return False
    language = messages.locale_for(subject.language, settings.default_language)
    session.add(OutboxMessage(
        id=uuid.uuid4(), channel="webpush", recipient=None, subject_id=subject.id,
        title=messages.text(language, messages.CALL_TITLE),
        text=messages.text(language, messages.CALL_TEXT, name=clinician, unit=unit),
        data={"kind": "call", "call_id": str(call_id), "url": f"/me/checkin?call={call_id}"},
        dedupe_key=f"call:{call_id}", status=PENDING, attempts=0, next_attempt_at=now, created_at=now,
    ))
    return True


async def enqueue_reminders(session: AsyncSession, *, window: WindowInstance, settings: Settings,
                            now: datetime) -> int:
    """One reminder per active subject who has not reported in ``window``, as one INSERT…SELECT.

    The dedupe key names the subject and the window, so running this again (another process, a
    restart mid-window) adds only reminders that are still missing."""
    webpush, sms = settings.webpush_configured, settings.sms_configured
    if not (webpush or sms):
        return 0
    dialect = dialect_of(session)
    has_subscription = exists().where(PushSubscription.subject_id == Subject.id)
    if webpush and sms:
        channel: Any = case((has_subscription, literal("webpush")), else_=literal("sms"))
        recipient: Any = case((has_subscription, literal(None, String)), else_=Subject.phone)
    elif webpush:
        channel, recipient = literal("webpush"), literal(None, String)
    else:
        channel, recipient = literal("sms"), Subject.phone

    rules = settings.rules
    end = window.end.astimezone(rules.tz).strftime("%H:%M")
    default_language = messages.locale_for(settings.default_language)

    def localised(message: str, **params: str) -> Any:
        # Each person's language as one CASE over the catalogue's translations, so the reminders
        # stay a single INSERT…SELECT; people without a saved language get the deployment's default.
        texts = messages.in_every_language(message, **params)
        return case(*[(Subject.language == lang, literal(texts[lang])) for lang in texts],
                    else_=literal(texts[default_language]))

    wanted = [rules_sql.awaits_reading(window)]
    if not webpush:
        wanted.append(Subject.phone != "")
    elif not sms:
        wanted.append(has_subscription)
    new_id = func.gen_random_uuid() if dialect == "postgresql" else func.lower(func.hex(func.randomblob(16)))
    data = {"kind": "reminder", "window_start": window.start.isoformat(), "window_end": window.end.isoformat()}
    text: Any = localised(REMINDER_TEXT, end=end, hotline=settings.hotline)
    if sms and settings.sms_inbound_secret:
        # Replies are read (server/sms): an SMS reminder says how to answer it with the temperature.
        by_sms = localised(messages.REMINDER_SMS_TEXT, end=end, hotline=settings.hotline)
        text = case((has_subscription, text), else_=by_sms) if webpush else by_sms
    rows = select(
        new_id, channel, recipient, Subject.id,
        localised(REMINDER_TITLE), text,
        literal(data, JSON),
        literal("reminder:") + cast(Subject.id, String) + literal(":" + window.start.isoformat()),
        literal(PENDING), literal(0), literal(now, OutboxMessage.next_attempt_at.type),
        literal(now, OutboxMessage.created_at.type),
    ).where(*wanted)
    columns = ["id", "channel", "recipient", "subject_id", "title", "text", "data", "dedupe_key", "status",
               "attempts", "next_attempt_at", "created_at"]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OutboxMessage).from_select(columns, rows).on_conflict_do_nothing(
        index_elements=["dedupe_key"])
    result = await session.execute(statement)
    return rowcount(result)


# --- the worker ----------------------------------------------------------------------------------


@dataclass
class _Claimed:
    id: uuid.UUID
    channel: str
    recipient: str | None
    subject_id: uuid.UUID | None
    title: str
    text: str
    data: dict[str, Any]
    attempts: int
    lease: datetime
    subscription: dict[str, Any] | None = None


def channels_for(ctx: AppContext) -> dict[str, Channel]:
    if ctx.outbox_channels is None:
        ctx.outbox_channels = build_channels(ctx.settings.channel_settings())
    return ctx.outbox_channels


def _due(now: datetime) -> Any:
    return or_(and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == SENDING, OutboxMessage.locked_until <= now))


async def _claim(session: AsyncSession, *, now: datetime, where: Any, limit: int) -> list[_Claimed]:
    lease = now + LEASE
    ids = select(OutboxMessage.id).where(_due(now), where).order_by(OutboxMessage.next_attempt_at).limit(limit)
    if dialect_of(session) == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    rows = (await session.execute(
        update(OutboxMessage)
        # The outer test repeats the due condition: on PostgreSQL a row changed meanwhile is re-checked.
        .where(OutboxMessage.id.in_(ids.scalar_subquery()), _due(now))
        .values(status=SENDING, locked_until=lease, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject_id,
                   OutboxMessage.title, OutboxMessage.text, OutboxMessage.data, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    )).all()
    return [_Claimed(**row._asdict(), lease=lease) for row in rows]


async def _claim_due(ctx: AppContext, *, now: datetime, channels: Mapping[str, Channel]) -> list[_Claimed]:
    async with ctx.db.session() as session:
        claimed: list[_Claimed] = []
        for name in STAFF_CHANNELS:
            claimed += await _claim(session, now=now, where=OutboxMessage.channel == name, limit=STAFF_BATCH)
        claimed += await _claim(session, now=now, where=OutboxMessage.channel.not_in(STAFF_CHANNELS),
                                limit=PERSONAL_BATCH)
        wanting = {c.subject_id for c in claimed if c.channel == "webpush" and c.subject_id is not None}
        if wanting:
            subscriptions = (await session.execute(
                select(PushSubscription.subject_id, PushSubscription.subscription)
                .where(PushSubscription.subject_id.in_(wanting)).order_by(PushSubscription.created_at)
            )).all()
            latest = {subject_id: subscription for subject_id, subscription in subscriptions}
            for c in claimed:
                if c.channel == "webpush" and c.subject_id is not None:
                    c.subscription = latest.get(c.subject_id)
    return claimed


Outcome = Exception | None


async def _send(channel: Channel | None, name: str, message: OutboundMessage) -> Outcome:
    if channel is None:
        return DeliveryError(f"{name}: channel is not configured", retryable=False)
    try:
        await channel.send(message)
    except Exception as exc:  # a broken adapter must not stop the other rows of this run
        if not isinstance(exc, DeliveryError):
            logger.exception("outbox: unexpected error from %s", name)
        return exc
    return None


async def _deliver(claimed: list[_Claimed], channels: Mapping[str, Channel]) -> dict[uuid.UUID, Outcome]:
    outcomes: dict[uuid.UUID, Outcome] = {}
    for name in STAFF_CHANNELS:
        batch = [c for c in claimed if c.channel == name]
        if not batch:
            continue
        if len(batch) == 1:
            title = batch[0].title
        else:
            # A batch goes out in the language its alerts were written in (the deployment's choice).
            title = messages.text(str(batch[0].data.get("language") or ""), BATCH_TITLE, n=len(batch))
        text = "\n".join(f"- {c.text}" for c in batch) if len(batch) > 1 else batch[0].text
        message = OutboundMessage(channel=name, recipient=None, title=title, text=text,
                                  data={"alerts": [c.data for c in batch]})
        outcome = await _send(channels.get(name), name, message)
        outcomes.update({c.id: outcome for c in batch})
    for c in claimed:
        if c.channel in STAFF_CHANNELS:
            continue
        if c.channel == "webpush":
            if c.subscription is None:
                outcomes[c.id] = DeliveryError("webpush: the person has no push subscription", retryable=False)
                continue
            recipient: str | None = json.dumps(c.subscription)
        else:
            recipient = c.recipient
        message = OutboundMessage(channel=c.channel, recipient=recipient, title=c.title, text=c.text, data=c.data)
        outcomes[c.id] = await _send(channels.get(c.channel), c.channel, message)
    return outcomes


async def _record(ctx: AppContext, claimed: list[_Claimed], outcomes: Mapping[uuid.UUID, Outcome],
                  now: datetime) -> int:
    sent = 0
    async with ctx.db.session() as session:
        for c in claimed:
            outcome = outcomes.get(c.id)
            values: dict[str, Any]
            if outcome is None:
                values = {"status": SENT, "sent_at": now, "locked_until": None, "last_error": None}
                sent += 1
            else:
                retryable = isinstance(outcome, DeliveryError) and outcome.retryable or \
                    not isinstance(outcome, DeliveryError)
                error = str(outcome) if isinstance(outcome, DeliveryError) else repr(outcome)
                if isinstance(outcome, SubscriptionGone) and c.subscription is not None:
                    await session.execute(delete(PushSubscription).where(
                        PushSubscription.endpoint == c.subscription.get("endpoint")))
                if retryable and c.attempts < ctx.settings.outbox_max_attempts:
                    delay = backoff_seconds(c.attempts)
                    if isinstance(outcome, DeliveryError) and outcome.retry_after:
                        delay = max(delay, outcome.retry_after)
                    values = {"status": PENDING, "next_attempt_at": now + timedelta(seconds=delay),
                              "locked_until": None, "last_error": error}
                else:
                    values = {"status": FAILED, "locked_until": None,
                              "last_error": error if not retryable else f"{error}; gave up after {c.attempts} attempts"}
            # Only while our lease holds: a row another worker took over after it expired is theirs now.
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == c.id, OutboxMessage.status == SENDING, OutboxMessage.locked_until == c.lease)
                .values(**values).execution_options(synchronize_session=False)
            )
    return sent


async def deliver_due(ctx: AppContext, *, now: datetime, channels: Mapping[str, Channel] | None = None) -> int:
    """Deliver every message due at ``now`` (retries included); returns how many rows were handled."""
    channels = channels if channels is not None else channels_for(ctx)
    claimed = await _claim_due(ctx, now=now, channels=channels)
    if not claimed:
        return 0
    outcomes = await _deliver(claimed, channels)
    await _record(ctx, claimed, outcomes, now)
    return len(claimed)


async def run_worker(ctx: AppContext, *, poll_seconds: float = POLL_SECONDS) -> None:
    """Deliver forever; a failing run is logged and retried on the next poll."""
    while True:
        handled = 0
        try:
            handled = await deliver_due(ctx, now=ctx.now())
        except Exception:
            logger.exception("outbox delivery failed; retrying")
        # A full batch means more may be waiting, but staff channels still get at most one message per poll.
        await asyncio.sleep(poll_seconds if handled < PERSONAL_BATCH else 0.5)
