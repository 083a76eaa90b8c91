from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import exc as sa_exc

from bench.app_process import free_port
from server.app import create_app
from server.db import database_unreachable
from tests.conftest import make_settings


@pytest_asyncio.fixture
async def app_without_database(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens on this port: every connection attempt is refused, as while PostgreSQL restarts.
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone"
    app = create_app(make_settings(url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://homewatch.test") as http:
            token = app.state.ctx.tokens.issue("subject", str(uuid.uuid4()), 1)
            http.headers["Authorization"] = f"Bearer {token}"
            yield http


async def test_an_unreachable_database_answers_503_with_retry_after(
    app_without_database: httpx.AsyncClient,
) -> None:
    response = await app_without_database.post("/api/v1/readings", json={"temperature_c": 36.5})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == "unavailable"
    assert "try again" in response.json()["detail"]
    chinese = await app_without_database.get("/api/v1/me", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 503 and "稍后" in chinese.json()["detail"]
    page = await app_without_database.get("/s/some-personal-code", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("error", "unreachable"), [
    (sa_exc.DBAPIError("SELECT 1", {}, Exception("closed mid-query"), connection_invalidated=True), True),
    (sa_exc.OperationalError("BEGIN", {}, Exception("database is locked")), True),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
    (sa_exc.DataError("INSERT", {}, Exception("value out of range")), False),
    (ValueError("a bug"), False),
])
def test_only_connection_failures_count_as_unreachable(error: Exception, unreachable: bool) -> None:
    assert database_unreachable(error) is unreachable
