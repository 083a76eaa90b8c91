"""A request budget per key and fixed window, counted in the database so every app process shares it.

Used where one caller could otherwise hog something scarce (a person starting video check-ins, each of
which takes a media slot and CPU). The key's row is inserted if missing and then locked while the request
is counted (the insert first: on SQLite it takes the write lock, so the read cannot go stale), so
concurrent requests, in any process, are counted one after the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import insert_new
from server.models import RateLimitHit


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests per key in each window of ``window_s`` seconds."""

    limit: int
    window_s: int


async def take(session: AsyncSession, key: str, *, rate: RateLimit, now: datetime) -> float:
    """Counts one request of ``key`` and answers 0, or answers the seconds until the key's window ends
    when its budget is spent (the request is then not counted). The row stays locked until the
    caller's transaction ends: what the caller decides meanwhile is serialised per key too."""
    window = timedelta(seconds=rate.window_s)
    await insert_new(session, RateLimitHit, [{"key": key, "window_start": now, "hits": 0}])
    row = await session.scalar(
        select(RateLimitHit).where(RateLimitHit.key == key).with_for_update().execution_options(populate_existing=True))
    assert row is not None
    if now - row.window_start >= window or row.window_start > now:
        row.window_start, row.hits = now, 0
    if row.hits >= rate.limit:
        return max(1.0, (row.window_start + window - now).total_seconds())
    row.hits += 1
    # Keys whose window ended long ago are forgotten; rows other requests hold are left for later.
    stale = (select(RateLimitHit.key).where(RateLimitHit.window_start < now - 2 * window)
             .limit(100).with_for_update(skip_locked=True))
    await session.execute(delete(RateLimitHit).where(RateLimitHit.key.in_(stale.scalar_subquery())))
    await session.flush()
    return 0.0
