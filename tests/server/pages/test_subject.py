from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from server.context import AppContext
from server.deps import SUBJECT_COOKIE
from server.models import Alert, Reading, Subject
from tests.factories import World
from tests.server.pages.conftest import post_form, sign_in_subject, text


async def test_personal_link_signs_in_with_an_httponly_cookie_and_lands_on_me(client: httpx.AsyncClient,
                                                                             world: World) -> None:
    response = await client.get(f"/s/{world.subject_a.code}")
    assert response.status_code == 303
    assert response.headers["location"] == "/me"
    assert response.headers["referrer-policy"] == "no-referrer"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SUBJECT_COOKIE}="))
    assert "httponly" in cookie.lower()
    page = await client.get("/me")
    assert page.status_code == 200
    assert "王小明，您好" in page.text
    assert "医学观察第 1 天（共 14 天）" in page.text
    assert 'inputmode="decimal"' in page.text
    assert "12320" in page.text


async def test_unknown_link_explains_what_to_do(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/s/not-a-real-code-at-all")
    assert response.status_code == 401
    assert "此链接已失效。请向网格员索取新链接。" in response.text
    assert SUBJECT_COOKIE not in response.headers.get("set-cookie", "")


async def test_me_without_a_sign_in_goes_to_the_start(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    login = await client.get("/login")
    assert "请打开您的专属链接" in login.text


async def test_report_is_saved_and_confirmed(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    response = await post_form(client, "/me", "/me/readings",
                               {"temperature_c": "38.6", "method": "armpit", "symptoms": ["cough"], "note": ""})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/me?saved=")
    page = await client.get(response.headers["location"])
    shown = text(page)
    assert "已保存" in shown
    assert "38.6 °C" in shown
    assert "这是高热" in shown
    assert "咳嗽" in shown
    assert "<svg" in page.text and "fever-line" in page.text


async def test_report_accepts_full_width_digits_and_decimal_comma(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                  world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    response = await post_form(client, "/me", "/me/readings", {"temperature_c": "３６,８"})
    assert response.status_code == 303
    assert "36.8 °C" in (await client.get(response.headers["location"])).text


async def test_a_retried_form_stores_the_reading_once(client: httpx.AsyncClient, app_ctx: AppContext,
                                                      world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    page = await client.get("/me")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    reading_id = re.search(r'name="reading_id" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    for _ in range(2):
        response = await client.post("/me/readings", data={"csrf_token": token, "reading_id": reading_id,
                                                           "temperature_c": "36.5"})
        assert response.status_code == 303
    async with app_ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Reading)) == 1


async def test_refused_value_is_explained_and_kept(client: httpx.AsyncClient, app_ctx: AppContext,
                                                   world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    response = await post_form(client, "/me", "/me/readings", {"temperature_c": "3.65"})
    assert response.status_code == 422
    assert "未保存。" in response.text
    assert "3.65 不像是人的体温（应在 34.0–43.0 °C 之间）。请重新测量。" in text(response)
    assert 'value="3.65"' in response.text
    assert 'aria-invalid="true"' in response.text


async def test_refusal_in_english_for_an_english_speaker(client: httpx.AsyncClient, app_ctx: AppContext,
                                                         world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    client.headers["Accept-Language"] = "en-GB,en;q=0.9"
    response = await post_form(client, "/me", "/me/readings", {"temperature_c": "99"})
    assert response.status_code == 422
    assert "99 is not a plausible body temperature (34.0–43.0 °C). Please measure again." in text(response)


async def test_other_symptom_without_a_note_is_explained(client: httpx.AsyncClient, app_ctx: AppContext,
                                                        world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    response = await post_form(client, "/me", "/me/readings", {"temperature_c": "36.6", "symptoms": "other"})
    assert response.status_code == 422
    assert "请在备注中说明其他症状。" in response.text
    assert 'value="other" checked' in response.text


async def test_call_me_back_opens_one_alert_for_the_clinicians(client: httpx.AsyncClient, app_ctx: AppContext,
                                                              world: World) -> None:
    sign_in_subject(client, app_ctx, world.subject_a)
    for _ in range(2):
        response = await post_form(client, "/me", "/me/callback", {})
        assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "我们会给您回电话" in page.text
    assert "138 0013 8000" in page.text
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert [a["kind"] for a in alerts] == ["callback_request"]
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert roster["items"][0]["open_alerts"] == 1


async def test_subject_signs_out(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    await client.get(f"/s/{world.subject_a.code}")
    response = await post_form(client, "/me", "/me/logout", {})
    assert response.status_code == 200
    assert "您已在这部手机上退出" in response.text
    assert (await client.get("/me")).status_code == 303


async def test_released_person_sees_the_release_page(client: httpx.AsyncClient, app_ctx: AppContext,
                                                     world: World) -> None:
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, world.subject_a.id)
        assert subject is not None
        subject.state = "released"
        subject.released_at = app_ctx.now()
    sign_in_subject(client, app_ctx, world.subject_a)
    page = await client.get("/me")
    assert "您已解除医学观察" in page.text
    assert "2026年3月10日" in page.text
    assert "我们隔离的是病毒，不是您。" in page.text
    assert "/me/readings" not in page.text
    response = await post_form(client, "/login", "/me/readings", {"temperature_c": "36.5"})
    assert response.status_code == 303
    async with app_ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0


async def test_fever_and_callback_from_the_page_reach_the_staff_group_channel(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    from server.models import OutboxMessage

    app_ctx.settings.webhook_url = "http://127.0.0.1:9/hook"
    sign_in_subject(client, app_ctx, world.subject_a)
    await post_form(client, "/me", "/me/readings", {"temperature_c": "38.9", "method": "armpit"})
    await post_form(client, "/me", "/me/callback", {})
    async with app_ctx.db.session() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))).all()
    assert [(row.channel, row.status) for row in rows] == [("webhook", "pending"), ("webhook", "pending")]
    assert all(row.subject_id == world.subject_a.id for row in rows)
