"""A flood of wrong sign-ins, needing no account, must not take the app down for everyone else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import csrf_token

FLOOD = 50
# Generous for a loaded two-core machine; a drained pool answers after its 30 s timeout, or never.
PROMPT_S = 5.0

Attempt = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _api_staff(client: httpx.AsyncClient, i: int) -> httpx.Response:
    username = "doc-a" if i % 2 else f"nobody-{i}"
    return await client.post("/api/v1/auth/token", data={"username": username, "password": f"guess-{i}"})


async def _api_subject(client: httpx.AsyncClient, i: int) -> httpx.Response:
    return await client.post("/api/v1/auth/subject-token", json={"access_code": f"not-a-code-{i:012d}"})


async def _page_login(client: httpx.AsyncClient, i: int) -> httpx.Response:
    token = client.headers["x-test-csrf"]
    return await client.post("/login", data={"csrf_token": token, "username": "doc-a", "password": f"guess-{i}"})


async def _personal_link(client: httpx.AsyncClient, i: int) -> httpx.Response:
    return await client.get(f"/s/not-a-code-{i:012d}")


@pytest.mark.parametrize("attempt", [_api_staff, _api_subject, _page_login, _personal_link],
                         ids=["api-token", "api-subject-token", "login-page", "personal-link"])
async def test_fifty_concurrent_wrong_sign_ins_leave_the_app_answering(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World, attempt: Attempt
) -> None:
    client.headers["x-test-csrf"] = await csrf_token(client, "/login")
    clinician = world.clin_a
    # Open the pool's connections first: on a busy machine a new PostgreSQL connection alone can take
    # seconds, which is not what this test measures.
    warm = await asyncio.gather(*(client.get("/api/v1/roster", headers=clinician) for _ in range(8)))
    assert {r.status_code for r in warm} == {200}

    async def flood() -> list[int]:
        responses = await asyncio.gather(*(attempt(client, i) for i in range(FLOOD)), return_exceptions=True)
        return [r.status_code if isinstance(r, httpx.Response) else 599 for r in responses]

    async def meanwhile() -> list[float]:
        timings = []
        await asyncio.sleep(0.05)  # let the flood take whatever it takes first
        for _ in range(3):
            started = time.perf_counter()
            response = await client.get("/api/v1/roster", headers=clinician)
            assert response.status_code == 200
            timings.append(time.perf_counter() - started)
        return timings

    flood_task = asyncio.ensure_future(flood())
    try:
        timings = await asyncio.wait_for(meanwhile(), timeout=PROMPT_S * 3)
        statuses = await asyncio.wait_for(flood_task, timeout=60)
    finally:
        flood_task.cancel()
    assert max(timings) < PROMPT_S, timings
    assert set(statuses) <= {401, 429}, sorted(statuses)
    assert 401 in statuses
