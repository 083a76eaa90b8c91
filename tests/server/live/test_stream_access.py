"""An open event stream ends, within one heartbeat, once its caller may no longer see what it carries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from server.auth.callers import Authenticator
from server.auth.security import Tokens
from server.context import AppContext
from tests.factories import World

HEARTBEAT_S = 1.0

Change = Callable[[httpx.AsyncClient, World, dict[str, str]], Awaitable[None]]


async def _patch_account(client: httpx.AsyncClient, world: World, body: dict[str, object]) -> None:
    response = await client.patch(f"/api/v1/users/{world.clinician_a.id}", headers=world.admin_h, json=body)
    assert response.status_code == 200, response.text


async def _deactivate(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    await _patch_account(client, world, {"is_active": False})


async def _new_password(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    await _patch_account(client, world, {"password": "a-brand-new-password"})


async def _other_grids(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    await _patch_account(client, world, {"grid_ids": [world.grid_b.id]})


async def _sign_out(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204


async def _open_stream(client: httpx.AsyncClient, headers: dict[str, str]) -> asyncio.Task[httpx.Response]:
    # The in-process transport answers once the body is complete, that is once the stream has ended.
    task = asyncio.ensure_future(client.get("/api/v1/events", headers=headers, params={"heartbeat": HEARTBEAT_S}))
    await asyncio.sleep(0.3)
    assert not task.done(), task.result().text
    return task


async def _ended(task: asyncio.Task[httpx.Response]) -> httpx.Response:
    try:
        # One heartbeat, plus room for a busy machine.
        return await asyncio.wait_for(task, HEARTBEAT_S + 4)
    finally:
        task.cancel()


@pytest.mark.parametrize("change", [_deactivate, _new_password, _other_grids, _sign_out],
                         ids=["deactivated", "new-password", "other-grids", "signed-out"])
async def test_stream_ends_within_a_heartbeat_when_access_changes(
    client: httpx.AsyncClient, world: World, change: Change
) -> None:
    headers = world.clin_a
    task = await _open_stream(client, headers)
    await change(client, world, headers)
    response = await _ended(task)
    assert response.status_code == 200
    assert 'event: reload\ndata: {"reason": "access"}' in response.text


async def test_stream_ends_when_its_token_expires(client: httpx.AsyncClient, app_ctx: AppContext,
                                                  world: World) -> None:
    headers = world.clin_a
    short_lived = Tokens(app_ctx.settings.secret_key, staff_ttl_s=1.5, subject_ttl_s=1.5)
    app_ctx.authenticator = Authenticator(short_lived, released_link_days=app_ctx.settings.released_link_days)
    task = await _open_stream(client, headers)
    response = await _ended(task)
    assert 'event: reload\ndata: {"reason": "access"}' in response.text
    assert (await client.get("/api/v1/events", headers=headers)).status_code == 401


async def test_stream_of_an_unchanged_account_stays_open(client: httpx.AsyncClient, world: World) -> None:
    task = await _open_stream(client, world.clin_a)
    await asyncio.sleep(HEARTBEAT_S * 2.5)
    assert not task.done()
    task.cancel()
