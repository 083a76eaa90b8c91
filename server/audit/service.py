"""The audit trail: every write, and every staff read of a person's record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import AuditEntry


class Actor(Protocol):
    @property
    def audit_actor(self) -> tuple[str, str, str]: ...


def record(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    *,
    subject_id: uuid.UUID | None = None,
    **detail: Any,
) -> AuditEntry:
    kind, ident, name = actor.audit_actor if actor is not None else ("system", None, "system")
    entry = AuditEntry(actor_kind=kind, actor_id=ident, actor_name=name, action=action,
                       subject_id=subject_id, detail=detail)
    session.add(entry)
    return entry


async def list_entries(
    session: AsyncSession, *, subject_id: uuid.UUID | None = None, action: str | None = None,
    limit: int = 100, offset: int = 0,
) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return (await session.scalars(query.limit(limit).offset(offset))).all()
