"""axe-core (vendored in fixtures/, see its README) over the pages people use: the person's page and
check-in page on a phone in three languages, the roster, a record and the admin pages on a laptop.
No serious or critical violation is allowed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).parent / "fixtures" / "axe.min.js"
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 800}}
LANGUAGES = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-US"}


def axe_problems(page: Page) -> list[dict[str, Any]]:
    """Serious and critical violations on the page as it is now, each with the elements it found."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document)")
    assert len(result["passes"]) >= 10, "axe did not check this page"
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_persons_pages_have_no_serious_accessibility_problems(browser: Browser, site: Site,
                                                                   language: str) -> None:
    # bypass_csp: the checker is injected as a script of the test, which a strict policy would refuse.
    context = browser.new_context(locale=LANGUAGES[language], bypass_csp=True, **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(site.demo_link("high fever"))
        expect(page).to_have_url(re.compile(r"/me$"))
        assert axe_problems(page) == [], f"/me ({language})"
        page.goto(f"{site.base_url}/me/checkin")
        expect(page.locator("#start")).to_be_visible()
        assert axe_problems(page) == [], f"/me/checkin ({language})"
    finally:
        context.close()


def test_the_staff_pages_have_no_serious_accessibility_problems(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="zh-CN", bypass_csp=True, **LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/login")
        assert axe_problems(page) == [], "/login"
        page.locator("#username").fill("admin")
        page.locator("#password").fill("homewatch-admin")
        page.locator("form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/admin$"))
        problems: dict[str, list[dict[str, Any]]] = {"/admin": axe_problems(page)}
        for path in ("/admin/enrol", "/admin/staff", "/admin/grids", "/admin/audit", "/roster"):
            page.goto(f"{site.base_url}{path}")
            problems[path] = axe_problems(page)
        page.locator("table.roster tbody tr").first.get_by_role("link").first.click()
        expect(page.locator("#checkins")).to_be_visible()
        problems["record"] = axe_problems(page)
        assert {where: found for where, found in problems.items() if found} == {}
    finally:
        context.close()
