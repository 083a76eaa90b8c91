"""Use cases behind the outbox, push and release-candidate routes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules
from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.db import rowcount
from server.errors import Conflict, NotFound
from server.models import Subject
from server.models.notifications import FAILED, OUTBOX_STATUSES, PENDING, OutboxMessage, PushSubscription
from server.roster import rules_sql


async def outbox_page(session: AsyncSession, *, status: str | None, limit: int,
                      offset: int) -> tuple[dict[str, int], Sequence[OutboxMessage]]:
    counts = {s: 0 for s in OUTBOX_STATUSES}
    for row_status, n in (await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )).all():
        counts[row_status] = n
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    rows = (await session.scalars(
        query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(limit).offset(offset)
    )).all()
    return counts, rows


async def retry(session: AsyncSession, *, actor: Actor, message_id: uuid.UUID, now: datetime) -> OutboxMessage:
    message = await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())
    if message is None:
        raise NotFound("No such notification.")
    if message.status != FAILED:
        raise Conflict("Only a failed notification can be sent again.")
    message.status = PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.locked_until = None
    audit.record(session, actor, "outbox.retried", subject_id=message.subject_id, message_id=str(message.id),
                 channel=message.channel)
    return message


async def save_push_subscription(session: AsyncSession, *, actor: Actor, subject_id: uuid.UUID, endpoint: str,
                                 subscription: dict[str, Any], now: datetime) -> PushSubscription:
    existing = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update())
    if existing is not None and existing.subject_id != subject_id \
            and existing.subscription.get("keys") != subscription.get("keys"):
        # Another person's browser: taking its endpoint with other keys would leave them without reminders
        # (the push service would deliver what their browser cannot decrypt). The same browser, handed to
        # the next person on a shared phone, presents the same keys and moves over.
        raise Conflict("This browser is already subscribed for someone else's reminders.")
    if existing is None:
        existing = PushSubscription(id=uuid.uuid4(), endpoint=endpoint, created_at=now, subject_id=subject_id,
                                    subscription=subscription)
        session.add(existing)
    else:
        # A shared phone (same browser, same keys): the subscription now belongs to whoever subscribed last.
        existing.subject_id = subject_id
        existing.subscription = subscription
        existing.created_at = now
    # The push service's host only: the endpoint's path is a capability for sending to this browser.
    audit.record(session, actor, "push.subscribed", subject_id=subject_id, host=urlsplit(endpoint).hostname)
    await session.flush()
    return existing


async def delete_push_subscription(session: AsyncSession, *, actor: Actor, subject_id: uuid.UUID,
                                   endpoint: str) -> int:
    result = await session.execute(delete(PushSubscription).where(
        PushSubscription.subject_id == subject_id, PushSubscription.endpoint == endpoint))
    removed = rowcount(result)
    if removed:
        audit.record(session, actor, "push.unsubscribed", subject_id=subject_id, host=urlsplit(endpoint).hostname)
    return removed


async def release_candidates(session: AsyncSession, *, staff: Staff, now: datetime, rules: Rules, limit: int,
                             offset: int) -> tuple[int, Sequence[Subject]]:
    """Active people whose planned observation period is over, earliest end first."""
    where = (rules_sql.period_over(now, rules), staff.subject_filter())
    total = int(await session.scalar(select(func.count()).select_from(Subject).where(*where)) or 0)
    rows = (await session.scalars(
        select(Subject).where(*where).order_by(Subject.planned_end_date, Subject.full_name, Subject.id)
        .limit(limit).offset(offset)
    )).all()
    return total, rows
