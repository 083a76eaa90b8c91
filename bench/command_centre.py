"""The command centre's day at scale, against the real app served by uvicorn on PostgreSQL:

* a census list of 100,000 people imported (the background job, start to done) while a client keeps
  asking a cheap authenticated endpoint, to show the import does not hold other requests up;
* the roster of 1,000,000 people exported as CSV and as XLSX: the app process's peak memory above its
  resting size, the time, and the same probe's latency meanwhile;
* the daily brief at 1,000,000 people: freezing a day, then a past date's brief and today's.

    HOMEWATCH_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.command_centre
    python -m bench.command_centre --size 1000000 --reuse     # keep the loaded 1M database (hw_bench_brief_*)

Every figure depends on what else the machine runs: the load average is printed beside each."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.app_process import app_process
from bench.seed import GRIDS, insert_grids, seed
from server.auth.security import Tokens, hash_password
from server.db import utcnow
from server.migrate import upgrade
from server.settings import Settings

SECRET = "bench-secret-key-bench-secret-key"
TOKENS = Tokens(SECRET, staff_ttl_s=3600, subject_ttl_s=3600)
ADMIN = {"Authorization": f"Bearer {TOKENS.issue('staff', '1', 1)}"}
CLINICIAN = {"Authorization": f"Bearer {TOKENS.issue('staff', '2', 1)}"}


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "HOMEWATCH_DATABASE_URL": url, "HOMEWATCH_SECRET_KEY": SECRET,
            "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_OUTBOX_WORKER_ENABLED": "false"}


async def _database(admin_url: str, name: str, *, fresh: bool) -> str:
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if fresh or not exists:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return url


class Probe:
    """Asks ``GET /api/v1/auth/whoami`` every 50 ms and keeps the latencies: what another user of the app
    sees while the measured work runs."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.timings: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await self.client.get("/api/v1/auth/whoami", headers=ADMIN)
            self.timings.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)

    def __enter__(self) -> Probe:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def summary(self) -> str:
        if not self.timings:
            return "probe: no answer yet"
        return (f"probe p50 {statistics.median(self.timings):.0f} ms, p95 {_pct(self.timings, 0.95):.0f} ms, "
                f"max {max(self.timings):.0f} ms over {len(self.timings)} requests")


async def _baseline(client: httpx.AsyncClient, seconds: float = 3.0) -> str:
    probe = Probe(client)
    with probe:
        await asyncio.sleep(seconds)
        while len(probe.timings) < 10:
            await asyncio.sleep(0.5)
    return probe.summary()


# --- census import ------------------------------------------------------------------------------------


def census_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "手机号", "网格", "观察方式", "原因", "开始日期", "身份证号", "地址"])
    for i in range(rows):
        writer.writerow([f"居民{i:06d}", f"137{i:08d}", f"网格{i % GRIDS + 1:03d}", "居家" if i % 5 else "集中",
                         "密切接触者", "", f"110101199001{i:06d}", f"某某路{i % 500}号"])
    return buffer.getvalue().encode("utf-8-sig")


async def bench_import(admin_url: str, rows: int) -> None:
    url = await _database(admin_url, "hw_bench_brief_import", fresh=True)
    await upgrade(url)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        now = utcnow()
        await insert_grids(conn, GRIDS, now)
        await conn.execute(text("INSERT INTO users (id, username, password_hash, role, is_active, token_version, "
                                "created_at) VALUES (1, 'bench-admin', :p, 'admin', true, 1, :now)"),
                           {"p": hash_password("bench-password"), "now": now})
    await engine.dispose()
    data = census_csv(rows)
    print(f"\n[census import] {rows:,} lines, {len(data) / 1e6:.1f} MB CSV; {_load()}", flush=True)
    with app_process(_env(url)) as (base, _server):
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            print(f"  before: {await _baseline(client)}", flush=True)
            probe = Probe(client)
            with probe:
                started = time.perf_counter()
                response = await client.post("/api/v1/subjects/import", headers=ADMIN,
                                             files={"file": ("census.csv", data, "text/csv")})
                accepted = time.perf_counter() - started
                assert response.status_code == 202, response.text
                status_url = response.json()["status_url"]
                checked_at = None
                while True:
                    job = (await client.get(status_url, headers=ADMIN)).json()
                    if checked_at is None and job["status"] == "writing":
                        checked_at = time.perf_counter() - started
                    if job["status"] not in ("queued", "checking", "writing"):
                        break
                    await asyncio.sleep(0.5)
                total = time.perf_counter() - started
            assert job["status"] == "done", job
            print(f"  upload answered 202 in {accepted:.1f}s; lines checked by {checked_at or total:.1f}s; "
                  f"{job['written_rows']:,} people enrolled in {total:.1f}s in all", flush=True)
            print(f"  during: {probe.summary()}; {_load()}", flush=True)


# --- exports ------------------------------------------------------------------------------------------


async def _sample_rss(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        await asyncio.sleep(0.1)


async def _download(client: httpx.AsyncClient, path: str, pid: int) -> tuple[float, int, int, int]:
    """Seconds, bytes, resting RSS and peak RSS of the app while streaming ``path`` to nowhere."""
    rest = psutil.Process(pid).memory_info().rss
    peak = [rest]
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, stop, peak))
    size = 0
    started = time.perf_counter()
    async with client.stream("GET", path, headers=ADMIN) as response:
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_bytes():
            size += len(chunk)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    return elapsed, size, rest, peak[0]


async def _big_database(admin_url: str, size: int, reuse: bool) -> str:
    name = f"hw_bench_brief_{size}"
    url = await _database(admin_url, name, fresh=not reuse)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            loaded = await conn.scalar(text("SELECT count(*) FROM subjects"))
    except Exception:
        loaded = None
    finally:
        await engine.dispose()
    if loaded != size:
        url = await _database(admin_url, name, fresh=True)
        await upgrade(url)
        # Without readings: neither the roster export nor the brief reads that table, and 14 million
        # readings make the load ten times longer.
        print(f"\n[{size:,} people] loading (no readings)… {_load()}", flush=True)
        engine = create_async_engine(url)
        try:
            stats = await seed(engine, size, now=utcnow(), rules=Settings(secret_key=SECRET).rules,
                               with_readings=False)
        finally:
            await engine.dispose()
        print(f"  loaded {stats['readings']:,.0f} readings in {stats['load_s']:.0f}s", flush=True)
    await upgrade(url)
    return url


async def bench_exports(url: str, size: int) -> None:
    print(f"\n[exports] roster of {size:,} people; {_load()}", flush=True)
    with app_process(_env(url)) as (base, server):
        async with httpx.AsyncClient(base_url=base, timeout=1800) as client:
            print(f"  before: {await _baseline(client)}", flush=True)
            for fmt in ("csv", "xlsx"):
                probe = Probe(client)
                with probe:
                    elapsed, nbytes, rest, peak = await _download(
                        client, f"/api/v1/exports/roster?format={fmt}", server.pid)
                print(f"  {fmt}: {nbytes / 1e6:.0f} MB in {elapsed:.0f}s; app RSS {rest / 2**20:.0f} MiB at rest, "
                      f"peak {peak / 2**20:.0f} MiB (+{(peak - rest) / 2**20:.0f} MiB); {probe.summary()}; "
                      f"{_load()}", flush=True)


# --- the brief ----------------------------------------------------------------------------------------


async def _timed(call: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def bench_brief(url: str, size: int, rounds: int) -> None:
    from server.brief.service import freeze_days
    from server.db import Database
    settings = Settings(secret_key=SECRET, environment="test")
    rules = settings.rules
    db = Database.from_url(url)
    now = utcnow()
    try:
        started = time.perf_counter()
        frozen = await freeze_days(db, now=now, rules=rules)
        print(f"\n[brief] {size:,} people: froze {frozen} past day(s) in {time.perf_counter() - started:.1f}s; "
              f"{_load()}", flush=True)
    finally:
        await db.dispose()
    today = now.astimezone(rules.tz).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    with app_process(_env(url)) as (base, _server):
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            async def past() -> None:
                assert (await client.get(f"/api/v1/brief?date={yesterday}", headers=ADMIN)).status_code == 200

            async def current() -> None:
                assert (await client.get("/api/v1/brief", headers=ADMIN)).status_code == 200

            async def clinician() -> None:
                assert (await client.get(f"/api/v1/brief?date={yesterday}", headers=CLINICIAN)).status_code == 200

            await past()
            for label, call, n in (("past date (admin)", past, rounds), ("past date (clinician, 2 grids)", clinician,
                                                                          rounds), ("today (admin)", current, 5)):
                timings = await _timed(call, n)
                print(f"  {label}: p50 {statistics.median(timings):.1f} ms, p95 {_pct(timings, 0.95):.1f} ms "
                      f"over {n}; {_load()}", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    admin_url = args.postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    if "import" in args.only:
        await bench_import(admin_url, args.import_rows)
    if {"exports", "brief", "load"} & set(args.only):
        url = await _big_database(admin_url, args.size, args.reuse)
        if "exports" in args.only:
            await bench_exports(url, args.size)
        if "brief" in args.only:
            await bench_brief(url, args.size, args.rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="people for the export and the brief")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="keep a database loaded by an earlier run")
    parser.add_argument("--only", default="import,exports,brief", type=lambda s: s.split(","),
                        help="any of import, exports, brief, load")
    parser.add_argument("--postgres-url", default=os.environ.get("HOMEWATCH_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres_url:
        sys.exit("set HOMEWATCH_BENCH_POSTGRES_URL (these figures are about PostgreSQL)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
