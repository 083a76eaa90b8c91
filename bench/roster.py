"""Roster latency and reading ingest at scale, against the real app served by uvicorn.

    python -m bench.roster --sizes 10000,100000,1000000     # PostgreSQL from HOMEWATCH_BENCH_POSTGRES_URL
    python -m bench.roster --sizes 2000 --sqlite            # embedded default

For each size: a fresh database, bulk-loaded (bench/seed.py), the scheduler's sweep timed, then the app is
started in its own process and measured over HTTP: the roster's first page with counts (p50/p95, as an
admin who sees everyone and as a clinician with two grids), and readings ingested per second beside an
authenticated no-op endpoint of the same app (GET /api/v1/auth/whoami) at the same concurrency."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.app_process import app_process
from bench.seed import GRIDS, seed
from server.auth.security import Tokens
from server.db import Database, utcnow
from server.migrate import upgrade
from server.roster.status import sweep_statuses
from server.settings import Settings

SECRET = "bench-secret-key-bench-secret-key"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _prepare(url: str, n: int, settings: Settings, grids: int = GRIDS) -> dict[str, float]:
    await upgrade(url)
    engine = create_async_engine(url)
    try:
        stats = await seed(engine, n, now=utcnow(), rules=settings.rules, grids=grids)
    finally:
        await engine.dispose()
    stats["sweep_s"], stats["sweep_rows"] = await _timed_sweep(url, settings)
    return stats


async def _timed_sweep(url: str, settings: Settings, *, everyone: bool = False) -> tuple[float, int]:
    """The scheduler's sweep (fevers ageing out; ``everyone``: every row compared, as after a bulk
    load): seconds, and how many rows it wrote."""
    db = Database.from_url(url)
    try:
        started = time.perf_counter()
        changed = await sweep_statuses(db, now=utcnow(), rules=settings.rules, everyone=everyone)
        return time.perf_counter() - started, len(changed)
    finally:
        await db.dispose()


async def _subject_ids(url: str, count: int) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(f"SELECT id FROM subjects LIMIT {count}"))).all()
    finally:
        await engine.dispose()
    return [str(uuid.UUID(str(r[0]))) for r in rows]


async def _latency(client: httpx.AsyncClient, path: str, headers: dict[str, str], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


async def _throughput(client: httpx.AsyncClient, make_request: object, seconds: float, concurrency: int) -> float:
    deadline = time.perf_counter() + seconds
    done = 0
    errors = 0

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            response = await make_request()  # type: ignore[operator]
            if response.status_code < 300:
                done += 1
            else:
                errors += 1
                if errors < 3:
                    print("  ! ", response.status_code, response.text[:200], file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def _measure(url: str, n: int, args: argparse.Namespace) -> dict[str, float]:
    env = {
        **os.environ,
        "HOMEWATCH_DATABASE_URL": url,
        "HOMEWATCH_SECRET_KEY": SECRET,
        "HOMEWATCH_ENVIRONMENT": "test",
        "HOMEWATCH_LOGIN_MAX_FAILURES": "1000000",
    }
    tokens = Tokens(SECRET, staff_ttl_s=3600, subject_ttl_s=3600)
    admin = {"Authorization": f"Bearer {tokens.issue('staff', '1', 1)}"}
    clinician = {"Authorization": f"Bearer {tokens.issue('staff', '2', 1)}"}
    subject_ids = await _subject_ids(url, 2000)
    subject_headers = [{"Authorization": f"Bearer {tokens.issue('subject', s, 1)}"} for s in subject_ids]
    rng = random.Random(3)
    limits = httpx.Limits(max_connections=args.concurrency + 4)
    with app_process(env) as (base, _server):
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            await _latency(client, "/api/v1/roster", admin, 3)  # warm caches and connections
            admin_ms = await _latency(client, "/api/v1/roster", admin, args.rounds)
            clinician_ms = await _latency(client, "/api/v1/roster", clinician, args.rounds)
            abnormal_ms = await _latency(client, "/api/v1/roster?status=abnormal", admin, args.rounds // 2)
            tree: dict[str, float] = {}
            if args.grids >= 100:
                # Staff assigned above the grids (seed: 3 a town's clinician, 4 the district's, 5 an
                # observer) and the tree with its rolled-up counts.
                for key, user, path in (("town", 3, "/api/v1/roster"), ("district", 4, "/api/v1/roster"),
                                        ("area_filter", 1, f"/api/v1/roster?area_id={args.grids + 2}"),
                                        ("tree", 5, "/api/v1/areas"), ("round", 3, "/api/v1/round")):
                    h = {"Authorization": f"Bearer {tokens.issue('staff', str(user), 1)}"}
                    timings = await _latency(client, path, h, args.rounds)
                    tree[f"{key}_p50"], tree[f"{key}_p95"] = statistics.median(timings), _pct(timings, 0.95)

            def noop() -> object:
                return client.get("/api/v1/auth/whoami", headers=rng.choice(subject_headers))

            def ingest() -> object:
                return client.post(
                    "/api/v1/readings",
                    headers=rng.choice(subject_headers),
                    json={"temperature_c": round(rng.uniform(36.0, 37.0), 1), "method": "forehead"},
                )

            noop_rps = await _throughput(client, noop, args.seconds, args.concurrency)
            ingest_rps = await _throughput(client, ingest, args.seconds, args.concurrency)
    return {
        "admin_p50": statistics.median(admin_ms),
        "admin_p95": _pct(admin_ms, 0.95),
        "clin_p50": statistics.median(clinician_ms),
        "clin_p95": _pct(clinician_ms, 0.95),
        "abnormal_p95": _pct(abnormal_ms, 0.95),
        "noop_rps": noop_rps,
        "ingest_rps": ingest_rps,
        **tree,
    }


async def _reuse(url: str, n: int, settings: Settings) -> dict[str, float] | None:
    """A database loaded by an earlier run: migrate it, set every status back to "ok" as the loader
    leaves it, and time the sweep."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            subjects = await conn.scalar(text("SELECT count(*) FROM subjects"))
            readings = await conn.scalar(text("SELECT count(*) FROM readings"))
    except Exception:
        return None
    finally:
        await engine.dispose()
    if subjects != n:
        return None
    await upgrade(url)
    # Severities as of now (a database loaded before the seed computed them, or loaded days ago), then
    # the scheduler's own sweep.
    everyone_s, everyone_rows = await _timed_sweep(url, settings, everyone=True)
    print(f"  every row compared: {everyone_s:.1f}s, {everyone_rows:,} severities written", flush=True)
    sweep_s, sweep_rows = await _timed_sweep(url, settings)
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE subjects"))
    finally:
        await engine.dispose()
    return {"subjects": n, "readings": float(readings or 0), "load_s": 0.0, "analyze_s": 0.0,
            "sweep_s": sweep_s, "sweep_rows": sweep_rows}


async def _with_database(n: int, args: argparse.Namespace) -> tuple[str, str]:
    if args.sqlite:
        folder = Path(tempfile.mkdtemp(prefix="hw-bench-"))
        return "sqlite", f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    admin_url = args.postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    name = f"hw_bench_{n}" if args.grids == GRIDS else f"hw_bench_{n}_g{args.grids}"
    if args.reuse:
        return "postgresql", admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return "postgresql", admin_url.rsplit("/", 1)[0] + f"/{name}"


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings(secret_key=SECRET, environment="test")
    rows = []
    for n in args.sizes:
        backend, url = await _with_database(n, args)
        prepared = await _reuse(url, n, settings) if args.reuse else None
        if prepared is None:
            if args.reuse:
                args.reuse = False
                backend, url = await _with_database(n, args)
                args.reuse = True
            print(f"[{backend} N={n:,}] loading…", flush=True)
            prepared = await _prepare(url, n, settings, args.grids)
        print(
            f"  loaded {prepared['readings']:,.0f} readings in {prepared['load_s']:.1f}s; status sweep of "
            f"{prepared['sweep_rows']:,.0f} rows took {prepared['sweep_s']:.2f}s",
            flush=True,
        )
        measured = await _measure(url, n, args)
        rows.append((backend, n, prepared, measured))
    print()
    header = (
        f"{'backend':<10} {'subjects':>9} {'readings':>10} {'roster p50/p95 admin':>21} "
        f"{'clinician':>14} {'abnormal p95':>12} {'sweep s':>8} {'no-op r/s':>9} {'ingest r/s':>10} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for backend, n, p, m in rows:
        print(
            f"{backend:<10} {n:>9,} {p['readings']:>10,.0f} {m['admin_p50']:>9.1f} / {m['admin_p95']:>6.1f} ms "
            f"{m['clin_p50']:>5.1f}/{m['clin_p95']:>5.1f} ms {m['abnormal_p95']:>9.1f} ms {p['sweep_s']:>8.2f} "
            f"{m['noop_rps']:>9.0f} {m['ingest_rps']:>10.0f} {m['ingest_rps'] / m['noop_rps']:>6.2f}"
        )
    for backend, n, _p, m in rows:
        if "tree_p50" in m:
            print(f"\n{backend} {n:,} people under a tree of {args.grids:,} grids (p50 / p95 ms): "
                  + "; ".join(f"{label} {m[key + '_p50']:.1f} / {m[key + '_p95']:.1f}" for key, label in (
                      ("town", "roster, a town's clinician"), ("district", "roster, the district's clinician"),
                      ("area_filter", "roster ?area_id=<town> (admin)"), ("tree", "area tree with counts"),
                      ("round", "round, a town's clinician"))))
    if len(rows) > 1:
        growth = rows[-1][3]["admin_p95"] / rows[0][3]["admin_p95"]
        print(f"\nadmin roster p95 grows {growth:.1f}x from {rows[0][1]:,} to {rows[-1][1]:,} subjects")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HOMEWATCH_BENCH_POSTGRES_URL") or os.environ.get("HOMEWATCH_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--reuse", action="store_true",
                        help="measure databases loaded by an earlier run (hw_bench_N) instead of reloading")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--grids", type=int, default=GRIDS,
                        help="grids to spread people over; from 100 up under a district > town > community tree")
    args = parser.parse_args()
    if not args.sqlite and not args.postgres_url:
        print("no PostgreSQL configured (HOMEWATCH_BENCH_POSTGRES_URL); using SQLite", file=sys.stderr)
        args.sqlite = True
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
