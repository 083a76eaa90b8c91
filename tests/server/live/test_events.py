"""Live events across real app processes (uvicorn), over real HTTP: what a roster page receives."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from server.context import AppContext
from server.settings import Settings
from tests.conftest import missing
from tests.factories import World, make_world

REDIS_URL = os.environ.get("HOMEWATCH_TEST_REDIS_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: Settings, *, redis_url: str | None, stream: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "HOMEWATCH_DATABASE_URL": settings.database_url, "HOMEWATCH_SECRET_KEY": settings.secret_key,
           "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_EVENT_STREAM": stream,
           "HOMEWATCH_MEDIA_DIR": str(settings.media_dir)}
    env.pop("HOMEWATCH_REDIS_URL", None)
    if redis_url:
        env["HOMEWATCH_REDIS_URL"] = redis_url
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "server.asgi:app", "--port", str(port),
                                "--timeout-graceful-shutdown", "2",
                                "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("the app process exited at start-up")
            import time

            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)


class Stream:
    """An SSE client collecting events into a queue."""

    def __init__(self, base: str, headers: dict[str, str], path: str = "/api/v1/events") -> None:
        self.base, self.headers, self.path = base, headers, path
        self.events: asyncio.Queue[tuple[str | None, str, dict[str, Any]]] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.last_id: str | None = None

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=None) as client:
            async with client.stream("GET", self.path, params={"heartbeat": 1}, headers=self.headers) as r:
                assert r.status_code == 200
                assert r.headers["content-type"].startswith("text/event-stream")
                self.opened.set()
                event_id, event_type, data = None, "message", ""
                async for line in r.aiter_lines():
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        event_type = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif line == "" and data:
                        await self.events.put((event_id, event_type, json.loads(data)))
                        event_id, event_type, data = None, "message", ""

    async def __aenter__(self) -> Stream:
        self.task = asyncio.create_task(self.run())
        await asyncio.wait_for(self.opened.wait(), 10)
        await asyncio.sleep(0.2)  # let the subscription attach before anything is published
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, Exception):
            pass

    async def next_for(self, subject_id: uuid.UUID, event_type: str, timeout: float = 10) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                event_id, kind, data = await self.events.get()
                self.last_id = event_id or self.last_id
                if kind == event_type and data.get("subject_id") == str(subject_id):
                    return data
        return await asyncio.wait_for(wait(), timeout)

    def drain(self) -> list[tuple[str | None, str, dict[str, Any]]]:
        items = []
        while not self.events.empty():
            items.append(self.events.get_nowait())
        return items


@pytest_asyncio.fixture
async def seeded(settings: Settings) -> AsyncIterator[tuple[Settings, World]]:
    ctx = AppContext.create(settings)
    try:
        yield settings, await make_world(ctx)
    finally:
        await ctx.db.dispose()


async def _post_reading(base: str, headers: dict[str, str], temperature: float) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/v1/readings", headers=headers, json={"temperature_c": temperature})
        assert response.status_code == 201, response.text


@pytest.mark.xdist_group("live")
async def test_reading_reaches_staff_stream_in_scope_only(seeded: tuple[Settings, World]) -> None:
    settings, world = seeded
    with serve(settings, redis_url=None, stream=f"t:{uuid.uuid4()}") as base:
        async with Stream(base, world.clin_a) as stream_a, Stream(base, world.clin_b) as stream_b:
            await _post_reading(base, world.subj_a, 38.7)
            event = await stream_a.next_for(world.subject_a.id, "reading.created")
            assert event["grid_id"] == world.grid_a.id
            assert event["status"] == "abnormal" and event["flags"][0] == "high_fever"
            assert event["temperature_c"] == 38.7
            alert = await stream_a.next_for(world.subject_a.id, "alert.opened")
            assert alert["kind"] == "high_fever"
            # A reading in grid B is the sentinel: once B sees it, B would have seen A's by now.
            await _post_reading(base, world.subj_b, 36.6)
            await stream_b.next_for(world.subject_b.id, "reading.created")
            seen_by_b = {data.get("subject_id") for _id, _kind, data in stream_b.drain()}
            assert str(world.subject_a.id) not in seen_by_b


@pytest.mark.xdist_group("live")
async def test_a_persons_stream_carries_their_own_calls_and_nothing_else(seeded: tuple[Settings, World]) -> None:
    settings, world = seeded
    with serve(settings, redis_url=None, stream=f"t:{uuid.uuid4()}") as base:
        async with Stream(base, world.subj_a, "/api/v1/me/events") as mine, \
                Stream(base, world.subj_b, "/api/v1/me/events") as theirs:
            await _post_reading(base, world.subj_a, 38.7)  # staff news: not for the person's pages
            async with httpx.AsyncClient(base_url=base) as client:
                rung = await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
                call_id = rung.json()["call_id"]
                ringing = await mine.next_for(world.subject_a.id, "call.requested")
                assert ringing["call_id"] == call_id and ringing["clinician"] and ringing["unit"]
                ended = await client.post(f"/api/v1/calls/{call_id}/end", headers=world.clin_a)
                assert ended.status_code == 204
            assert (await mine.next_for(world.subject_a.id, "call.ended"))["status"] == "missed"
            assert {kind for _id, kind, _data in mine.drain()} <= {"call.requested", "call.ended"}
            assert theirs.drain() == []
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/api/v1/me/events")).status_code == 401
            assert (await client.get("/api/v1/me/events", headers=world.clin_a)).status_code == 401


@pytest.mark.xdist_group("live")
async def test_unauthenticated_stream_is_refused(seeded: tuple[Settings, World]) -> None:
    settings, world = seeded
    with serve(settings, redis_url=None, stream=f"t:{uuid.uuid4()}") as base:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/api/v1/events")).status_code == 401
            assert (await client.get("/api/v1/events", headers=world.subj_a)).status_code == 401


def _require_redis() -> None:
    if not REDIS_URL:
        missing("two app processes share events through Redis: set HOMEWATCH_TEST_REDIS_URL")


# Several processes means PostgreSQL (SQLite is the single-process embedded default).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.xdist_group("live")
async def test_two_processes_share_events_and_resume_with_last_event_id(seeded: tuple[Settings, World]) -> None:
    settings, world = seeded
    _require_redis()
    stream_name = f"t:{uuid.uuid4()}"
    with serve(settings, redis_url=REDIS_URL, stream=stream_name) as one, \
            serve(settings, redis_url=REDIS_URL, stream=stream_name) as two:
        async with Stream(two, world.clin_a) as stream:
            await _post_reading(one, world.subj_a, 37.9)
            event = await stream.next_for(world.subject_a.id, "reading.created")
            assert event["status"] == "abnormal" and event["flags"][0] == "fever"
            resume_from = stream.last_id
        assert resume_from is not None
        # Disconnected: two readings happen meanwhile, posted to the other process.
        await _post_reading(one, world.subj_a, 36.6)
        await _post_reading(one, world.subj_a, 36.7)
        resumed = Stream(one, {**world.clin_a, "Last-Event-ID": resume_from})
        async with resumed:
            first = await resumed.next_for(world.subject_a.id, "reading.created")
            second = await resumed.next_for(world.subject_a.id, "reading.created")
        assert [first["temperature_c"], second["temperature_c"]] == [36.6, 36.7]
