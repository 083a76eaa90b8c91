"""Time-driven work: when a reading window opens or closes (or a day starts), every affected status
is recomputed at once, by one process, so a missed window shows up on its own without anyone looking.

Any number of app processes run the loop; on PostgreSQL a transaction-level advisory lock lets exactly
one of them sweep, and the others find nothing left to do. The sweep only touches rows whose
``status_valid_until`` has passed, so a process restarting mid-window neither repeats nor skips work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import next_boundary
from server.context import AppContext
from server.roster.status import StatusChange, refresh_stale_statuses

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = 0x686F6D65  # "home": one advisory lock id shared by every process of a deployment
SETTLE = timedelta(seconds=1)


async def _try_lock(session: AsyncSession) -> bool:
    if session.bind.dialect.name != "postgresql":
        return True  # SQLite serialises writers itself, and the sweep is idempotent
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}))


async def sweep_once(ctx: AppContext, now: datetime) -> list[StatusChange] | None:
    """Apply time to every stale status; None when another process holds the sweep."""
    async with ctx.db.session() as session:
        if not await _try_lock(session):
            return None
        return await refresh_stale_statuses(session, now=now, rules=ctx.settings.rules)


def next_wakeup(now: datetime, ctx: AppContext) -> datetime:
    return next_boundary(now, ctx.settings.rules) + SETTLE


async def run_forever(ctx: AppContext, *, sleep: Callable[[float], object] = asyncio.sleep) -> None:
    """Sweep now (catching up after a restart), then at every boundary; never dies on an error."""
    while True:
        now = ctx.now()
        try:
            changes = await sweep_once(ctx, now)
            if changes:
                logger.info("status sweep at %s: %d subjects changed", now.isoformat(), len(changes))
        except Exception:
            logger.exception("status sweep failed; retrying at the next boundary")
        delay = max(1.0, (next_wakeup(ctx.now(), ctx) - ctx.now()).total_seconds())
        await sleep(min(delay, 300.0))  # wake at least every 5 minutes: fevers age out between boundaries


def start(ctx: AppContext) -> asyncio.Task[None]:
    task = asyncio.create_task(run_forever(ctx), name="homewatch-status-sweep")
    ctx.services["scheduler"] = task
    return task


async def stop(ctx: AppContext) -> None:
    task: asyncio.Task[None] | None = ctx.services.pop("scheduler", None)
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
