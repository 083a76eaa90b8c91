"""Video slots: one check-in in progress per person, and a budget of check-ins per person and window
counted in the database (so every app process shares it); one person cannot fill the media lines."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection
from sqlalchemy import select

from server.context import AppContext
from server.models.checkins import Checkin
from server.rate_limit import RateLimit, take
from server.settings import Settings
from tests.conftest import Clock, make_settings
from tests.factories import World
from webrtc.testing import SyntheticVideoTrack, connect_client

from .conftest import Offerer, start_checkin

pytestmark = pytest.mark.webrtc


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, checkin_max_seconds=4, checkin_min_seconds=1.5,
                         checkin_snapshot_interval=0.5, checkin_max_snapshots=4, checkin_max_sessions=10,
                         checkin_rate_limit=3, checkin_rate_window_seconds=600)


async def _offer(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    offerer = Offerer(client, "/api/v1/checkins", headers)
    try:
        pc = await connect_client(offerer, SyntheticVideoTrack())
    except RuntimeError:
        pass
    else:
        await pc.close()
    assert offerer.response is not None
    return offerer.response


async def test_a_second_checkin_while_one_is_in_progress_is_refused(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, peers: list[RTCPeerConnection]) -> None:
    _pc, first = await start_checkin(client, world.subj_a, peers)
    second = await _offer(client, {**world.subj_a, "Accept-Language": "en"})
    assert second.status_code == 409, second.text
    assert second.json()["detail"].startswith("A video check-in of yours is already in progress")
    assert second.json()["checkin_id"] == first
    assert int(second.headers["Retry-After"]) > 0
    # Another person is not affected, and a line stays free for others: one person holds one.
    other = await _offer(client, world.subj_b)
    assert other.status_code == 201
    async with app_ctx.db.session() as session:
        assert len((await session.scalars(select(Checkin))).all()) == 2


async def test_concurrent_offers_of_one_person_start_one_checkin(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    answers = await asyncio.gather(*(_offer(client, world.subj_a) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409]


async def test_a_leftover_of_a_dead_process_does_not_block_for_ever(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, clock: Clock) -> None:
    async with app_ctx.db.session() as session:
        session.add(Checkin(subject_id=world.subject_a.id, grid_id=world.grid_a.id, status="live",
                            created_at=clock.now - timedelta(minutes=5)))
    assert (await _offer(client, world.subj_a)).status_code == 201


async def test_checkins_per_person_are_rate_limited(client: httpx.AsyncClient, world: World, app_ctx: AppContext,
                                                   clock: Clock) -> None:
    for _ in range(3):  # checkin_rate_limit
        response = await _offer(client, world.subj_a)
        assert response.status_code == 201
        await asyncio.sleep(0)
        clock.now += timedelta(seconds=70)  # each ended (or is a leftover) before the next
    refused = await _offer(client, {**world.subj_a, "Accept-Language": "zh-CN"})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 600 - 3 * 70 + 1
    assert "视频" in refused.json()["detail"]
    assert (await _offer(client, world.subj_b)).status_code == 201  # per person
    clock.now += timedelta(seconds=600)
    assert (await _offer(client, world.subj_a)).status_code == 201


async def test_the_budget_is_shared_through_the_database(app_ctx: AppContext, clock: Clock) -> None:
    """Two units of work (as two processes would have) count against one budget."""
    rate = RateLimit(limit=2, window_s=60)
    waits = []
    for _ in range(3):
        async with app_ctx.db.session() as session:
            waits.append(await take(session, "test:key", rate=rate, now=clock.now))
    assert waits[:2] == [0.0, 0.0] and waits[2] == 60.0
    async with app_ctx.db.session() as session:
        assert await take(session, "test:key", rate=rate, now=clock.now + timedelta(seconds=61)) == 0.0
