"""Throttled sign-in: guessers are slowed down more with every failure, the owner is never locked out for
long, nothing a client writes in a header changes whose attempts are counted, and every failure and
every refusal is in the audit trail."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from server.app import create_app
from server.audit.service import list_entries
from server.context import AppContext
from server.db import Database
from server.models import SignInThrottle
from server.proxies import client_of, parse_networks
from server.settings import Settings
from tests.conftest import Clock, make_settings
from tests.factories import PASSWORD, World, make_world

ROOT = Path(__file__).resolve().parents[3]


async def _sign_in(client: httpx.AsyncClient, password: str, username: str = "doc-a",
                   headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password},
                             headers=headers)


async def _actions(ctx: AppContext, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    async with ctx.db.session() as session:
        entries = await list_entries(session, limit=500)
    return [(e.action, e.detail) for e in reversed(entries) if e.action.startswith(prefix)]


async def test_each_failure_beyond_the_free_ones_doubles_the_wait_and_the_owner_gets_back_in(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World, clock: Clock
) -> None:
    free = app_ctx.settings.login_free_failures
    for _ in range(free):
        assert (await _sign_in(client, "bad-guess")).status_code == 401
    refused = await _sign_in(client, PASSWORD)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "1 seconds" in refused.json()["detail"]
    clock.now += timedelta(seconds=1)
    assert (await _sign_in(client, "bad-guess")).status_code == 401
    assert (await _sign_in(client, PASSWORD)).headers["Retry-After"] == "2"
    clock.now += timedelta(seconds=2)
    # Not fifteen minutes: the owner, typing the right password once the wait is over, is in.
    assert (await _sign_in(client, PASSWORD)).status_code == 200
    # ... and their username starts again from nothing (their address does not: one good account must
    # not wipe out what an address did with others).
    async with app_ctx.db.session() as session:
        rows = {row.key: row.failures for row in await session.scalars(select(SignInThrottle))}
    assert rows["user:doc-a"] == 0 and rows["ip:127.0.0.1"] == free + 1


async def test_the_wait_never_grows_beyond_the_maximum(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World, clock: Clock
) -> None:
    waits = []
    for _ in range(app_ctx.settings.login_free_failures + 24):
        response = await _sign_in(client, "bad-guess")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.now += timedelta(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert app_ctx.settings.login_max_delay_seconds == 300


async def test_concurrent_guesses_cannot_slip_past_the_throttle_together(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    responses = await asyncio.gather(*(_sign_in(client, f"guess-{i}") for i in range(20)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) == app_ctx.settings.login_free_failures
    assert statuses.count(429) == 20 - app_ctx.settings.login_free_failures


async def test_failures_and_refusals_are_audited_with_username_and_address(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    free = app_ctx.settings.login_free_failures
    for _ in range(free + 1):
        await _sign_in(client, "bad-guess")
    assert (await client.post("/api/v1/auth/subject-token", json={"access_code": "x" * 22})).status_code == 401
    staff = await _actions(app_ctx, "staff.login")
    assert [action for action, _ in staff] == ["staff.login_failed"] * free + ["staff.login_throttled"]
    assert staff[0][1] == {"username": "doc-a", "address": "127.0.0.1"}
    assert staff[-1][1] == {"username": "doc-a", "address": "127.0.0.1", "retry_after": 1}
    assert await _actions(app_ctx, "subject.link") == [("subject.link_refused", {"address": "127.0.0.1"})]


async def test_a_made_up_forwarded_for_does_not_escape_the_address_throttle(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    # Each guess for another username, each claiming another address: only the real address counts.
    statuses = [(await _sign_in(client, "bad-guess", username=f"user-{i}",
                                headers={"X-Forwarded-For": f"198.51.100.{i}"})).status_code for i in range(8)]
    free = app_ctx.settings.login_free_failures
    assert statuses == [401] * free + [429] * (8 - free)


@pytest_asyncio.fixture
async def behind_proxy(db: Database, settings: Settings, clock: Clock) -> Any:
    """The app behind a reverse proxy at 127.0.0.1 (the test client's address)."""
    proxied = make_settings(settings.database_url, settings.media_dir.parent, trusted_proxies="127.0.0.0/8")
    app = create_app(proxied, db=db)
    ctx: AppContext = app.state.ctx
    ctx.clock = clock
    async with app.router.lifespan_context(app):
        await make_world(ctx)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://homewatch.test") as http:
            yield ctx, http


async def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(behind_proxy: Any) -> None:
    ctx, client = behind_proxy
    free = ctx.settings.login_free_failures
    # The client's own left-hand entry is made up; the proxy appended the address it saw.
    attacker = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}
    statuses = [(await _sign_in(client, "bad-guess", username=f"user-{i}", headers=attacker)).status_code
                for i in range(free + 1)]
    assert statuses[-1] == 429
    other = await _sign_in(client, PASSWORD, headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 200
    failed = await _actions(ctx, "staff.login_failed")
    assert {detail["address"] for _, detail in failed} == {"203.0.113.7"}


def test_forwarded_for_is_read_from_the_right_and_only_from_trusted_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert client_of("127.0.0.1", "1.2.3.4, 203.0.113.7", proxies) == "203.0.113.7"
    assert client_of("127.0.0.1", "203.0.113.7, 10.0.0.5", proxies) == "203.0.113.7"
    assert client_of("127.0.0.1", "not-an-address", proxies) == "127.0.0.1"
    assert client_of("198.51.100.1", "203.0.113.7", proxies) == "198.51.100.1"
    assert client_of("198.51.100.1", "203.0.113.7", ()) == "198.51.100.1"


def test_the_image_believes_forwarded_for_only_from_configured_proxies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HOMEWATCH_TRUSTED_PROXIES=" in dockerfile
    assert "--forwarded-allow-ips" not in dockerfile and "--no-proxy-headers" in dockerfile
