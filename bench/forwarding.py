"""What forwarding costs: a clinician's watch offer sent to the app process holding the check-in, and the same
offer sent to the other process, which forwards it (server/checkins/cluster.py).

    python -m bench.forwarding --postgres-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0 [--rounds 20]

Starts deploy/local-cluster (two app processes, nginx; no coturn) on a database of its own, keeps one
320×240 check-in live on the first process, then alternates watch offers to each process and prints the
median and p90 of offer → answer and offer → first decoded frame at the viewer."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiortc import RTCPeerConnection
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.auth.principal import SYSTEM_STAFF
from server.auth.security import Tokens
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.settings import Settings
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from webrtc.testing import SyntheticVideoTrack, connect_client, receive_frames, received_track

SECRET = "bench-secret-key-bench-secret-key"
REPOSITORY = Path(__file__).resolve().parent.parent
READY = "homewatch cluster ready "


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1),
                                 isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def _seed(database_url: str) -> tuple[dict[str, str], dict[str, str]]:
    settings = Settings(environment="test", database_url=database_url, secret_key=SECRET)
    tokens = Tokens(SECRET, staff_ttl_s=3600, subject_ttl_s=3600)
    db = Database.from_url(database_url)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name="bench")
            user = await create_user(session, actor=SYSTEM_STAFF, username="bench-doc", password="bench-password",
                                     role="clinician", grid_ids=[grid.id])
            subject, _ = await enrol(session, actor=SYSTEM_STAFF, rules=settings.rules, now=utcnow(),
                                     body=SubjectCreate(full_name="bench", phone="13700000999", grid_id=grid.id,
                                                        observation_type="home", reason="bench"))
    finally:
        await db.dispose()
    staff = tokens.issue("staff", str(user.id), user.token_version)
    person = tokens.issue("subject", str(subject.id), subject.access_code_version)
    return {"Authorization": f"Bearer {staff}"}, {"Authorization": f"Bearer {person}"}


class _Offer:
    def __init__(self, http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.http, self.url, self.headers = http, url, headers
        self.body: dict[str, str] = {}
        self.sent_at = self.answered_at = 0.0

    async def __call__(self, sdp: str, type: str) -> tuple[str, str]:
        self.sent_at = time.perf_counter()
        response = await self.http.post(self.url, headers=self.headers, json={"sdp": sdp, "type": type})
        response.raise_for_status()
        self.answered_at = time.perf_counter()
        self.body = response.json()
        return self.body["sdp"], self.body["type"]


async def _measure(apps: list[str], database_url: str, rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    staff, person = await _seed(database_url)
    results: dict[str, tuple[list[float], list[float]]] = {"owner": ([], []), "forwarded": ([], [])}
    async with httpx.AsyncClient(timeout=30) as http:
        start = _Offer(http, f"{apps[0]}/api/v1/checkins", person)
        phone = await connect_client(start, SyntheticVideoTrack())
        try:
            await asyncio.sleep(2)
            for _ in range(rounds):
                for label, app in (("owner", apps[0]), ("forwarded", apps[1])):
                    offer = _Offer(http, f"{app}/api/v1/checkins/{start.body['checkin_id']}/watch", staff)
                    viewer: RTCPeerConnection = await connect_client(offer, None)
                    try:
                        await receive_frames(received_track(viewer, "video"), count=1, timeout=10)
                        first_frame = time.perf_counter()
                    finally:
                        await viewer.close()
                    answers, frames = results[label]
                    answers.append((offer.answered_at - offer.sent_at) * 1000)
                    frames.append((first_frame - offer.sent_at) * 1000)
        finally:
            await phone.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("HOMEWATCH_BENCH_POSTGRES_URL"), required=False)
    parser.add_argument("--redis-url", default=os.environ.get("HOMEWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("--postgres-url (or HOMEWATCH_BENCH_POSTGRES_URL) is needed: several processes share PostgreSQL")
    name = f"hw_bench_fwd_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    base = args.postgres_url.rpartition("/")[0]
    workdir = Path(tempfile.mkdtemp(prefix="hw-bench-forwarding-"))
    child = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "deploy" / "local-cluster"), "--database-url", f"{base}/{name}",
         "--redis-url", args.redis_url, "--no-turn", "--workdir", str(workdir),
         "--set", "HOMEWATCH_ENVIRONMENT=test", "--set", f"HOMEWATCH_SECRET_KEY={SECRET}",
         "--set", "HOMEWATCH_CHECKIN_MAX_SECONDS=600", "--set", f"HOMEWATCH_EVENT_STREAM=homewatch:bench:{name}"],
        cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(READY):
                ready = json.loads(line.removeprefix(READY))
                break
        else:
            raise SystemExit(f"local-cluster did not start; logs in {workdir}")
        database_url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        results = asyncio.run(_measure([app["url"] for app in ready["apps"]], database_url, args.rounds))
        print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
        for label, (answers, frames) in results.items():
            p90 = statistics.quantiles(answers, n=10)[-1]
            print(f"{label:>9}: offer→answer median {statistics.median(answers):.0f} ms, p90 {p90:.0f} ms; "
                  f"offer→first frame median {statistics.median(frames):.0f} ms (n={len(answers)})")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(60)
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
