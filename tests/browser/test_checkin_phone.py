"""The check-in as a person does it on a 360x640 phone (three languages) and on a laptop: the picture,
the Start button and, while it runs, the step and its countdown on one screen; End only once started,
and it stops the camera; /me says afterwards that today's check-in is done."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from tests.browser.conftest import Site
from tests.browser.measure import TRACK_MEDIA, inside_viewport, live_tracks

pytestmark = [pytest.mark.browser, pytest.mark.webrtc, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 800}}
LANGUAGES = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-US"}
STEP_ONE = {"zh_Hans": "请正对镜头", "zh_Hant": "請正對鏡頭", "en": "Show your face"}


async def _enrol(site: Site, name: str) -> str:
    db = Database.from_url(site.settings.database_url)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name=f"打卡网格-{name}")
            _subject, code = await enrol(
                session, actor=SYSTEM_STAFF, rules=site.settings.rules, now=utcnow(),
                body=SubjectCreate(full_name=name, phone="13700000088", grid_id=grid.id, observation_type="home",
                                   reason="浏览器测试"),
            )
    finally:
        await db.dispose()
    return code


def enrol_person(site: Site, name: str) -> str:
    # Playwright's sync API runs an event loop in this thread; the seeding gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _enrol(site, name)).result()


LARGER_TEXT = "try { window.localStorage.setItem('homewatch.text-large', '1'); } catch (e) {}"


# Every language at normal size; with the larger-text switch an older person is shown first, the shortest
# and the longest wording.
@pytest.mark.parametrize(("language", "size"), [*((language, "normal") for language in LANGUAGES),
                                                ("zh_Hans", "large"), ("en", "large")])
def test_the_check_in_fits_a_small_phone_and_end_stops_the_camera(browser: Browser, site: Site, screenshots: Path,
                                                                   language: str, size: str) -> None:
    code = enrol_person(site, f"冯手机{language}{size}")
    context = browser.new_context(locale=LANGUAGES[language], **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    context.add_init_script(TRACK_MEDIA)
    if size == "large":
        context.add_init_script(LARGER_TEXT)
    suffix = language if size == "normal" else f"large-{language}"
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/s/{code}")
        expect(page).to_have_url(re.compile(r"/me$"))
        page.goto(f"{site.base_url}/me/checkin")
        if size == "large":
            expect(page.locator("html")).to_have_class(re.compile(r"\btext-large\b"))
        start = page.locator("#start")
        expect(start).to_be_visible()
        expect(page.locator("#hangup")).to_be_hidden()  # nothing to end before it starts
        assert inside_viewport(page, start), (language, start.bounding_box())
        assert inside_viewport(page, page.locator(".video-stage"))
        page.screenshot(path=screenshots / f"checkin-ready-{suffix}-360.png")

        start.click()
        expect(page.locator("body")).to_have_attribute("data-checkin-state", "live", timeout=25_000)
        expect(page.locator("#step-title")).to_have_text(STEP_ONE[language])
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+$"))
        for visible in ("#step-title", "#step-hint", "#countdown", "#hangup"):
            assert inside_viewport(page, page.locator(visible)), (language, visible)
        # Not cut off by the picture's frame either.
        stage, count = page.locator(".video-stage").bounding_box(), page.locator("#countdown").bounding_box()
        assert stage and count and count["y"] + count["height"] <= stage["y"] + stage["height"] + 1, (stage, count)
        page.screenshot(path=screenshots / f"checkin-running-{suffix}-360.png")

        page.locator("#hangup").click()
        expect(page.locator("body")).to_have_attribute("data-checkin-state", "stopped")
        expect(start).to_be_visible()
        expect(page.locator("#step")).to_be_hidden()
        assert live_tracks(page) == 0  # the camera is released, not just hidden
    finally:
        context.close()


def test_a_check_in_done_on_a_laptop_shows_on_my_page_with_its_time(browser: Browser, site: Site,
                                                                     screenshots: Path) -> None:
    code = enrol_person(site, "冯电脑")
    context = browser.new_context(locale="zh-CN", **LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/s/{code}")
        expect(page.locator("#video-today")).to_have_count(0)
        page.goto(f"{site.base_url}/me/checkin")
        expect(page.locator("#intro")).to_contain_text("大约需要 16 秒")  # the script's real length
        start = page.locator("#start")
        assert inside_viewport(page, start)
        start.click()
        expect(page.locator("body")).to_have_attribute("data-checkin-state", "live", timeout=25_000)
        assert inside_viewport(page, page.locator("#countdown"))
        expect(page.locator("body")).to_have_attribute("data-checkin-state", "received", timeout=40_000)
        page.goto(f"{site.base_url}/me")
        # The fake camera shows no face, so the check-in is done but "unclear"; either way with its time.
        done = page.locator("#video-today")
        expect(done).to_contain_text(re.compile(r"今天 \d\d:\d\d 已完成视频打卡"))
        page.screenshot(path=screenshots / "me-checkin-done-1366.png", full_page=True)
    finally:
        context.close()
