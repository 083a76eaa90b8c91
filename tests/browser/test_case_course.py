"""A case's course in a real browser: correct the record, record an action and a test, read them on the
timeline, release, print the certificate on one A4 page and check it the way a checkpoint does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LAPTOP = {"viewport": {"width": 1366, "height": 800}}


def _sign_in_admin(page: Page, site: Site) -> None:
    page.goto(f"{site.base_url}/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("homewatch-admin")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/admin$"))


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_correct_record_timeline_and_printed_certificate(browser: Browser, site: Site, screenshots: Path) -> None:
    person = site.scenarios["course"].person
    context = browser.new_context(locale="zh-CN", **LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    _sign_in_admin(page, site)
    page.goto(f"{site.base_url}/roster?q={person.name}")
    page.locator("table.roster tbody tr").filter(has_text=person.name).first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(person.name)

    # Correct the phone number in the record's form.
    page.get_by_text("更正信息").click()
    form = page.get_by_test_id("edit-form")
    form.get_by_label("手机号").fill("139 1234 5678")
    form.get_by_role("button", name="保存更正").click()
    expect(page.get_by_role("status")).to_contain_text("信息已更正。")
    expect(page.locator("#profile")).to_contain_text("139 1234 5678")

    # A referral and a negative test, then both on the timeline, newest first.
    actions = page.get_by_test_id("action-form")
    actions.get_by_label("处置").select_option("referred_fever_clinic")
    actions.get_by_label("备注").fill("体温偏高，转发热门诊")
    actions.get_by_role("button", name="记录处置").click()
    expect(page.get_by_role("status")).to_contain_text("处置已记录。")
    tests = page.get_by_test_id("test-form")
    tests.get_by_label("结果").select_option("negative")
    tests.get_by_role("button", name="记录检测").click()
    expect(page.get_by_role("status")).to_contain_text("检测已记录。")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("转介发热门诊")
    expect(timeline).to_contain_text("核酸检测：阴性")
    expect(timeline).to_contain_text("更正了人员信息")
    page.screenshot(path=screenshots / "subject-course-timeline.png", full_page=True)

    # Release (against the period rule, with a note), then print the certificate.
    release = page.locator("form.release-form")
    release.locator("input[name=override]").check()
    release.locator("textarea[name=note]").fill("转定点医院复核后解除")
    release.get_by_role("button", name="解除医学观察").click()
    page.get_by_test_id("certificate-link").click()
    certificate = page.get_by_test_id("certificate")
    expect(certificate).to_contain_text("解除医学观察告知书")
    expect(certificate).to_contain_text(person.name)
    expect(certificate.locator("svg.qr")).to_be_visible()
    page.screenshot(path=screenshots / "certificate.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True, path=str(screenshots / "certificate.pdf"))
    assert _pdf_pages(pdf) == 1
    page.emulate_media(media="screen")

    # A checkpoint scans the QR code: valid, with the name masked.
    verify_url = certificate.locator(".verify-url").inner_text().strip()
    checkpoint = context.new_page()
    checkpoint.goto(verify_url)
    expect(checkpoint.locator("[data-status=valid]")).to_be_visible()
    masked = person.name[0] + "*" * (len(person.name) - 2) + person.name[-1]
    expect(checkpoint.get_by_test_id("verification")).to_contain_text(masked)
    assert person.name not in checkpoint.content()
    checkpoint.screenshot(path=screenshots / "certificate-verified.png", full_page=True)
    context.close()
