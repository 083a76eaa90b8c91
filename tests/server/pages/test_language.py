from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from server.context import AppContext
from server.models import Subject
from tests.factories import World
from tests.server.pages.conftest import sign_in_staff, sign_in_subject


async def test_simplified_chinese_by_default(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert '<html lang="zh-Hans">' in page.text
    assert "工作人员登录" in page.text


async def test_accept_language_picks_english_or_traditional(client: httpx.AsyncClient) -> None:
    english = await client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert '<html lang="en">' in english.text
    assert "Staff sign in" in english.text
    traditional = await client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert '<html lang="zh-Hant">' in traditional.text
    assert "工作人員登入" in traditional.text
    hong_kong = await client.get("/login", headers={"Accept-Language": "zh-HK"})
    assert "工作人員登入" in hong_kong.text
    unknown = await client.get("/login", headers={"Accept-Language": "fr-FR,de;q=0.8"})
    assert "工作人员登录" in unknown.text


async def test_switcher_sets_a_cookie_that_wins_over_the_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/en?next=/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "hw_lang=en" in response.headers["set-cookie"]
    page = await client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert "Staff sign in" in page.text
    assert 'href="/lang/zh_Hant?next=%2Flogin"' in page.text


async def test_switcher_ignores_unknown_languages_and_foreign_targets(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/xx?next=https://evil.example/")
    assert response.headers["location"] == "/"
    assert "hw_lang" not in response.headers.get("set-cookie", "")


async def test_a_persons_saved_language_beats_the_browser(client: httpx.AsyncClient, app_ctx: AppContext,
                                                          world: World) -> None:
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, world.subject_a.id)
        assert subject is not None
        subject.language = "en"
    sign_in_subject(client, app_ctx, world.subject_a)
    page = await client.get("/me", headers={"Accept-Language": "zh-CN"})
    assert "Hello, 王小明" in page.text
    assert "Day 1 of 14 of your observation" in page.text


async def test_api_errors_follow_accept_language(client: httpx.AsyncClient, world: World) -> None:
    path = f"/api/v1/subjects/{uuid.uuid4()}"
    english = await client.get(path, headers=world.clin_a)
    assert english.json() == {"error": "not_found", "detail": "No such person in your grids."}
    chinese = await client.get(path, headers={**world.clin_a, "Accept-Language": "zh-CN"})
    assert chinese.json()["detail"] == "您负责的网格中没有此人。"
    traditional = await client.get(path, headers={**world.clin_a, "Accept-Language": "zh-Hant"})
    assert traditional.json()["detail"] == "您負責的網格中沒有此人。"


async def test_api_reading_rejections_are_translated_by_code(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", json={"temperature_c": 45},
                                 headers={**world.subj_a, "Accept-Language": "zh-CN"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "implausible_temperature"
    assert body["detail"] == "45.0 不像是人的体温（应在 34.0–43.0 °C 之间）。请重新测量。"


async def test_api_error_parameters_fill_the_translation(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/grids", json={"name": "东园社区"},
                                 headers={**world.admin_h, "Accept-Language": "zh-CN"})
    assert response.status_code == 409
    assert response.json()["detail"] == "已有名为“东园社区”的网格。"


async def test_live_updates_and_push_offer_speak_the_pages_language(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                    world: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripts hold no words: the page hands them over, translated, so zh-Hant pages stay Traditional."""
    sign_in_staff(client, app_ctx, world.clinician_a)

    def live_text(page: httpx.Response) -> object:
        match = re.search(r'<script type="application/json" id="live-text">(.*?)</script>', page.text)
        assert match, page.text
        return json.loads(match[1])

    roster = await client.get("/roster", headers={"Accept-Language": "zh-TW"})
    assert live_text(roster) == {"down": "即時更新已中斷，正在重新連線…", "fresh": "有新動態，請重新整理頁面"}
    english = await client.get(f"/subjects/{world.subject_a.id}", headers={"Accept-Language": "en"})
    assert live_text(english) == {"down": "Live updates disconnected — reconnecting…",
                                  "fresh": "New activity — refresh"}
    client.cookies.clear()
    sign_in_subject(client, app_ctx, world.subject_a)
    unset = await client.get("/me", headers={"Accept-Language": "zh-HK"})
    assert "data-push-offer" not in unset.text  # no offer, and no key fetch bound to fail, without Web Push
    monkeypatch.setattr(app_ctx.settings, "vapid_private_key", "private")
    monkeypatch.setattr(app_ctx.settings, "vapid_public_key", "public")
    monkeypatch.setattr(app_ctx.settings, "vapid_subject", "mailto:ops@example.org")
    me = await client.get("/me", headers={"Accept-Language": "zh-HK"})
    assert 'data-offer="在這部手機上提醒我"' in me.text
    assert 'data-failed="這部手機無法接收提醒，我們會傳簡訊給您。"' in me.text


async def test_an_unknown_address_answers_with_our_page_in_the_readers_language(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no-such-page", headers={"Accept-Language": "zh-TW"})
    assert missing.status_code == 404
    assert '<html lang="zh-Hant">' in missing.text and "這個網址沒有頁面。" in missing.text
    wrong_method = await client.delete("/login", headers={"Accept-Language": "zh-CN"})
    assert wrong_method.status_code == 405 and "这个地址不能这样使用。" in wrong_method.text
    assert "allow" in wrong_method.headers
    api = await client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
