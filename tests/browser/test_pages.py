"""The main journeys in a real browser: report a fever, see it on the roster, enrol, fit a small phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORD, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}


def _context(browser: Browser, locale: str = "zh-CN", **options: object) -> BrowserContext:
    context = browser.new_context(locale=locale, **options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return context


def _sign_in(page: Page, site: Site, username: str, password: str) -> None:
    page.goto(f"{site.base_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _report(page: Page, value: str) -> None:
    page.locator("#temperature").fill(value)
    page.get_by_role("button", name="保存体温").click()


def _no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"))


def test_subject_opens_link_reports_high_fever_and_sees_it_confirmed(browser: Browser, site: Site,
                                                                      screenshots: Path) -> None:
    person = site.scenarios["report"].person
    context = _context(browser, **PHONE)
    page = context.new_page()
    page.goto(f"{site.base_url}/s/{person.code}")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(person.name)
    _report(page, "38.6")
    saved = page.locator("#saved")
    expect(saved).to_contain_text("已保存")
    expect(saved).to_contain_text("38.6 °C")
    expect(saved).to_contain_text("高热")
    expect(page.locator("table.readings tbody tr")).to_have_count(1)
    expect(page.locator("svg.chart rect.point.fever")).to_have_count(1)
    page.screenshot(path=screenshots / "subject-me-zh_Hans.png", full_page=True)
    context.close()


def test_refused_value_is_explained_and_kept_in_the_form(browser: Browser, site: Site) -> None:
    context = _context(browser, **PHONE)
    page = context.new_page()
    page.goto(f"{site.base_url}/s/{site.scenarios['small'].person.code}")
    _report(page, "3.65")
    expect(page.get_by_role("alert")).to_contain_text("不像是人的体温")
    expect(page.locator("#temperature")).to_have_value("3.65")
    context.close()


def test_clinician_finds_fever_on_top_of_roster_and_acknowledges(browser: Browser, site: Site,
                                                                 screenshots: Path) -> None:
    scenario = site.scenarios["roster"]
    subject_context = _context(browser, **PHONE)
    subject_page = subject_context.new_page()
    subject_page.goto(f"{site.base_url}/s/{scenario.person.code}")
    _report(subject_page, "38.6")
    expect(subject_page.locator("#saved")).to_contain_text("38.6 °C")
    subject_context.close()

    context = _context(browser, **LAPTOP)
    page = context.new_page()
    _sign_in(page, site, scenario.clinician, PASSWORD)
    expect(page).to_have_url(re.compile(r"/roster"))
    first = page.locator("table.roster tbody tr").first
    expect(first).to_contain_text(scenario.person.name)
    expect(first).to_contain_text("高热")
    expect(first).to_contain_text("38.6 °C")
    expect(page.locator(".count-danger .count-n")).to_have_text("1")
    page.screenshot(path=screenshots / "roster.png", full_page=True)

    first.get_by_role("link", name=scenario.person.name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(scenario.person.name)
    # Depending on the hour, a "missed two readings" alert may be open too; this one is the fever's.
    fever_alert = page.locator(".alert-item", has_text="高热")
    fever_alert.get_by_label("做了什么处理？（可不填）").fill("已电话随访")
    fever_alert.get_by_role("button", name="确认已处理").click()
    expect(page.get_by_role("status")).to_contain_text("提醒已处理")
    expect(page.locator(".alert-item", has_text="高热")).to_have_count(0)
    expect(page.locator("#alerts details")).to_contain_text("已电话随访")
    context.close()


def test_admin_enrols_a_person_and_the_printed_link_works(browser: Browser, site: Site,
                                                         screenshots: Path) -> None:
    context = _context(browser, **LAPTOP)
    page = context.new_page()
    _sign_in(page, site, "admin", "homewatch-admin")
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("今日全区概况")
    page.screenshot(path=screenshots / "admin-summary.png", full_page=True)

    page.get_by_role("link", name="登记观察对象").first.click()
    page.get_by_label("姓名").fill("周新登记")
    page.get_by_label("手机号").fill("13512345678")
    page.get_by_label("网格").select_option(label="测试网格3")
    page.get_by_label("观察原因").fill("自外省返回")
    page.get_by_role("button", name="登记并显示卡片").click()
    card = page.locator("article.card")
    expect(card).to_contain_text("周新登记")
    expect(card.locator("svg.qr")).to_be_visible()
    link = card.locator(".card-url a").get_attribute("href")
    assert link and link.startswith(f"{site.base_url}/s/")
    page.screenshot(path=screenshots / "enrol-card.png", full_page=True)
    context.close()

    phone = _context(browser, **PHONE)
    subject_page = phone.new_page()
    subject_page.goto(link)
    expect(subject_page).to_have_url(re.compile(r"/me$"))
    expect(subject_page.get_by_role("heading", level=1)).to_contain_text("周新登记")
    phone.close()


@pytest.mark.parametrize("width", [360, 320])
def test_subject_page_has_no_horizontal_scroll_on_a_small_phone(browser: Browser, site: Site, width: int) -> None:
    context = _context(browser, **(PHONE | {"viewport": {"width": width, "height": 640}}))
    page = context.new_page()
    page.goto(site.demo_link("high fever"))
    expect(page.locator("#report")).to_be_visible()
    assert _no_horizontal_scroll(page)
    _report(page, "99")
    expect(page.get_by_role("alert")).to_be_visible()
    assert _no_horizontal_scroll(page)
    context.close()


def test_screenshots_of_detail_and_released_pages(browser: Browser, site: Site, screenshots: Path) -> None:
    context = _context(browser, **LAPTOP)
    page = context.new_page()
    _sign_in(page, site, "doctor", "homewatch-doctor")
    page.locator("table.roster tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("#release")).to_be_visible()
    page.screenshot(path=screenshots / "subject-detail.png", full_page=True)
    context.close()

    phone = _context(browser, **PHONE)
    released = phone.new_page()
    released.goto(site.demo_link("released"))
    expect(released.get_by_role("heading", level=1)).to_have_text("您已解除医学观察")
    assert _no_horizontal_scroll(released)
    released.screenshot(path=screenshots / "released.png", full_page=True)
    phone.close()
