"""The roster says why a row is flagged: the fever that raised the flag (not only the latest reading),
a call-back request as a flag of its own ranked above the people who are fine, and today's video
check-in, on a laptop and on a phone."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.alerts.service import request_callback
from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from tests.browser.conftest import PASSWORD, Site
from tests.browser.test_calls import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 800}}
LANGUAGES = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-US"}
HIGH_FEVER = {"zh_Hans": "高热", "zh_Hant": "高熱", "en": "High fever"}
CALLBACK = {"zh_Hans": "请求回电", "zh_Hant": "請求回電", "en": "Asked to be called back"}
NO_VIDEO = {"zh_Hans": "尚未打卡", "zh_Hant": "尚未打卡", "en": "None yet"}


def _report(site: Site, code: str, temperature: float) -> None:
    token = httpx.post(f"{site.base_url}/api/v1/auth/subject-token", json={"access_code": code}).json()["access_token"]
    response = httpx.post(f"{site.base_url}/api/v1/readings", headers={"Authorization": f"Bearer {token}"},
                          json={"temperature_c": temperature})
    assert response.status_code == 201, response.text


def _on_the_roster(context: BrowserContext, site: Site, clinician: str) -> Page:
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.locator("#username").fill(clinician)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/roster"))
    return page


@pytest.fixture(scope="module")
def flagged(browser: Browser, site: Site) -> tuple[str, str]:
    """A person whose 39.1 °C is followed by 37.0 °C and who then asks to be called back."""
    scenario = seed(site, "roster-why")
    _report(site, scenario.code, 39.1)
    _report(site, scenario.code, 37.0)
    context = browser.new_context(locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/s/{scenario.code}")
        page.get_by_role("button", name="请给我回电话").click()
        expect(page.locator("#callback")).to_be_visible()
    finally:
        context.close()
    return scenario.clinician, "陈来电roster-why"


def test_the_fever_that_raised_the_flag_shows_beside_it(browser: Browser, site: Site, screenshots: Path,
                                                       flagged: tuple[str, str]) -> None:
    clinician, name = flagged
    context = browser.new_context(locale="zh-CN", **LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = _on_the_roster(context, site, clinician)
        row = page.locator("table.roster tbody tr", has_text=name)
        expect(row.locator("[data-temperature]")).to_have_text("37.0 °C")  # the latest reading…
        why = row.locator("[data-flag-temperature]")
        expect(why).to_contain_text("39.1 °C")  # …and, beside the flag, the fever that raised it
        expect(why).to_contain_text(re.compile(r"\d\d:\d\d"))
        expect(row).to_contain_text("高热")
        expect(row).to_contain_text("请求回电")
        expect(row.locator("[data-video]")).to_have_attribute("data-video", "none")
        page.screenshot(path=screenshots / "roster-why-1366.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_call_back_request_is_named_on_the_roster_on_a_phone(browser: Browser, site: Site, screenshots: Path,
                                                                flagged: tuple[str, str], language: str) -> None:
    clinician, name = flagged
    context = browser.new_context(locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = _on_the_roster(context, site, clinician)
        page.goto(f"{site.base_url}/lang/{language}?next=/roster")
        row = page.locator("table.roster tbody tr", has_text=name)
        expect(row).to_contain_text(HIGH_FEVER[language])
        expect(row.locator("[data-flag-temperature]")).to_contain_text("39.1 °C")
        expect(row).to_contain_text(CALLBACK[language])
        expect(row.locator("[data-video]")).to_contain_text(NO_VIDEO[language])
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
        page.screenshot(path=screenshots / f"roster-why-{language}-360.png", full_page=True)
    finally:
        context.close()


async def _seed_ranking(site: Site) -> tuple[str, list[str], list[str]]:
    """One grid: two people who report normally and one who only asked to be called back, named so that
    the alphabet alone would list the caller last."""
    db = Database.from_url(site.settings.database_url)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name="回电排序网格")
            await create_user(session, actor=SYSTEM_STAFF, username="doc-rank", password=PASSWORD,
                              role="clinician", grid_ids=[grid.id], full_name="排序医生")
            people = []
            for name in ("A 正常甲", "B 正常乙", "Z 请回电"):
                subject, code = await enrol(
                    session, actor=SYSTEM_STAFF, rules=site.settings.rules, now=utcnow(),
                    body=SubjectCreate(full_name=name, phone="13700000078", grid_id=grid.id,
                                       observation_type="home", reason="浏览器测试"),
                )
                people.append((subject.id, code))
        async with db.session() as session:
            await request_callback(session, subject_id=people[2][0], now=utcnow(), rules=site.settings.rules)
    finally:
        await db.dispose()
    return "doc-rank", [code for _id, code in people[:2]], ["Z 请回电", "A 正常甲", "B 正常乙"]


def test_a_call_back_request_ranks_above_the_normal_rows(browser: Browser, site: Site, screenshots: Path) -> None:
    with ThreadPoolExecutor(1) as pool:
        clinician, normal_codes, expected = pool.submit(asyncio.run, _seed_ranking(site)).result()
    for code in normal_codes:
        _report(site, code, 36.5)
    context = browser.new_context(locale="zh-CN", **LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = _on_the_roster(context, site, clinician)
        rows = page.locator("table.roster tbody tr")
        expect(rows).to_have_count(3)
        names = [rows.nth(i).locator("th").inner_text() for i in range(3)]
        assert [next(n for n in expected if n in cell) for cell in names] == expected, names
        caller = rows.nth(0)
        expect(caller).to_contain_text("请求回电")
        expect(caller.locator("[data-flags]")).to_have_attribute("data-flags", re.compile(r"\bcallback_requested\b"))
        expect(rows.nth(1)).not_to_contain_text("请求回电")
        page.screenshot(path=screenshots / "roster-callback-ranked-1366.png", full_page=True)
    finally:
        context.close()
