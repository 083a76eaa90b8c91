"""Live event latency: reading POST → event received on every connected staff stream.

    python -m bench.events --clients 1000                    # one app process, in-process bus
    python -m bench.events --clients 1000 --processes 2      # two processes sharing Redis + PostgreSQL

Clients are raw asyncio SSE readers (cheap enough that 1,000 fit in one client process), split over the
app processes; readings are posted to the first process one at a time. Prints p50/p95/max and how
many (client, event) deliveries were missed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.app_process import app_process, free_port
from bench.roster import _pct
from server.auth.principal import SYSTEM_STAFF
from server.auth.security import Tokens
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.migrate import upgrade
from server.settings import Settings
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user

SECRET = "bench-secret-key-bench-secret-key"


async def _seed(url: str, subjects: int) -> tuple[int, list[str]]:
    await upgrade(url)
    db = Database.from_url(url)
    settings = Settings(secret_key=SECRET, environment="test")
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name=f"bench-{uuid.uuid4().hex[:6]}")
            admin = await create_user(session, actor=SYSTEM_STAFF, username=f"a{uuid.uuid4().hex[:8]}",
                                      password="bench-password", role="admin", grid_ids=[])
            ids = []
            for i in range(subjects):
                body = SubjectCreate(full_name=f"测试{i}", phone=f"1380000{i:04d}", grid_id=grid.id,
                                     observation_type="home", reason="bench")
                subject, _ = await enrol(session, actor=SYSTEM_STAFF, rules=settings.rules, now=utcnow(), body=body)
                ids.append(str(subject.id))
        return admin.id, ids
    finally:
        await db.dispose()


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.received: dict[str, float] = {}
        self.ready = asyncio.Event()

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write((f"GET /api/v1/events?heartbeat=15 HTTP/1.1\r\nHost: bench\r\n"
                      f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        try:
            while line := await reader.readline():
                if not self.ready.is_set() and line.startswith(b"HTTP/1.1 200"):
                    self.ready.set()
                if b"reading.created" not in line and line.startswith(b"data:") and b'"reading_id"' in line:
                    data = json.loads(line[5:])
                    self.received.setdefault(data["reading_id"], time.perf_counter())
        finally:
            writer.close()


async def _run(args: argparse.Namespace) -> None:
    if args.processes > 1:
        if not (args.postgres_url and args.redis_url):
            sys.exit("two processes need --postgres-url and --redis-url (or HOMEWATCH_TEST_* variables)")
        admin_url = args.postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text('DROP DATABASE IF EXISTS "hw_bench_events" WITH (FORCE)'))
            await conn.execute(text('CREATE DATABASE "hw_bench_events"'))
        await engine.dispose()
        url = admin_url.rsplit("/", 1)[0] + "/hw_bench_events"
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'events.db'}"
    admin_id, subject_ids = await _seed(url, 20)
    tokens = Tokens(SECRET, staff_ttl_s=3600, subject_ttl_s=3600)
    staff_token = tokens.issue("staff", str(admin_id), 1)
    env = {**os.environ, "HOMEWATCH_DATABASE_URL": url, "HOMEWATCH_SECRET_KEY": SECRET,
           "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_EVENT_STREAM": f"bench:{uuid.uuid4()}",
           "HOMEWATCH_SCHEDULER_ENABLED": "false"}
    if args.processes > 1:
        env["HOMEWATCH_REDIS_URL"] = args.redis_url
    with ExitStack() as servers:
        ports = [free_port() for _ in range(args.processes)]
        for port in ports:
            servers.enter_context(app_process(env, port=port, extra_args=("--backlog", "4096")))
        async with httpx.AsyncClient(timeout=30) as http:
            clients = [Client(ports[i % len(ports)], staff_token) for i in range(args.clients)]
            tasks = [asyncio.create_task(c.run()) for c in clients]
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 120)
            await asyncio.sleep(1.0)
            sent: dict[str, float] = {}
            subject_headers = [{"Authorization": f"Bearer {tokens.issue('subject', s, 1)}"} for s in subject_ids]
            for i in range(args.readings):
                reading_id = str(uuid.uuid4())
                sent[reading_id] = time.perf_counter()
                response = await http.post(f"http://127.0.0.1:{ports[0]}/api/v1/readings",
                                           headers=subject_headers[i % len(subject_headers)],
                                           json={"id": reading_id, "temperature_c": 36.5})
                response.raise_for_status()
                await asyncio.sleep(args.interval)
            await asyncio.sleep(3.0)
            for task in tasks:
                task.cancel()
    latencies = [(c.received[r] - t) * 1000 for c in clients for r, t in sent.items() if r in c.received]
    missed = sum(1 for c in clients for r in sent if r not in c.received)
    print(f"processes={args.processes} clients={args.clients} readings={args.readings}: "
          f"p50 {statistics.median(latencies):.1f} ms, p95 {_pct(latencies, 0.95):.1f} ms, "
          f"max {max(latencies):.1f} ms, missed {missed} of {len(clients) * len(sent)} deliveries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--readings", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--postgres-url", default=os.environ.get("HOMEWATCH_BENCH_POSTGRES_URL")
                        or os.environ.get("HOMEWATCH_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("HOMEWATCH_TEST_REDIS_URL"))
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
