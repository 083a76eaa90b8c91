"""Security headers (server/headers.py): CSP everywhere, HSTS and __Host- cookies over HTTPS (also behind a
trusted proxy), no-store on the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from server.app import create_app
from server.db import Database
from tests.conftest import make_settings
from tests.factories import World
from tests.server.pages.conftest import sign_in_staff


def _client(app: FastAPI, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 4000)), base_url=base_url)


@pytest.fixture
async def proxied_app(db_url: str, tmp_path: Path, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(db_url, tmp_path, trusted_proxies="10.0.0.0/8"), db=db)
    async with application.router.lifespan_context(application):
        yield application


async def test_every_page_and_answer_carries_the_content_security_policy(client: httpx.AsyncClient,
                                                                        world: World) -> None:
    sign_in_staff(client, world.ctx, world.admin)
    for path in ("/roster", "/login", "/api/v1/grids", "/no-such-page"):
        policy = (await client.get(path)).headers["content-security-policy"]
        for directive in ("script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"):
            assert directive in policy, (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


async def test_api_answers_are_not_stored_and_plain_http_gets_no_hsts(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    response = await client.get("/api/v1/grids", headers=world.admin_h)
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers
    assert "__Host-" not in (await client.get("/login")).headers["set-cookie"]


async def test_https_behind_a_trusted_proxy_gets_hsts_and_host_prefixed_secure_cookies(
        proxied_app: FastAPI, world: World) -> None:
    async with _client(proxied_app, "http://homewatch.test") as http:
        plain = await http.get("/login")
        assert "strict-transport-security" not in plain.headers
        over_https = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert over_https.headers["strict-transport-security"].startswith("max-age=")
        cookie = over_https.headers["set-cookie"]
        assert cookie.startswith("__Host-hw_csrf=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie


async def test_forwarded_proto_from_anyone_else_is_ignored(app: FastAPI) -> None:
    async with _client(app, "http://homewatch.test") as http:
        response = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in response.headers


async def test_over_https_only_host_prefixed_cookies_sign_in(app: FastAPI, world: World) -> None:
    token = world.ctx.tokens.issue("staff", str(world.admin.id), world.admin.token_version)
    async with _client(app, "https://homewatch.test") as http:
        # A bare cookie could have been planted by a sibling subdomain or over plain HTTP.
        http.cookies.set("hw_staff", token)
        planted = await http.get("/roster", follow_redirects=False)
        assert planted.status_code == 303
        http.cookies.clear()
        http.cookies.set("__Host-hw_staff", token)
        prefixed = await http.get("/roster")
        assert prefixed.status_code == 200
        assert prefixed.headers["strict-transport-security"]
