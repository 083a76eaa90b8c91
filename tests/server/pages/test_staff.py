from __future__ import annotations

import httpx

from server.context import AppContext
from server.deps import STAFF_COOKIE
from tests.factories import PASSWORD, World
from tests.server.pages.conftest import csrf_token, post_form, sign_in_staff, sign_in_subject


async def test_staff_signs_in_and_out(client: httpx.AsyncClient, world: World) -> None:
    response = await post_form(client, "/login", "/login", {"username": "doc-a", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/roster"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{STAFF_COOKIE}="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert (await client.get("/roster")).status_code == 200

    response = await post_form(client, "/roster", "/logout", {})
    assert response.status_code == 303
    assert (await client.get("/roster")).headers["location"] == "/login?next=%2Froster"


async def test_wrong_password_is_refused_in_the_readers_language(client: httpx.AsyncClient, world: World) -> None:
    response = await post_form(client, "/login", "/login", {"username": "doc-a", "password": "nope"})
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.text
    assert 'value="doc-a"' in response.text


async def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client: httpx.AsyncClient,
                                                                             world: World) -> None:
    response = await post_form(client, "/login", "/login",
                               {"username": "admin", "password": PASSWORD, "next": "/admin/audit"})
    assert response.headers["location"] == "/admin/audit"
    client.cookies.clear()
    response = await post_form(client, "/login", "/login",
                               {"username": "admin", "password": PASSWORD, "next": "//evil.example/"})
    assert response.headers["location"] == "/admin"


async def test_a_form_without_its_csrf_token_is_refused_with_a_readable_page(client: httpx.AsyncClient,
                                                                            app_ctx: AppContext, world: World) -> None:
    sign_in_staff(client, app_ctx, world.clinician_a)
    await csrf_token(client, "/roster")
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert "表单已过期或并非来自本站" in response.text
    response = await client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403


async def test_a_token_from_another_browser_is_refused(client: httpx.AsyncClient, app_ctx: AppContext,
                                                       world: World) -> None:
    token = await csrf_token(client, "/login")
    client.cookies.delete("hw_csrf")
    await client.get("/login")  # a fresh cookie: the old token no longer matches it
    response = await client.post("/login", data={"csrf_token": token, "username": "admin", "password": PASSWORD})
    assert response.status_code == 403


async def test_start_page_sends_each_person_where_they_belong(client: httpx.AsyncClient, app_ctx: AppContext,
                                                              world: World) -> None:
    assert (await client.get("/")).headers["location"] == "/login"
    sign_in_subject(client, app_ctx, world.subject_a)
    assert (await client.get("/")).headers["location"] == "/me"
    sign_in_staff(client, app_ctx, world.clinician_a)
    assert (await client.get("/")).headers["location"] == "/roster"
    sign_in_staff(client, app_ctx, world.admin)
    assert (await client.get("/")).headers["location"] == "/admin"


async def test_clinician_is_refused_the_admin_pages(client: httpx.AsyncClient, app_ctx: AppContext,
                                                    world: World) -> None:
    sign_in_staff(client, app_ctx, world.clinician_a)
    response = await client.get("/admin")
    assert response.status_code == 403
    assert "只有管理员可以进行此操作。" in response.text
