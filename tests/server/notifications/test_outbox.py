"""The outbox end to end: alerts and reminders become rows in their own transaction, and the worker
delivers each exactly once to real HTTP receivers on loopback, with retries while they are down."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Route

from server.auth.principal import SYSTEM_STAFF
from server.context import AppContext
from server.models import Alert
from server.models.notifications import FAILED, PENDING, SENT, OutboxMessage
from server.notifications import OutboundMessage
from server.notifications.outbox import LEASE, deliver_due
from server.readings.schemas import ReadingCreate
from server.readings.service import add_reading
from server.settings import Settings
from tests.conftest import Clock
from tests.factories import World
from tests.server.notifications.conftest import DINGTALK_SECRET, Receiver


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    return Settings(**{
        **settings.model_dump(),
        "dingtalk_webhook_url": f"http://127.0.0.1:{port}/dingtalk",
        "dingtalk_secret": DINGTALK_SECRET,
        "webhook_url": f"http://127.0.0.1:{port}/hook",
        "outbox_max_attempts": 3,
    })


@pytest_asyncio.fixture
async def late_receiver(port: int) -> AsyncIterator[tuple[Receiver, asyncio.Event]]:
    """A receiver that comes up on ``port`` only when the test sets the event."""
    receiver = Receiver()
    up = asyncio.Event()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])]),
                                           host="127.0.0.1", port=port, lifespan="off", log_level="warning"))

    async def serve() -> None:
        await up.wait()
        await server.serve()

    task = asyncio.create_task(serve())
    yield receiver, up
    server.should_exit = True
    if not up.is_set():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _start(up: asyncio.Event, port: int) -> None:
    up.set()
    async with asyncio.timeout(5):
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.02)


async def _rows(ctx: AppContext) -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.channel))).all())


async def test_alert_reaches_dingtalk_and_webhook_exactly_once_after_they_come_back(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock, port: int,
    late_receiver: tuple[Receiver, asyncio.Event],
) -> None:
    receiver, up = late_receiver
    response = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 39.1})
    assert response.status_code == 201
    rows = await _rows(app_ctx)
    assert [(r.channel, r.status) for r in rows] == [("dingtalk", PENDING), ("webhook", PENDING)]
    async with app_ctx.db.session() as session:
        alert = await session.scalar(select(Alert))
    assert alert is not None and {r.dedupe_key for r in rows} == {f"alert:{alert.id}:dingtalk",
                                                                    f"alert:{alert.id}:webhook"}

    # Both channels are down: nothing is lost, a retry is scheduled.
    assert await deliver_due(app_ctx, now=clock.now) == 2
    rows = await _rows(app_ctx)
    assert all(r.status == PENDING and r.attempts == 1 and r.next_attempt_at > clock.now for r in rows)
    assert all("cannot reach" in (r.last_error or "") for r in rows)
    assert await deliver_due(app_ctx, now=clock.now) == 0  # not due again yet

    await _start(up, port)
    later = clock.now + timedelta(hours=1)
    assert await deliver_due(app_ctx, now=later) == 2
    assert [r.status for r in await _rows(app_ctx)] == [SENT, SENT]
    assert await deliver_due(app_ctx, now=later + timedelta(hours=1)) == 0
    assert sorted(r.path for r in receiver.requests) == ["/dingtalk", "/hook"]
    dingtalk = next(r for r in receiver.requests if r.path == "/dingtalk")
    # The receiver answers errcode 310000 for a bad signature, which would have failed the row.
    assert dingtalk.query["timestamp"] and dingtalk.query["sign"]
    assert "王小明" in dingtalk.json()["markdown"]["text"] and "39.1" in dingtalk.json()["markdown"]["text"]
    hook = next(r for r in receiver.requests if r.path == "/hook").json()
    assert hook["data"]["alerts"][0]["alert_id"] == str(alert.id)


async def test_alerts_of_one_run_are_batched_into_one_message_per_channel(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock, port: int,
    late_receiver: tuple[Receiver, asyncio.Event],
) -> None:
    receiver, up = late_receiver
    await _start(up, port)
    for headers in (world.subj_a, world.subj_b):
        assert (await client.post("/api/v1/readings", headers=headers, json={"temperature_c": 38.0})).status_code == 201
    assert await deliver_due(app_ctx, now=clock.now) == 4
    assert sorted(r.path for r in receiver.requests) == ["/dingtalk", "/hook"]
    hook = next(r for r in receiver.requests if r.path == "/hook").json()
    assert len(hook["data"]["alerts"]) == 2 and "王小明" in hook["text"] and "李华" in hook["text"]


async def test_retries_back_off_then_fail_and_an_admin_can_retry(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock,
) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.0})
    now = clock.now
    first_delays = []
    for _attempt in range(3):
        assert await deliver_due(app_ctx, now=now) == 2
        rows = await _rows(app_ctx)
        if rows[0].status == PENDING:
            first_delays.append((rows[0].next_attempt_at - now).total_seconds())
            now = max(r.next_attempt_at for r in rows)
    assert len(first_delays) == 2 and 15 <= first_delays[0] <= 30 and 30 <= first_delays[1] <= 60
    rows = await _rows(app_ctx)
    assert [r.status for r in rows] == [FAILED, FAILED] and all(r.attempts == 3 for r in rows)
    assert all("gave up after 3 attempts" in (r.last_error or "") for r in rows)
    assert await deliver_due(app_ctx, now=now + timedelta(days=1)) == 0

    listing = await client.get("/api/v1/outbox", params={"status": "failed"}, headers=world.admin_h)
    assert listing.status_code == 200
    body = listing.json()
    assert body["counts"]["failed"] == 2 and body["counts"]["pending"] == 0
    assert all("cannot reach" in item["last_error"] for item in body["items"])
    assert (await client.get("/api/v1/outbox", headers=world.clin_a)).status_code == 403
    retried = await client.post(f"/api/v1/outbox/{body['items'][0]['id']}/retry", headers=world.admin_h)
    assert retried.status_code == 200 and retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    again = await client.post(f"/api/v1/outbox/{body['items'][0]['id']}/retry", headers=world.admin_h)
    assert again.status_code == 409


async def test_a_permanent_refusal_fails_at_once_with_the_reason(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock, port: int,
    late_receiver: tuple[Receiver, asyncio.Event],
) -> None:
    receiver, up = late_receiver
    await _start(up, port)
    receiver.answer_next("/hook", status=400)
    receiver.answer_next("/dingtalk", json={"errcode": 300001, "errmsg": "invalid token"})
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.0})
    assert await deliver_due(app_ctx, now=clock.now) == 2
    rows = await _rows(app_ctx)
    assert [r.status for r in rows] == [FAILED, FAILED]
    assert "errcode 300001" in (rows[0].last_error or "") and "HTTP 400" in (rows[1].last_error or "")


class SlowChannel:
    """Counts sends per message while yielding, so two workers overlap in time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> None:
        await asyncio.sleep(0.01)
        self.sent.append(message.text)


async def _add_rows(ctx: AppContext, n: int, now: datetime, channel: str = "sms") -> None:
    async with ctx.db.session() as session:
        for i in range(n):
            session.add(OutboxMessage(id=uuid.uuid4(), channel=channel, recipient="13800138000", title="t",
                                      text=f"message {i}", data={}, dedupe_key=f"test:{i}", status=PENDING,
                                      attempts=0, next_attempt_at=now, created_at=now))


async def test_concurrent_workers_never_send_one_row_twice(app_ctx: AppContext, clock: Clock) -> None:
    await _add_rows(app_ctx, 60, clock.now)
    sms = SlowChannel("sms")
    handled = await asyncio.gather(*(deliver_due(app_ctx, now=clock.now, channels={"sms": sms}) for _ in range(3)))
    assert sum(handled) == 60
    assert sorted(sms.sent) == sorted(f"message {i}" for i in range(60))
    assert {r.status for r in await _rows(app_ctx)} == {SENT}


async def test_a_row_left_sending_by_a_crashed_worker_is_taken_again_after_its_lease(
    app_ctx: AppContext, clock: Clock,
) -> None:
    await _add_rows(app_ctx, 1, clock.now)
    async with app_ctx.db.session() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None
        row.status, row.locked_until, row.attempts = "sending", clock.now + LEASE, 1
    sms = SlowChannel("sms")
    assert await deliver_due(app_ctx, now=clock.now, channels={"sms": sms}) == 0
    assert await deliver_due(app_ctx, now=clock.now + LEASE, channels={"sms": sms}) == 1
    assert sms.sent == ["message 0"]
    [row] = await _rows(app_ctx)
    assert row.status == SENT and row.attempts == 2


async def test_a_service_caller_that_names_no_channels_queues_nothing(app_ctx: AppContext, world: World) -> None:
    async with app_ctx.db.session() as session:
        await add_reading(session, subject=world.subject_b.subject, actor=SYSTEM_STAFF,
                          body=ReadingCreate(temperature_c=39.0), rules=app_ctx.settings.rules,
                          now=datetime(2026, 3, 10, 1, 31, tzinfo=UTC))
    assert await _rows(app_ctx) == []
