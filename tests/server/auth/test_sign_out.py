"""Signing out revokes the token itself, in every app process; a released person's link closes after a
few days, with a page that says when their observation ended."""

from __future__ import annotations

from datetime import timedelta

import httpx

from server.auth.callers import STAFF_COOKIE, SUBJECT_COOKIE
from server.context import AppContext
from server.db import Database
from server.models import Subject
from server.subjects import release
from tests.conftest import Clock
from tests.factories import SYSTEM_ADMIN, World
from tests.server.pages.conftest import post_form


async def test_api_sign_out_revokes_the_bearer_token_in_every_process(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    headers = world.clin_a
    other_token = world.clin_a  # the same account signed in elsewhere keeps working
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/roster", headers=headers)).status_code == 401
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/roster", headers=other_token)).status_code == 200
    # Another app process (its own engine and pool) refuses it too: the revocation is in the database.
    other = Database.from_url(app_ctx.settings.database_url)
    try:
        async with other.session() as session:
            token = headers["Authorization"].removeprefix("Bearer ")
            assert await app_ctx.authenticator.caller(session, token, now=app_ctx.now()) is None
    finally:
        await other.dispose()


async def test_a_person_signs_out_with_their_token(client: httpx.AsyncClient, world: World) -> None:
    headers = world.subj_a
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_page_sign_out_revokes_the_cookie_not_only_deletes_it(
    client: httpx.AsyncClient, world: World
) -> None:
    token = world.clin_a["Authorization"].removeprefix("Bearer ")
    client.cookies.set(STAFF_COOKIE, token)
    response = await post_form(client, "/roster", "/logout", {})
    assert response.status_code == 303
    # A copy of the cookie (another tab, a stolen one) signs nobody in any more.
    assert (await client.get("/api/v1/roster", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    client.cookies.set(STAFF_COOKIE, token)
    assert (await client.get("/roster")).headers["location"].startswith("/login")


async def test_a_persons_page_sign_out_revokes_their_cookie(client: httpx.AsyncClient, world: World) -> None:
    token = world.subj_a["Authorization"].removeprefix("Bearer ")
    client.cookies.set(SUBJECT_COOKIE, token)
    response = await post_form(client, "/me", "/me/logout", {})
    assert response.status_code == 200
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def _release(app_ctx: AppContext, world: World) -> None:
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, world.subject_a.id, with_for_update=True)
        assert subject is not None
        await release.release(session, actor=SYSTEM_ADMIN, subject=subject, note="end of period", override=True,
                              rules=app_ctx.settings.rules, now=app_ctx.now(),
                              secret_key=app_ctx.settings.secret_key)


async def test_a_released_persons_link_works_for_a_few_days_then_shows_when_it_ended(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World, clock: Clock
) -> None:
    await _release(app_ctx, world)
    headers = world.subj_a
    days = app_ctx.settings.released_link_days
    clock.now += timedelta(days=days) - timedelta(minutes=1)
    assert (await client.get(f"/s/{world.subject_a.code}")).headers["location"] == "/me"
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    clock.now += timedelta(minutes=2)
    page = await client.get(f"/s/{world.subject_a.code}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 403
    assert "您的医学观察已结束" in page.text and "2026年3月10日" in page.text
    api = await client.post("/api/v1/auth/subject-token", json={"access_code": world.subject_a.code})
    assert api.status_code == 403
    assert api.json()["error"] == "link_closed" and api.json()["released_at"].startswith("2026-03-10")
    # A token signed in before then stops working too.
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
