"""Request bodies over the limit answer 413 before anything parses them (server/body_limit.py): declared
ones at once, chunked ones as they pass the limit; every route, signed in or not; uploads have their own
limit and are not read past it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from server.app import create_app
from server.body_limit import BodyLimit, describe_size
from server.db import Database
from server.errors import AppError
from tests.conftest import make_settings
from tests.factories import World

LIMIT = 4096
UPLOAD_LIMIT = 64 * 1024


@pytest.fixture
async def small_app(db_url: str, tmp_path: Path, db: Database) -> AsyncIterator[FastAPI]:
    settings = make_settings(db_url, tmp_path, max_body_bytes=LIMIT, max_upload_bytes=UPLOAD_LIMIT)
    application = create_app(settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def small(small_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_app), base_url="http://homewatch.test") as c:
        yield c


async def _chunks(total: int, size: int = 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("path", ["/api/v1/auth/subject-token", "/api/v1/auth/token", "/api/v1/readings",
                                  "/login", "/api/v1/no-such-route"])
async def test_a_declared_body_over_the_limit_is_refused_unauthenticated(small: httpx.AsyncClient,
                                                                         path: str) -> None:
    response = await small.post(path, content=b"{" + b" " * LIMIT + b"}",
                                headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"})
    assert response.status_code == 413, response.text
    if path.startswith("/api/"):
        assert response.json() == {"error": "too_large", "detail": "请求过大：这里最多可以发送 4 KB。"}
    else:
        assert "4 KB" in response.text  # a page, in the reader's language


async def test_a_chunked_body_is_counted_as_it_arrives(small: httpx.AsyncClient) -> None:
    response = await small.post("/api/v1/auth/subject-token", content=_chunks(LIMIT * 4),
                                headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert response.status_code == 413
    assert response.json()["detail"] == "The request is too large: at most 4 KB may be sent here."


async def test_bodies_within_the_limit_reach_the_route(small: httpx.AsyncClient, world: World) -> None:
    chunked = await small.post("/api/v1/auth/subject-token", content=_chunks(100),
                               headers={"Content-Type": "application/json"})
    assert chunked.status_code == 422  # parsed: not JSON
    fine = await small.post("/api/v1/auth/subject-token", json={"access_code": world.subject_a.code})
    assert fine.status_code == 200


async def test_uploads_have_their_own_limit(small: httpx.AsyncClient, world: World) -> None:
    header = "姓名,手机号,网格,原因\n张三,13800000001,东园社区,返乡\n".encode()
    # Larger than the JSON limit, within the upload limit: the route reads it.
    within = header + b"\n" * (LIMIT * 2)
    response = await small.post("/api/v1/subjects/import", headers=world.admin_h,
                                files={"file": ("c.csv", within, "text/csv")})
    assert response.status_code == 201, response.text
    over = await small.post("/api/v1/subjects/import", headers=world.admin_h,
                            files={"file": ("c.csv", header + b"\n" * UPLOAD_LIMIT, "text/csv")})
    assert over.status_code == 413
    # The same size is too large for a route that takes JSON.
    json_route = await small.post("/api/v1/grids", headers=world.admin_h, content=b"\n" * (LIMIT * 2))
    assert json_route.status_code == 413


async def test_the_app_never_reads_past_the_limit() -> None:
    """The middleware stops passing the body on at the limit: an upload is never spooled whole."""
    read: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            read.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break

    async def render(request: Request, error: AppError) -> Response:
        return PlainTextResponse(error.detail, status_code=error.status_code)

    middleware = BodyLimit(app, max_body=10, max_upload=10, upload_paths=(), render=render)
    chunks: list[Message] = [{"type": "http.request", "body": b"x" * 6, "more_body": True} for _ in range(100)]
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/x", "headers": [], "query_string": b""}
    await middleware(scope, receive, send)
    assert sum(read) == 6 and len(chunks) == 98  # the second chunk passed the limit and never reached the app
    assert sent[0]["status"] == 413


def test_sizes_read_as_people_write_them() -> None:
    assert describe_size(1024 * 1024) == "1 MB"
    assert describe_size(5 * 1024 * 1024) == "5 MB"
    assert describe_size(4096) == "4 KB"
    assert describe_size(300) == "300 bytes"
