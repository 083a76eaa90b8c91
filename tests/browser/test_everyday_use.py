"""The pages as a 78-year-old on a small phone and a clinician on a laptop use them: text big enough
to read, targets big enough to tap, a remembered "larger text" switch, an icon and a manifest, no
request that is known to fail, and phone numbers taken the way people write them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, expect

from tests.browser.conftest import Site
from tests.browser.measure import tap_targets, text_sizes

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 800}}
LANGUAGES = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-US"}
REFUSED_PHONE = {
    "zh_Hans": "请填写手机号（11 位，如 138 1234 5678）、带区号的座机（010 1234 5678），境外号码请以 + 开头",
    "zh_Hant": "請填寫手機號（11 位，如 138 1234 5678）、帶區號的座機（010 1234 5678），境外號碼請以 + 開頭",
    "en": "write a mobile (11 digits, e.g. 138 1234 5678), a landline with its area code (010 1234 5678), "
          "or a number abroad starting with +",
}


class Failures:
    """Every response of 400 or more and every request that did not complete, on any page of a context."""

    def __init__(self, context: BrowserContext) -> None:
        self.seen: list[str] = []
        self.requested: list[str] = []
        context.on("response", self._response)
        context.on("requestfailed", self._failed)
        context.on("request", lambda request: self.requested.append(request.url))

    def _failed(self, request: Request) -> None:
        # Leaving a page aborts its open event stream; that is the browser tidying up, not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.seen.append(f"failed {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"{response.status} {response.url}")


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _open(browser: Browser, opened: list[BrowserContext], language: str, device: dict[str, object]) -> BrowserContext:
    context = browser.new_context(locale=LANGUAGES[language], **device)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    opened.append(context)
    return context


def _sign_in(page: Page, site: Site, username: str, password: str) -> None:
    page.goto(f"{site.base_url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(roster|admin)"))


def _assert_text_at_least(page: Page, pixels: float, where: str) -> None:
    small = [t for t in text_sizes(page) if t["size"] < pixels - 0.05]
    assert not small, f"text under {pixels} px on {where}: {small[:8]}"


def _assert_tap_targets(page: Page, where: str) -> None:
    small = [t for t in tap_targets(page) if t["width"] < 44 or t["height"] < 44]
    assert not small, f"tap targets under 44×44 px on {where}: {small[:8]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_persons_pages_read_and_tap_easily_on_a_small_phone(
        browser: Browser, site: Site, contexts: list[BrowserContext], screenshots: Path, language: str) -> None:
    context = _open(browser, contexts, language, PHONE)
    failures = Failures(context)
    page = context.new_page()
    page.goto(site.demo_link("high fever"))  # a person with readings, so the chart is drawn
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.locator("svg.chart")).to_be_visible()
    sizes = text_sizes(page)
    chart_labels = [t for t in sizes if t["tag"] == "text"]
    assert chart_labels and min(t["size"] for t in chart_labels) >= 14, chart_labels
    body = [t for t in sizes if t["tag"] != "text"]
    assert min(t["size"] for t in body) >= 17, [t for t in body if t["size"] < 17][:8]
    _assert_tap_targets(page, f"/me ({language})")
    page.screenshot(path=screenshots / f"me-{language}-360.png", full_page=True)

    page.goto(f"{site.base_url}/me/checkin")
    expect(page.locator("#start")).to_be_visible()
    _assert_text_at_least(page, 17, f"/me/checkin ({language})")
    _assert_tap_targets(page, f"/me/checkin ({language})")

    assert failures.seen == []
    assert not [url for url in failures.requested if "/api/v1/push/key" in url]  # push is not set up here
    assert not [url for url in failures.requested if url.endswith("/favicon.ico")]


def test_larger_text_is_remembered_on_this_phone(browser: Browser, site: Site, contexts: list[BrowserContext],
                                                 screenshots: Path) -> None:
    context = _open(browser, contexts, "zh_Hans", PHONE)
    page = context.new_page()
    page.goto(site.demo_link("regular"))
    switch = page.get_by_role("button", name="大字体")
    expect(switch).to_have_attribute("aria-pressed", "false")
    before = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "true")
    after = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert after >= before * 1.2
    page.screenshot(path=screenshots / "me-larger-text-360.png")

    page.goto(f"{site.base_url}/me/checkin")  # another page, the same choice
    expect(page.get_by_role("button", name="大字体")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") == after
    page.get_by_role("button", name="大字体").click()
    page.reload()
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") == before


def test_the_site_has_an_icon_and_a_manifest_for_the_home_screen(browser: Browser, site: Site,
                                                                 contexts: list[BrowserContext]) -> None:
    context = _open(browser, contexts, "zh_Hant", PHONE)
    page = context.new_page()
    page.goto(site.demo_link("regular"))
    manifest_url = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = context.request.get(f"{site.base_url}{manifest_url}", headers={"Accept-Language": "zh-TW"})
    assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["name"] == "居家醫學觀察" and body["display"] == "standalone"
    for icon in body["icons"]:
        assert context.request.get(f"{site.base_url}{icon['src']}").ok
    assert context.request.get(f"{site.base_url}/favicon.ico").ok
    assert page.locator("link[rel=icon]").count() == 1


def test_staff_pages_have_no_text_under_14_px_on_a_laptop(browser: Browser, site: Site,
                                                          contexts: list[BrowserContext], screenshots: Path) -> None:
    context = _open(browser, contexts, "zh_Hans", LAPTOP)
    failures = Failures(context)
    page = context.new_page()
    _sign_in(page, site, "admin", "homewatch-admin")
    expect(page.locator("svg.chart")).to_be_visible()
    _assert_text_at_least(page, 14, "the admin summary")
    page.screenshot(path=screenshots / "admin-summary-1366.png", full_page=True)
    page.goto(f"{site.base_url}/roster")
    expect(page.locator("table.roster")).to_be_visible()
    _assert_text_at_least(page, 14, "the roster")
    page.locator("table.roster tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("svg.chart")).to_be_visible()
    _assert_text_at_least(page, 14, "a person's record")
    for nav in page.locator(".site-header a, .site-header button").all():
        box = nav.bounding_box()
        assert box and box["height"] >= 44, nav.inner_text()
    assert failures.seen == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_phone_number_that_cannot_be_is_refused_in_the_readers_language(
        browser: Browser, site: Site, contexts: list[BrowserContext], screenshots: Path, language: str) -> None:
    context = _open(browser, contexts, "zh_Hans", PHONE)
    page = context.new_page()
    _sign_in(page, site, "admin", "homewatch-admin")
    page.goto(f"{site.base_url}/lang/{language}?next=/admin/enrol")
    for refused in ("12345", "1391111"):
        page.locator("#e-name").fill("吴电话")
        page.locator("#e-phone").fill(refused)
        page.locator("#e-grid").select_option(label="测试网格3")
        page.locator("#e-reason").fill("自外省返回")
        page.locator("form[action='/admin/enrol'] button[type=submit]").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(REFUSED_PHONE[language])
        expect(page.locator("#e-phone")).to_have_value(refused)
    page.screenshot(path=screenshots / f"enrol-phone-refused-{language}-360.png", full_page=True)


def test_a_phone_number_written_with_prefix_and_dashes_is_stored_normalised(
        browser: Browser, site: Site, contexts: list[BrowserContext]) -> None:
    context = _open(browser, contexts, "zh_Hans", LAPTOP)
    page = context.new_page()
    _sign_in(page, site, "admin", "homewatch-admin")
    page.goto(f"{site.base_url}/admin/enrol")
    page.locator("#e-name").fill("吴号码")
    page.locator("#e-phone").fill("0086 139-1111-2222")
    page.locator("#e-grid").select_option(label="测试网格3")
    page.locator("#e-reason").fill("自外省返回")
    page.locator("form[action='/admin/enrol'] button[type=submit]").click()
    expect(page.locator("article.card")).to_contain_text("吴号码")
    response = context.request.get(f"{site.base_url}/api/v1/roster", params={"q": "吴号码"})
    assert response.ok, response.text()
    [row] = response.json()["items"]
    assert row["phone"] == "+8613911112222"
    page.goto(f"{site.base_url}/subjects/{row['subject_id']}")
    phone = page.locator("a[href^='tel:+86139']")
    expect(phone).to_have_text("139 1111 2222")
    expect(phone).to_have_attribute("href", "tel:+8613911112222")
