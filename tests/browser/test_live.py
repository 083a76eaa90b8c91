"""The roster moves by itself: a fever reported elsewhere shows up without a reload."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PASSWORD, Site

pytestmark = pytest.mark.xdist_group("browser")


def test_roster_updates_in_place_when_a_subject_reports_a_fever(browser: Browser, site: Site) -> None:
    scenario = site.scenarios["live"]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.get_by_label("用户名").fill(scenario.clinician)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/roster"))
    row = page.locator("table.roster tbody tr", has_text=scenario.person.name).first
    expect(row).not_to_contain_text("高热")
    abnormal = page.locator(".count-danger .count-n")
    expect(abnormal).to_have_text("0")
    page.evaluate("() => { window.__notReloaded = true; }")

    token = httpx.post(f"{site.base_url}/api/v1/auth/subject-token",
                       json={"access_code": scenario.person.code}).json()["access_token"]
    response = httpx.post(f"{site.base_url}/api/v1/readings", headers={"Authorization": f"Bearer {token}"},
                          json={"temperature_c": 39.1})
    assert response.status_code == 201

    first = page.locator("table.roster tbody tr").first
    expect(first).to_contain_text(scenario.person.name)
    expect(first).to_contain_text("高热")
    expect(first).to_contain_text("39.1 °C")
    expect(abnormal).to_have_text("1")
    assert page.evaluate("() => window.__notReloaded === true")  # updated in place, not reloaded
    expect(page.locator("[data-live-banner]")).to_be_hidden()
    context.close()


def test_the_live_banner_speaks_the_pages_language_when_the_stream_is_down(browser: Browser, site: Site) -> None:
    scenario = site.scenarios["live"]
    context = browser.new_context(locale="zh-TW", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.route("**/api/v1/events", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.get_by_label("使用者名稱").fill(scenario.clinician)
    page.get_by_label("密碼").fill(PASSWORD)
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/roster"))
    expect(page.locator("[data-live-banner]")).to_have_text("即時更新已中斷，正在重新連線…")
    context.close()
