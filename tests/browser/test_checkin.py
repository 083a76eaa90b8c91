"""A self check-in through the real page with Chromium's fake camera, watched live by a clinician whose
page sees the check-in end."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect

from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from tests.browser.conftest import PASSWORD, Site
from tests.browser.measure import TRACK_MEDIA, live_tracks

pytestmark = [pytest.mark.browser, pytest.mark.webrtc, pytest.mark.xdist_group("browser")]


async def _seed_video_scenario(site: Site) -> tuple[str, uuid.UUID, str]:
    db = Database.from_url(site.settings.database_url)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name="视频网格")
            await create_user(session, actor=SYSTEM_STAFF, username="doc-video", password=PASSWORD,
                              role="clinician", grid_ids=[grid.id])
            subject, code = await enrol(
                session, actor=SYSTEM_STAFF, rules=site.settings.rules, now=utcnow(),
                body=SubjectCreate(full_name="周视频", phone="13700000099", grid_id=grid.id,
                                   observation_type="home", reason="浏览器测试"),
            )
    finally:
        await db.dispose()
    return "doc-video", subject.id, code


def test_self_checkin_through_the_page_is_watched_live_by_a_clinician(browser: Browser, site: Site) -> None:
    # Playwright's sync API already runs an event loop in this thread.
    with ThreadPoolExecutor(1) as pool:
        clinician, subject_id, code = pool.submit(asyncio.run, _seed_video_scenario(site)).result()
    phone = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, is_mobile=True,
                                has_touch=True)
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    try:
        person = phone.new_page()
        person.set_default_timeout(15_000)
        person.goto(f"{site.base_url}/s/{code}")
        person.get_by_test_id("video-checkin").click()
        expect(person.get_by_role("heading", name="视频打卡")).to_be_visible()
        person.get_by_role("button", name="开始视频打卡").click()
        expect(person.locator("body")).to_have_attribute("data-checkin-state", "live")
        expect(person.get_by_role("heading", name="请正对镜头")).to_be_visible()

        doctor = desk.new_page()
        doctor.add_init_script(TRACK_MEDIA)
        doctor.set_default_timeout(15_000)
        doctor.goto(f"{site.base_url}/login")
        doctor.get_by_label("用户名").fill(clinician)
        doctor.get_by_label("密码").fill(PASSWORD)
        doctor.get_by_role("button", name="登录").click()
        doctor.goto(f"{site.base_url}/subjects/{subject_id}")
        doctor.get_by_role("link", name="实时观看").click()
        started = time.monotonic()
        # The watch page asks for the microphone first, so its host addresses are real and it connects
        # at once rather than after the slower peer-reflexive fallback that mDNS names lead to.
        expect(doctor.locator("body")).to_have_attribute("data-watch-state", "video", timeout=5_000)
        assert time.monotonic() - started < 5
        width = doctor.evaluate("() => document.getElementById('remote').videoWidth")
        assert width > 0

        expect(person.get_by_role("heading", name="把体温计对准镜头")).to_be_visible(timeout=12_000)
        expect(person.locator("body")).to_have_attribute("data-checkin-state", "received", timeout=25_000)
        finished = time.monotonic()
        expect(person.get_by_role("status")).to_contain_text("已收到视频打卡")
        # The watch page hears the end from the event stream: it says so, leaves the frozen picture
        # and gives back its microphone within 2 s.
        expect(doctor.locator("body")).to_have_attribute("data-watch-state", "ended", timeout=5_000)
        took = time.monotonic() - finished
        assert took < 2, f"the watch page saw the end after {took:.2f} s"
        expect(doctor.locator("#status")).to_have_text("视频打卡已结束。")
        assert live_tracks(doctor) == 0

        doctor.goto(f"{site.base_url}/subjects/{subject_id}")
        checkins = doctor.locator("#checkins")
        expect(checkins).to_contain_text("已完成")
        expect(checkins.locator(".snapshots img").first).to_be_visible()
    finally:
        phone.close()
        desk.close()
