"""A clinician's call as both sides live it: it rings on the person's own page within 2 s of Call, with
the clinician's full name and unit; a call nobody takes is a missed call on both sides; and a hang-up on
either side reaches the other page within 2 s, which says so and releases camera and microphone."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from tests.browser.conftest import PASSWORD, Site
from tests.browser.measure import TRACK_MEDIA, live_tracks

pytestmark = [pytest.mark.browser, pytest.mark.webrtc, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 800}}
LANGUAGES = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-US"}
RINGING = {"zh_Hans": "医生正在呼叫您", "zh_Hant": "醫生正在呼叫您", "en": "Your clinic is calling you"}
MISSED = {"zh_Hans": "未接视频来电", "zh_Hant": "未接視訊來電", "en": "Missed video call"}
CALL_LIMIT_S = 2.0


@dataclass
class CallScenario:
    clinician: str
    clinician_name: str
    unit: str
    subject_id: uuid.UUID
    code: str


async def _seed(site: Site, key: str) -> CallScenario:
    db = Database.from_url(site.settings.database_url)
    try:
        async with db.session() as session:
            unit = f"东园社区{key}"
            grid = await create_grid(session, actor=SYSTEM_STAFF, name=unit)
            username = f"doc-call-{key}"
            await create_user(session, actor=SYSTEM_STAFF, username=username, password=PASSWORD, role="clinician",
                              grid_ids=[grid.id], full_name=f"王建国{key}")
            subject, code = await enrol(
                session, actor=SYSTEM_STAFF, rules=site.settings.rules, now=utcnow(),
                body=SubjectCreate(full_name=f"陈来电{key}", phone="13700000077", grid_id=grid.id,
                                   observation_type="home", reason="浏览器测试"),
            )
    finally:
        await db.dispose()
    return CallScenario(username, f"王建国{key}", unit, subject.id, code)


def seed(site: Site, key: str) -> CallScenario:
    # Playwright's sync API runs an event loop in this thread; the seeding gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _seed(site, key)).result()


def _context(browser: Browser, locale: str, device: dict[str, object]) -> BrowserContext:
    context = browser.new_context(locale=locale, **device)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    context.add_init_script(TRACK_MEDIA)
    return context


def _person_on_their_page(context: BrowserContext, site: Site, scenario: CallScenario) -> Page:
    page = context.new_page()
    # The page asks "is anyone calling?" once its event stream is open: from then on it hears the ring.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/me/call"), timeout=20_000):
        page.goto(f"{site.base_url}/s/{scenario.code}")
    expect(page).to_have_url(re.compile(r"/me$"))
    return page


def _clinician_on_the_record(context: BrowserContext, site: Site, scenario: CallScenario) -> Page:
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.locator("#username").fill(scenario.clinician)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/roster"))
    page.goto(f"{site.base_url}/subjects/{scenario.subject_id}")
    return page


def _within(limit: float, started: float, what: str) -> None:
    took = time.monotonic() - started
    assert took < limit, f"{what} took {took:.2f} s (limit {limit} s)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_call_rings_on_the_persons_page_within_2_s_and_an_unanswered_one_is_missed_on_both_sides(
        browser: Browser, site: Site, screenshots: Path, language: str) -> None:
    scenario = seed(site, f"ring-{language}")
    phone = _context(browser, LANGUAGES[language], PHONE)
    desk = _context(browser, "zh-CN", LAPTOP)
    try:
        person = _person_on_their_page(phone, site, scenario)
        doctor = _clinician_on_the_record(desk, site, scenario)

        started = time.monotonic()
        doctor.get_by_test_id("call").click()
        ring = person.get_by_role("alertdialog")
        expect(ring).to_be_visible(timeout=10_000)
        _within(CALL_LIMIT_S, started, "the ring on /me")
        expect(ring).to_contain_text(RINGING[language])
        expect(ring).to_contain_text(scenario.clinician_name)
        expect(ring).to_contain_text(scenario.unit)
        person.screenshot(path=screenshots / f"call-ringing-{language}-360.png")

        expect(doctor.locator("body")).to_have_attribute("data-call-id", re.compile(".+"))
        started = time.monotonic()
        doctor.locator("#hangup").click()
        expect(ring).to_be_hidden(timeout=10_000)
        _within(CALL_LIMIT_S, started, "the ring stopping after the clinician hung up")
        expect(person.locator("#missed-call")).to_contain_text(MISSED[language])
        expect(doctor.locator("body")).to_have_attribute("data-watch-state", "ended")
        assert live_tracks(doctor) == 0

        person.reload()
        expect(person.get_by_test_id("missed-call")).to_contain_text(scenario.clinician_name)
        doctor.goto(f"{site.base_url}/subjects/{scenario.subject_id}")
        expect(doctor.get_by_test_id("missed-call").first).to_contain_text("未接来电")
        doctor.screenshot(path=screenshots / f"call-missed-record-{language}-1366.png", full_page=True)
    finally:
        phone.close()
        desk.close()


def _connected_call(browser: Browser, site: Site, key: str, screenshots: Path) -> tuple[
        BrowserContext, BrowserContext, Page, Page]:
    scenario = seed(site, key)
    phone = _context(browser, "zh-CN", PHONE)
    desk = _context(browser, "zh-CN", LAPTOP)
    person = _person_on_their_page(phone, site, scenario)
    doctor = _clinician_on_the_record(desk, site, scenario)
    doctor.get_by_test_id("call").click()
    person.get_by_role("button", name="接听视频通话").click()
    expect(person).to_have_url(re.compile(r"/me/checkin"))
    expect(person.locator("body")).to_have_attribute("data-checkin-state", "in-call", timeout=30_000)
    expect(doctor.locator("body")).to_have_attribute("data-watch-state", "video", timeout=30_000)
    person.screenshot(path=screenshots / f"call-{key}-person-360.png")
    doctor.screenshot(path=screenshots / f"call-{key}-clinician-1366.png")
    return phone, desk, person, doctor


def test_the_clinician_hangs_up_and_the_persons_page_ends_the_call_within_2_s(browser: Browser, site: Site,
                                                                             screenshots: Path) -> None:
    phone, desk, person, doctor = _connected_call(browser, site, "clinician-hangs-up", screenshots)
    try:
        assert live_tracks(person) > 0
        started = time.monotonic()
        doctor.locator("#hangup").click()
        expect(person.locator("body")).to_have_attribute("data-checkin-state", "call-ended", timeout=10_000)
        _within(CALL_LIMIT_S, started, "the person's page seeing the clinician's hang-up")
        expect(person.get_by_role("status").first).to_contain_text("医生已挂断通话")
        assert live_tracks(person) == 0
        assert live_tracks(doctor) == 0
    finally:
        phone.close()
        desk.close()


@pytest.mark.parametrize("leaving", ["hangs-up", "closes-the-page"])
def test_the_person_leaves_and_the_clinicians_page_ends_the_call_within_2_s(browser: Browser, site: Site,
                                                                            screenshots: Path, leaving: str) -> None:
    # Pressing hang-up, or no button at all: the phone's page simply goes away (closed, or the browser killed).
    phone, desk, person, doctor = _connected_call(browser, site, f"person-{leaving}", screenshots)
    try:
        assert live_tracks(doctor) > 0
        started = time.monotonic()
        if leaving == "hangs-up":
            person.locator("#hangup").click()
        else:
            person.close()
        expect(doctor.locator("body")).to_have_attribute("data-watch-state", "ended", timeout=10_000)
        _within(CALL_LIMIT_S, started, f"the clinician's page seeing the person's page {leaving}")
        expect(doctor.get_by_role("status")).to_contain_text("已挂断")
        assert live_tracks(doctor) == 0
        if leaving == "hangs-up":
            assert live_tracks(person) == 0
    finally:
        phone.close()
        desk.close()
