"""Time-driven work: when a reading window opens or closes (or a day starts), every affected status
is recomputed, by one process, so a missed window shows up on its own without anyone looking. Then
people who missed two windows in a row get a ``missed_twice`` alert, and before a window closes the
people who have not reported yet get a reminder in the outbox.

A boundary is exactly when everyone reports, so none of this may hold up readings. Missed and due are
derived at read time, so a boundary writes no status at all; severities that age out and alerts are
written in short transactions of a batch each, skipping rows a reading holds (the reading
re-evaluates its own person) and coming back for them at the end.

Any number of app processes run the loop; on PostgreSQL a session-level advisory lock lets exactly one
of them sweep, and the others find nothing left to do. The sweep writes only rows whose severity changes,
alerts are skipped when one was opened since the window closed, and reminders carry a per-window dedupe
key, so a process restarting mid-window neither repeats nor skips work."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, latest_closed_window, next_boundary, sweep_parameters
from server.alerts.service import open_alert
from server.auth.principal import SYSTEM_STAFF
from server.brief.service import freeze_days
from server.context import AppContext
from server.db import Database, rowcount
from server.metrics import SWEEP_LAG, SWEEP_SECONDS
from server.models import Alert, RevokedToken, RosterCount, Subject
from server.models.checkins import CONNECTING, FAILED, LIVE, Checkin
from server.notifications.outbox import enqueue_reminders, next_reminder_at, window_to_remind
from server.roster import rules_sql
from server.roster.status import StatusChange, announce_boundary, sweep_statuses
from server.settings import Settings
from server.subjects.retention import erase_due

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = 0x686F6D65  # "home": one advisory lock id shared by every process of a deployment
SETTLE = timedelta(seconds=1)
RECHECK = timedelta(minutes=5)
ORPHAN_GRACE_SECONDS = 120
MISSED_TWICE = "missed_twice"
ALERT_BATCH = 200


@asynccontextmanager
async def _sweep_lock(db: Database) -> AsyncIterator[bool]:
    """Whether this process may sweep now: on PostgreSQL, a session-level advisory lock held on a
    connection of its own across the sweep's many short transactions."""
    if db.dialect != "postgresql":
        yield True  # SQLite serialises writers itself, and the sweep is idempotent
        return
    async with db.engine.connect() as conn:
        locked = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SWEEP_LOCK_KEY}))
        await conn.commit()
        try:
            yield locked
        finally:
            if locked:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SWEEP_LOCK_KEY})
                await conn.commit()


async def open_missed_twice_alerts(db: Database, *, now: datetime, settings: Settings,
                                   batch: int = ALERT_BATCH) -> int:
    """A ``missed_twice`` alert for everyone whose last two closed windows both count against them and
    both went without a reading (``monitoring.missed_twice``).

    At most one per closed window: nobody gets a second one while one is open, nor after an
    acknowledged one that was opened since this window closed. Opened in batches of short transactions
    (people in key order, those a reading holds taken again at the end), like the status sweep."""
    rules = settings.rules
    last = latest_closed_window(now, rules)
    if last is None:
        return 0
    p = sweep_parameters(now, rules)
    already = exists().where(Alert.subject_id == Subject.id, Alert.kind == MISSED_TWICE,
                             or_(Alert.status == "open", Alert.opened_at >= last.end))
    wanted = and_(rules_sql.missed_twice(p), ~already)
    async with db.session() as session:
        candidates = list((await session.scalars(select(Subject.id).where(wanted).order_by(Subject.id))).all())
    opened = 0
    for skip_locked in (True, False):
        left: list[uuid.UUID] = []
        for start in range(0, len(candidates), batch):
            chunk = candidates[start:start + batch]
            async with db.session() as session:
                subjects = (await session.scalars(
                    select(Subject).where(Subject.id.in_(chunk), wanted).order_by(Subject.id)
                    .with_for_update(skip_locked=skip_locked)
                )).all()
                for subject in subjects:
                    await open_alert(session, actor=SYSTEM_STAFF, subject=subject, kind=MISSED_TWICE, now=now,
                                     rules=rules, staff_channels=settings.staff_channels)
            opened += len(subjects)
            taken = {subject.id for subject in subjects}
            left += [subject_id for subject_id in chunk if subject_id not in taken]
        candidates = left
    return opened


async def sweep_once(ctx: AppContext, now: datetime, *, full: bool = True) -> list[StatusChange] | None:
    """Apply time: age out fevers and symptoms (the only stored status that time changes), tell live
    rosters that a window opened or closed (``full``: missed and due are derived, nothing is written
    for them), open missed-twice alerts and queue due reminders, each in short transactions of its own;
    returns the rows whose severity it wrote, None when another process holds the sweep."""
    async with _sweep_lock(ctx.db) as locked:
        if not locked:
            return None
        started = time.perf_counter()
        try:
            return await _sweep(ctx, now, full=full)
        finally:
            SWEEP_SECONDS.observe(time.perf_counter() - started)
            SWEEP_LAG.set(max(0.0, (now - latest_boundary(now, ctx.settings.rules)).total_seconds()))


def latest_boundary(now: datetime, rules: Rules) -> datetime:
    """The latest instant at or before ``now`` when a reading window opened or closed."""
    boundary = next_boundary(now - timedelta(days=2), rules)
    while (following := next_boundary(boundary, rules)) <= now:
        boundary = following
    return boundary


async def _sweep(ctx: AppContext, now: datetime, *, full: bool) -> list[StatusChange]:
    settings = ctx.settings
    changes = await sweep_statuses(ctx.db, now=now, rules=settings.rules)
    if full:
        await announce_boundary(ctx.db)
    alerts = await open_missed_twice_alerts(ctx.db, now=now, settings=settings)
    reminders = 0
    async with ctx.db.session() as session:
        if (window := window_to_remind(now, settings)) is not None:
            reminders = await enqueue_reminders(session, window=window, settings=settings, now=now)
        await close_orphaned_checkins(session, now=now, settings=settings)
        await purge_expired(session, now=now)
    if full:
        # Retention is counted in days: erasing at each full sweep (every boundary) is soon enough.
        erased = await erase_due(ctx.db, now=now, retention_days=settings.retention_days,
                                 media_dir=settings.media_dir)
        if erased:
            logger.info("erased the personal data of %d closed cases", erased)
        # A day that ended is frozen for the daily brief (after midnight: yesterday).
        frozen = await freeze_days(ctx.db, now=now, rules=settings.rules)
        if frozen:
            logger.info("froze the daily brief of %d day(s)", frozen)
    if alerts or reminders:
        logger.info("sweep at %s: %d missed-twice alerts, %d reminders queued", now.isoformat(), alerts,
                    reminders)
    return changes


async def close_orphaned_checkins(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Check-ins still connecting or live long after their maximum length lost their process (a restart
    or a crash): record them honestly as failed instead of leaving them "live" for ever."""
    cutoff = now - timedelta(seconds=settings.checkin_max_seconds + ORPHAN_GRACE_SECONDS)
    result = await session.execute(
        update(Checkin)
        .where(Checkin.status.in_([CONNECTING, LIVE]), Checkin.created_at < cutoff)
        .values(status=FAILED, ended_at=now,
                error="The server stopped during this check-in; what was received before is kept.")
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Housekeeping: signed-out tokens past their expiry (refused by their signature anyway) and roster
    counters nobody is keyed by any more (each window leaves some behind as people move on)."""
    tokens = await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now)
                                   .execution_options(synchronize_session=False))
    # A reading adding someone to an emptied counter concurrently either finds the row before the delete
    # takes it (then n is no longer 0 and the delete's re-check keeps it) or inserts it anew.
    await session.execute(delete(RosterCount).where(RosterCount.n == 0).execution_options(synchronize_session=False))
    return rowcount(tokens)


def next_wakeup(now: datetime, ctx: AppContext) -> datetime:
    candidates = [next_boundary(now, ctx.settings.rules)]
    if (reminder := next_reminder_at(now, ctx.settings)) is not None:
        candidates.append(reminder)
    return min(candidates) + SETTLE


def needs_full_sweep(last_full: datetime | None, now: datetime, rules: Rules) -> bool:
    """Whether a window opened or closed since the last announced boundary (or a few minutes before
    it: the announcement is repeated once at the next wake-up, for live rosters that reloaded while a
    reading from just before the boundary was still committing)."""
    return last_full is None or next_boundary(last_full - RECHECK, rules) <= now


async def run_forever(ctx: AppContext, *, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
    """Sweep now (catching up after a restart), then at every boundary; never dies on an error."""
    last_full: datetime | None = None
    while True:
        now = ctx.now()
        full = needs_full_sweep(last_full, now, ctx.settings.rules)
        try:
            changes = await sweep_once(ctx, now, full=full)
            if full:
                last_full = now
            if changes:
                logger.info("status sweep at %s: %d subjects changed", now.isoformat(), len(changes))
        except Exception:
            logger.exception("status sweep failed; retrying at the next boundary")
        delay = max(1.0, (next_wakeup(ctx.now(), ctx) - ctx.now()).total_seconds())
        await sleep(min(delay, 300.0))  # wake at least every 5 minutes: fevers age out between boundaries


def start(ctx: AppContext) -> asyncio.Task[None]:
    task = asyncio.create_task(run_forever(ctx), name="homewatch-status-sweep")
    ctx.scheduler = task
    return task


async def stop(ctx: AppContext) -> None:
    task, ctx.scheduler = ctx.scheduler, None
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
