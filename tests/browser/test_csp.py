"""The Content-Security-Policy holds on every main page: loaded in a real Chromium, no page reports a
violation (an inline script, an inline handler, a style or a fetch the policy does not allow)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.conftest import PASSWORD, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Collects violations the page itself sees; added before any page script runs, outside the policy.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" +
                    e.lineNumber);
});
"""


class Watched:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)
        page.add_init_script(LISTEN)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, (url, response.status if response else None)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, url
        self.check(url)

    def check(self, where: str) -> None:
        # Live pages never go network-idle (an event stream stays open): give their scripts a moment.
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(500)
        seen = self.page.evaluate("() => window.__csp || []")
        assert seen == [] and self.console == [], (where, seen, self.console)


def test_no_main_page_violates_the_content_security_policy(browser: Browser, site: Site) -> None:
    person = site.scenarios["small"].person
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    watched = Watched(page)

    watched.visit(f"{site.base_url}/s/{person.code}")  # the person's own page, after the redirect
    expect(page).to_have_url(re.compile(r"/me$"))
    watched.visit(f"{site.base_url}/me/checkin")
    watched.visit(f"{site.base_url}/login")
    page.get_by_label("用户名").fill(site.scenarios["small"].clinician)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/roster"))
    watched.check("roster after sign-in")
    watched.visit(f"{site.base_url}/roster")
    page.locator("table.roster tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    watched.check("the person's record")
    context.close()

    admin = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    admin.set_default_timeout(10_000)
    page = admin.new_page()
    watched = Watched(page)
    watched.visit(f"{site.base_url}/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("homewatch-admin")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/admin"))
    for path in ("/admin", "/admin/grids", "/admin/staff", "/admin/enrol", "/admin/audit"):
        watched.visit(f"{site.base_url}{path}")
    admin.close()
