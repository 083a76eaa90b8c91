"""Domain events raised by services: queued on the session, published only after it commits.

Services call :func:`emit`; they never see the bus. The app's :class:`~server.db.Database` hands the
queued events to its publisher once the transaction is durable, so no listener ever hears about a
reading that was rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

PENDING_KEY = "pending_events"


def emit(session: AsyncSession, event_type: str, **data: Any) -> None:
    session.info.setdefault(PENDING_KEY, []).append((event_type, data))
