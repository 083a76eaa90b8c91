"""/metrics: off unless a token is set, then only for it; the figures move with what the process does."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.context import AppContext
from server.db import Database
from server.events import InProcessEventBus, event_stream
from server.scheduler.service import sweep_once
from server.settings import Settings
from tests.conftest import Clock, make_settings
from tests.factories import World

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, metrics_token=TOKEN)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_need_their_token(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/metrics", headers=world.admin_h)).status_code == 401  # a staff token is not it


async def test_metrics_are_not_served_without_a_token_set(db_url: str, tmp_path: Path, db: Database) -> None:
    app: FastAPI = create_app(make_settings(db_url, tmp_path), db=db)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://homewatch.test") as client:
        assert (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404


async def test_the_figures_follow_requests_readings_the_outbox_and_the_sweep(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, clock: Clock) -> None:
    before = await scrape(client)
    for temperature in (36.6, 38.9):
        response = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": temperature})
        assert response.status_code == 201
    await sweep_once(app_ctx, app_ctx.now())
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("homewatch_readings_ingested_total", source="self") == 2
    # By route template, never by a person's id.
    assert delta("homewatch_http_requests_total", method="POST", route="/api/v1/readings", status="201") == 2
    assert not any(str(world.subject_a.id) in str(labels) for _name, labels in after)
    assert delta("homewatch_http_request_duration_seconds_count", method="POST", route="/api/v1/readings") == 2
    await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)
    templated = await scrape(client)
    assert templated[("homewatch_http_requests_total", (("method", "GET"), ("route", "/api/v1/subjects/{subject_id}"),
                                                        ("status", "200")))] >= 1
    assert delta("homewatch_sweep_duration_seconds_count") == 1
    assert after[("homewatch_sweep_lag_seconds", ())] >= 0
    # The fever's alert is queued for the staff channels only when one is configured; the gauge is there.
    assert ("homewatch_media_sessions", (("kind", "checkin"),)) in after
    assert ("homewatch_live_checkins", ()) in after
    assert ("homewatch_db_pool_in_use", ()) in after
    assert ("homewatch_event_stream_clients", ()) in after


async def test_outbox_backlog_is_counted_by_channel_and_status(client: httpx.AsyncClient, world: World,
                                                                app_ctx: AppContext) -> None:
    from server.models.notifications import OutboxMessage

    async with app_ctx.db.session() as session:
        session.add_all([
            OutboxMessage(channel="sms", recipient="+8613800138000", title="t", text="x", dedupe_key="a"),
            OutboxMessage(channel="sms", recipient="+8613800138000", title="t", text="x", dedupe_key="b"),
            OutboxMessage(channel="webpush", title="t", text="x", dedupe_key="c", status="failed"),
            OutboxMessage(channel="sms", recipient="+8613800138000", title="t", text="x", dedupe_key="d",
                          status="sent"),
        ])
    figures = await scrape(client)
    assert figures[("homewatch_outbox_messages", (("channel", "sms"), ("status", "pending")))] == 2
    assert figures[("homewatch_outbox_messages", (("channel", "webpush"), ("status", "failed")))] == 1
    assert ("homewatch_outbox_messages", (("channel", "sms"), ("status", "sent"))) not in figures


async def test_event_stream_clients_are_counted_while_open(client: httpx.AsyncClient) -> None:
    # Driven directly: the test transport reads a whole response before returning, and a stream never ends.
    bus = InProcessEventBus()
    before = (await scrape(client))[("homewatch_event_stream_clients", ())]
    stream = event_stream(bus, last_event_id=None, allow=lambda event: True, heartbeat_seconds=60)
    pending = asyncio.ensure_future(anext(stream))
    async with asyncio.timeout(2):
        while bus.subscriber_count == 0:
            await asyncio.sleep(0)
    assert (await scrape(client))[("homewatch_event_stream_clients", ())] == before + 1
    pending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pending
    await stream.aclose()
    assert (await scrape(client))[("homewatch_event_stream_clients", ())] == before
