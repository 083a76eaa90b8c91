"""The video pages render for the right people, in their language, with the ICE servers from settings."""

from __future__ import annotations

import json
import re

from server.deps import STAFF_COOKIE, SUBJECT_COOKIE


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
    assert 'id="checkins"' in page.text and f'href="/subjects/{world.subject_a.id}/call"' in page.text
    call = await client.get(f"/subjects/{world.subject_a.id}/call", headers={"Accept-Language": "en"})
    assert call.status_code == 200 and _config(call.text, "watch-config")["mode"] == "call"
    assert (await client.get(f"/subjects/{world.subject_b.id}/call")).status_code == 404
