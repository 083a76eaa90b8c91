"""Cookie-signed API writes need the page's CSRF token and our own origin (server/csrf.py); bearer-token
calls do not. The token is bound to the sign-in: one taken from another session is refused."""

from __future__ import annotations

import re

import httpx

from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import CSRF_RE, sign_in_staff, sign_in_subject

META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
ORIGIN = {"Origin": "http://homewatch.test"}
READING = {"temperature_c": 36.6}


async def _page_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = META_RE.search(page.text)
    assert match, (path, page.status_code)
    return match[1]


async def test_cookie_signed_writes_without_the_token_are_refused(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                 world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    token = await _page_token(client, "/me")
    refused = await client.post("/api/v1/readings", json=READING, headers={**ORIGIN, "Accept-Language": "zh-CN"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "csrf_refused"
    assert "重新加载" in refused.json()["detail"] or "刷新" in refused.json()["detail"]
    wrong_site = await client.post("/api/v1/readings", json=READING,
                                   headers={"Origin": "https://evil.example", "X-CSRF-Token": token})
    assert wrong_site.status_code == 403
    no_origin = await client.post("/api/v1/readings", json=READING, headers={"X-CSRF-Token": token})
    assert no_origin.status_code == 403
    forged = await client.post("/api/v1/readings", json=READING, headers={**ORIGIN, "X-CSRF-Token": token + "x"})
    assert forged.status_code == 403
    accepted = await client.post("/api/v1/readings", json=READING, headers={**ORIGIN, "X-CSRF-Token": token})
    assert accepted.status_code == 201, accepted.text
    by_referer = await client.post("/api/v1/readings", json=READING,
                                   headers={"Referer": "http://homewatch.test/me", "X-CSRF-Token": token})
    assert by_referer.status_code == 201, by_referer.text


async def test_bearer_token_calls_need_no_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", json=READING,
                                 headers={**world.subj_a, "Origin": "https://other.example"})
    assert response.status_code == 201
    # Reads are never refused: a cross-site read cannot see the answer.
    client.cookies.set("hw_staff", world.ctx.tokens.issue("staff", str(world.admin.id), world.admin.token_version))
    assert (await client.get("/api/v1/grids")).status_code == 200


async def test_a_token_from_another_session_is_refused(client: httpx.AsyncClient, app_ctx: AppContext,
                                                      world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    token_a = await _page_token(client, "/me")
    # The same browser (same CSRF cookie) now signed in as someone else.
    sign_in_subject(client, app_ctx, world.subject_b)
    refused = await client.post("/api/v1/readings", json=READING, headers={**ORIGIN, "X-CSRF-Token": token_a})
    assert refused.status_code == 403
    token_b = await _page_token(client, "/me")
    assert token_b != token_a
    assert (await client.post("/api/v1/readings", json=READING,
                              headers={**ORIGIN, "X-CSRF-Token": token_b})).status_code == 201


async def test_a_form_token_from_another_session_is_refused(client: httpx.AsyncClient, app_ctx: AppContext,
                                                           world: World) -> None:
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get(f"/subjects/{world.subject_a.id}")
    match = CSRF_RE.search(page.text)
    assert match
    sign_in_staff(client, app_ctx, world.admin)
    refused = await client.post(f"/subjects/{world.subject_a.id}/note",
                                data={"csrf_token": match[1], "clinician_note": "hello"})
    assert refused.status_code == 403
