"""The video pages render for the right people, in their language, with the ICE servers from settings."""

from __future__ import annotations

import json
import re

from server.deps import STAFF_COOKIE, SUBJECT_COOKIE
from server.models.checkins import Checkin


def _cookie(headers: dict[str, str], name: str) -> dict[str, str]:
    return {name: headers["Authorization"].removeprefix("Bearer ")}


def _config(html: str, element: str) -> dict[str, object]:
    match = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', html, re.S)
    assert match, html
    result: dict[str, object] = json.loads(match.group(1))
    return result


async def test_checkin_page_speaks_the_subjects_language_and_carries_ice_servers(client, world):
    client.cookies.update(_cookie(world.subj_a, SUBJECT_COOKIE))
    me = await client.get("/me", headers={"Accept-Language": "zh-CN"})
    assert 'href="/me/checkin"' in me.text and "视频打卡" in me.text
    page = await client.get("/me/checkin", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    config = _config(page.text, "checkin-config")
    assert config["iceServers"] == []
    strings = json.dumps(config["strings"], ensure_ascii=False)
    assert "请正对镜头" in strings and "把体温计对准镜头" in strings


async def test_subject_detail_lists_checkins_and_offers_a_call_to_clinicians(client, world):
    client.cookies.update(_cookie(world.clin_a, STAFF_COOKIE))
    page = await client.get(f"/subjects/{world.subject_a.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'id="checkins"' in page.text and f'action="/subjects/{world.subject_a.id}/call"' in page.text
    call = await client.get(f"/subjects/{world.subject_a.id}/call", headers={"Accept-Language": "en"})
    assert call.status_code == 200 and _config(call.text, "watch-config")["mode"] == "call"
    assert (await client.get(f"/subjects/{world.subject_b.id}/call")).status_code == 404


async def test_checkin_page_texts_come_translated_from_the_catalogues(client, world):
    client.cookies.update(_cookie(world.subj_a, SUBJECT_COOKIE))
    traditional = await client.get("/me/checkin", headers={"Accept-Language": "zh-TW"})
    assert "<h1>視訊打卡</h1>" in traditional.text and "開始視訊打卡" in traditional.text
    strings = _config(traditional.text, "checkin-config")["strings"]
    assert isinstance(strings, dict)
    assert strings["face_title"] == "請正對鏡頭"
    assert strings["received"] == "已收到視訊打卡（{time}）"  # the script fills in the time
    assert strings["call_ended"] == "通話已結束。"
    english = await client.get("/me/checkin", headers={"Accept-Language": "en"})
    strings = _config(english.text, "checkin-config")["strings"]
    assert isinstance(strings, dict)
    assert "<h1>Video check-in</h1>" in english.text
    assert strings["thermometer_title"] == "Hold the thermometer to the camera"
    me = await client.get("/me", headers={"Accept-Language": "zh-HK"})
    assert "視訊打卡" in me.text and "视频打卡" not in me.text


async def test_call_page_and_checkin_panel_in_traditional(client, app_ctx, world):
    async with app_ctx.db.session() as session:
        session.add(Checkin(subject_id=world.subject_a.id, grid_id=world.grid_a.id, status="completed",
                            face_seen_ratio=0.8, duration_s=12.0, started_at=app_ctx.now()))
    client.cookies.update(_cookie(world.clin_a, STAFF_COOKIE))
    headers = {"Accept-Language": "zh-Hant"}
    detail = await client.get(f"/subjects/{world.subject_a.id}", headers=headers)
    panel = detail.text[detail.text.index('id="checkins"'):]
    assert "視訊打卡紀錄" in panel and "<strong>已完成</strong>" in panel and "看到臉部" in panel
    call = await client.get(f"/subjects/{world.subject_a.id}/call", headers=headers)
    assert "正在呼叫 王小明" in call.text and "掛斷" in call.text
    strings = _config(call.text, "watch-config")["strings"]
    assert isinstance(strings, dict)
    assert strings["waiting"] == "等待 王小明 接聽…" and strings["connected"] == "已連線"
