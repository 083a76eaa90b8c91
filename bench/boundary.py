"""A reading window opening at city scale: the scheduler's sweep while everyone reports, in one run.

    python -m bench.boundary --size 1000000           # PostgreSQL from HOMEWATCH_BENCH_POSTGRES_URL
    python -m bench.boundary --size 1000000 --reuse   # measure an already loaded database again
    python -m bench.boundary --size 5000 --sqlite     # embedded, small

At N people (bench/seed.py loads them with 14 days of readings) every stored severity is set to what it
was one second before the next window opens; the opening changes nearly everyone's status (ok to due),
which is derived at read time, so the sweep has nothing to write for it. The app is started
in its own process (its scheduler off) and 16 clients post readings for random people; after a stretch
without a sweep, the scheduler's own work for that boundary (``sweep_once`` at one second past it) runs
in this process while the clients keep posting, and they go on for a while after it ends. Printed: the
sweep's duration, the rows it wrote beside the statuses and severities the boundary changes,
deadlocks, failed requests, and reading latency p50/p95/p99/max with no sweep, during it and after it.
Finally the roster's counts (trigger-kept counters plus people counted one by one) are checked against a
scan of the table."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bench.app_process import app_process
from bench.seed import seed
from monitoring import Rules, latest_closed_window, local_date, sweep_parameters, windows_on
from server.auth.security import Tokens
from server.context import AppContext
from server.db import Database, utcnow
from server.migrate import upgrade
from server.models import ACTIVE, Alert, Subject
from server.roster import rules_sql
from server.roster.service import counts_by_grid
from server.scheduler.service import MISSED_TWICE, open_missed_twice_alerts, sweep_once
from server.settings import Settings

SECRET = "bench-secret-key-bench-secret-key"
SAMPLE = 5000


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    def line(self, name: str, seconds: float) -> str:
        ms = self.latencies
        rate = len(ms) / seconds if seconds > 0 else float("nan")
        return (f"{name:<14} {len(ms):>7} {rate:>8.0f} {_pct(ms, 0.5):>8.1f} {_pct(ms, 0.95):>8.1f} "
                f"{_pct(ms, 0.99):>8.1f} {max(ms, default=float('nan')):>8.1f} {self.failures:>7}")


async def _database(args: argparse.Namespace) -> tuple[str, bool]:
    """The database URL, and whether it still has to be loaded."""
    if args.sqlite:
        folder = Path(tempfile.mkdtemp(prefix="hw-boundary-"))
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}", True
    admin_url = args.postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    url = admin_url.rsplit("/", 1)[0] + f"/{args.database or f'hw_boundary_{args.size}'}"
    if args.reuse:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                if await conn.scalar(text("SELECT count(*) FROM subjects")) == args.size:
                    return url, False
        except Exception:  # no such database yet: load it
            pass
        finally:
            await engine.dispose()
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return url, True


def _next_window_start(after: datetime, rules: Rules) -> datetime:
    today = local_date(after, rules)
    return min(w.start for offset in range(3) for w in windows_on(today + timedelta(days=offset), rules)
               if w.start > after)


async def _stage(db: Database, rules: Rules) -> tuple[datetime, int, int]:
    """Severities as one second before the next window opens after the loaded data; returns the instant
    the sweep runs at (one second after it opens), how many people's status that boundary changes (all
    derived: nothing to write for them) and how many stored severities it changes (fevers ageing out
    at that very second)."""
    async with db.session() as session:
        loaded_at = await session.scalar(select(func.max(Subject.last_reading_at)))
        assert loaded_at is not None
        opens = _next_window_start(loaded_at, rules)
        before = sweep_parameters(opens - timedelta(seconds=1), rules)
        await session.execute(update(Subject).where(rules_sql.under_observation(),
                                                    Subject.severity != rules_sql.severity(before))
                              .values(severity=rules_sql.severity(before))
                              .execution_options(synchronize_session=False))
        # Each run opens the same missed-twice alerts again.
        await session.execute(text("DELETE FROM alerts WHERE kind = :kind"), {"kind": MISSED_TWICE})
        await session.execute(update(Subject).where(Subject.open_alerts != 0).values(
            open_alerts=select(func.count()).where(Alert.subject_id == Subject.id, Alert.status == "open")
            .scalar_subquery()).execution_options(synchronize_session=False))
    sweep_at = opens + timedelta(seconds=1)
    after = sweep_parameters(sweep_at, rules)
    async with db.session() as session:
        statuses = await session.scalar(select(func.count()).where(
            rules_sql.under_observation(), rules_sql.status_rank(before) != rules_sql.status_rank(after)))
        severities = await session.scalar(select(func.count()).where(
            rules_sql.under_observation(), Subject.severity != rules_sql.severity(after)))
    if db.dialect == "postgresql":
        async with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            await conn.execute(text("VACUUM ANALYZE subjects"))
            await conn.execute(text("VACUUM ANALYZE roster_counts"))
    return sweep_at, int(statuses or 0), int(severities or 0)


async def _deadlocks(db: Database) -> int | None:
    if db.dialect != "postgresql":
        return None
    async with db.session() as session:
        return int(await session.scalar(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")) or 0)


async def _counts_exact(db: Database, now: datetime, rules: Rules) -> bool:
    """The roster's counts (counters plus the people counted one by one) against a scan of the table."""
    p = sweep_parameters(now, rules)
    async with db.session() as session:
        kept = {(g, status.rank): n for g, by_status in (await counts_by_grid(session, now=now, rules=rules)).items()
                for status, n in by_status.items() if n}
        ranks = (select(Subject.grid_id, rules_sql.status_rank(p).label("rank")).where(Subject.state == ACTIVE)
                 .subquery())
        counted = {(g, r): n for g, r, n in (await session.execute(
            select(ranks.c.grid_id, ranks.c.rank, func.count()).group_by(ranks.c.grid_id, ranks.c.rank))).all()}
    return kept == counted


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings(secret_key=SECRET, environment="test")
    rules = settings.rules
    url, load = await _database(args)
    backend = "sqlite" if args.sqlite else "postgresql"
    if load:
        print(f"[{backend} N={args.size:,}] loading…", flush=True)
        await upgrade(url)
        engine = create_async_engine(url)
        try:
            stats = await seed(engine, args.size, now=utcnow(), rules=rules)
        finally:
            await engine.dispose()
        print(f"  loaded {stats['readings']:,.0f} readings in {stats['load_s']:.0f}s", flush=True)
    else:
        await upgrade(url)
    db = Database.from_url(url)
    ctx = AppContext.create(Settings(secret_key=SECRET, environment="test", database_url=url), db)
    try:
        sweep_at, changing, severities = await _stage(db, rules)
        # The missed-twice alerts belong to the window that closed before this opening: open them as
        # its close did (timed on its own, without readings), so the opening finds them already open.
        closed = latest_closed_window(sweep_at, rules)
        assert closed is not None
        started = time.perf_counter()
        close_alerts = await open_missed_twice_alerts(db, now=closed.end + timedelta(seconds=1),
                                                      settings=ctx.settings)
        close_alerts_s = time.perf_counter() - started
        async with db.session() as session:
            ids = [str(i) for i in (await session.scalars(
                select(Subject.id).where(Subject.state == ACTIVE).order_by(func.random()).limit(SAMPLE))).all()]
        deadlocks_before = await _deadlocks(db)
        print(f"  boundary: the window opening at {sweep_at - timedelta(seconds=1):%Y-%m-%d %H:%M} UTC "
              f"changes the status of {changing:,} of {args.size:,} people (derived, nothing to write) and "
              f"{severities:,} stored severities", flush=True)

        env = {**os.environ, "HOMEWATCH_DATABASE_URL": url, "HOMEWATCH_SECRET_KEY": SECRET,
               "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_SCHEDULER_ENABLED": "false",
               "HOMEWATCH_OUTBOX_WORKER_ENABLED": "false"}
        tokens = Tokens(SECRET, staff_ttl_s=3600, subject_ttl_s=3600)
        headers = [{"Authorization": f"Bearer {tokens.issue('subject', s, 1)}"} for s in ids]
        rng = random.Random(5)
        phases = {"no sweep": Phase(), "during sweep": Phase(), "after sweep": Phase()}
        current = "no sweep"
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=args.clients + 4)
        with app_process(env) as (base, _server):
            async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

                async def post() -> None:
                    while not stop.is_set():
                        phase = current
                        started = time.perf_counter()
                        try:
                            response = await client.post("/api/v1/readings", headers=rng.choice(headers), json={
                                "temperature_c": round(rng.uniform(36.0, 37.0), 1), "method": "forehead",
                                "id": str(uuid.uuid4())})
                            ok = response.status_code < 300
                        except httpx.HTTPError:
                            ok = False
                        if ok:
                            phases[phase].latencies.append((time.perf_counter() - started) * 1000)
                        else:
                            phases[phase].failures += 1

                for _ in range(3):  # warm the app's connections
                    await client.post("/api/v1/readings", headers=headers[0], json={"temperature_c": 36.5})
                clients = [asyncio.create_task(post()) for _ in range(args.clients)]
                await asyncio.sleep(args.seconds)
                current = "during sweep"
                started = time.perf_counter()
                failed = None
                try:
                    changes = await sweep_once(ctx, sweep_at)
                except Exception as error:  # a deadlock or any other failure is the result to report
                    changes, failed = None, error
                sweep_s = time.perf_counter() - started
                current = "after sweep"
                await asyncio.sleep(args.seconds)
                stop.set()
                await asyncio.gather(*clients)
        deadlocks_after = await _deadlocks(db)
        exact = await _counts_exact(db, sweep_at, rules)
        async with db.session() as session:
            alerts = await session.scalar(select(func.count()).where(Alert.kind == MISSED_TWICE))
    finally:
        await db.dispose()

    written = len(changes) if changes is not None else 0
    print()
    print(f"sweep of N={args.size:,} ({backend}): {sweep_s:.2f} s, "
          + (f"FAILED: {failed!r}" if failed else
             f"{written:,} severities written ({severities:,} changed); {changing:,} statuses changed, derived; "
             f"{(alerts or 0) - close_alerts:,} missed-twice alerts opened (each writes its person's row)"))
    if deadlocks_before is not None and deadlocks_after is not None:
        print(f"deadlocks: {deadlocks_after - deadlocks_before}")
    print(f"roster counts exact after the run: {'yes' if exact else 'NO'}")
    print(f"the close before it: {close_alerts:,} missed-twice alerts opened in {close_alerts_s:.2f} s "
          "(batches of short transactions, no readings running)")
    print()
    print(f"{'readings':<14} {'n':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'failed':>7}")
    for name, phase in phases.items():
        print(phase.line(name, sweep_s if name == "during sweep" else args.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HOMEWATCH_BENCH_POSTGRES_URL") or os.environ.get("HOMEWATCH_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--database", help="PostgreSQL database name (default hw_boundary_<size>)")
    parser.add_argument("--reuse", action="store_true", help="measure a database loaded by an earlier run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="readings before and after the sweep")
    args = parser.parse_args()
    if not args.sqlite and not args.postgres_url:
        print("no PostgreSQL configured (HOMEWATCH_BENCH_POSTGRES_URL); using SQLite", file=sys.stderr)
        args.sqlite = True
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
