"""The deployment's topology as local processes (deploy/local-cluster): nginx round-robin in front of two
app processes on PostgreSQL and Redis, and coturn."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.context import AppContext
from server.db import Database
from tests.conftest import POSTGRES_URL, make_settings, missing

REPOSITORY = Path(__file__).resolve().parents[2]
LOCAL_CLUSTER = REPOSITORY / "deploy" / "local-cluster"
READY = "homewatch cluster ready "
REDIS_URL = os.environ.get("HOMEWATCH_TEST_REDIS_URL")
SECRET = "cluster-test-secret-key-long-enough"


@dataclass
class Cluster:
    url: str
    apps: list[str]
    pids: list[int]
    turn: str | None
    workdir: Path
    database_url: str

    def owner_index(self, owner: str | None) -> int:
        assert owner in self.apps, (owner, self.apps)
        return self.apps.index(owner)

    def kill(self, index: int) -> None:
        os.kill(self.pids[index], signal.SIGKILL)

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace") if path.exists() else ""


def _require_parts() -> None:
    for binary in ("/usr/sbin/nginx", "/usr/bin/turnserver"):
        if shutil.which(Path(binary).name) is None and not Path(binary).exists():
            missing(f"{Path(binary).name} is not installed (apt-get install nginx coturn)")
    if not POSTGRES_URL:
        missing("PostgreSQL: set HOMEWATCH_TEST_POSTGRES_URL (several processes need a shared database)")
    if not REDIS_URL:
        missing("Redis: set HOMEWATCH_TEST_REDIS_URL (several processes share events through it)")


async def _admin(sql: str) -> None:
    assert POSTGRES_URL
    engine = create_async_engine(POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1),
                                 isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def _start(args: list[str], workdir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    child = subprocess.Popen([sys.executable, str(LOCAL_CLUSTER), *args, "--workdir", str(workdir)],
                             cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=180)  # two app processes start slowly on a busy 2-core machine
        except queue.Empty:
            child.terminate()
            raise RuntimeError("local-cluster did not get ready:\n" + "".join(seen)) from None
        seen.append(line)
        if line.startswith(READY):
            return child, json.loads(line.removeprefix(READY))
        if child.poll() is not None and lines.empty():
            raise RuntimeError("local-cluster stopped:\n" + "".join(seen))


@pytest.fixture
def cluster_settings() -> dict[str, str]:
    """Settings of every app process of the cluster (a test module may override this fixture)."""
    # Short check-ins, so a completed one takes seconds rather than the production 10 s minimum.
    return {"HOMEWATCH_CHECKIN_MAX_SECONDS": "8", "HOMEWATCH_CHECKIN_MIN_SECONDS": "1.5",
            "HOMEWATCH_CHECKIN_SNAPSHOT_INTERVAL": "0.5", "HOMEWATCH_CHECKIN_MAX_SNAPSHOTS": "4"}


@pytest.fixture
def cluster(tmp_path: Path, cluster_settings: dict[str, str]) -> Iterator[Cluster]:
    _require_parts()
    assert POSTGRES_URL and REDIS_URL
    name = f"hw_cluster_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = POSTGRES_URL.rpartition("/")
    settings = {
        "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_SECRET_KEY": SECRET,
        # Its own stream, so other tests' events on the same Redis never reach these processes.
        "HOMEWATCH_EVENT_STREAM": f"homewatch:test:{name}",
        "HOMEWATCH_OUTBOX_WORKER_ENABLED": "false",
        **cluster_settings,
    }
    args = ["--database-url", f"{base}/{name}", "--redis-url", REDIS_URL]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    workdir = tmp_path / "cluster"
    child, ready = _start(args, workdir)
    try:
        yield Cluster(url=ready["url"], apps=[app["url"] for app in ready["apps"]],
                      pids=[app["pid"] for app in ready["apps"]], turn=ready["turn"], workdir=workdir,
                      database_url=f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1))
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest_asyncio.fixture
async def cluster_ctx(cluster: Cluster, tmp_path: Path) -> AsyncIterator[AppContext]:
    """An app context on the cluster's database and secret, to seed people and sign tokens (no lifespan:
    it serves nothing itself)."""
    settings = make_settings(cluster.database_url, tmp_path, secret_key=SECRET)
    db = Database.from_url(settings.database_url)
    app = create_app(settings, db=db)
    ctx: AppContext = app.state.ctx
    try:
        yield ctx
    finally:
        await db.dispose()
