"""The daily brief printed to PDF by Chromium, and its totals read back from the PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_brief_prints_on_a4_with_its_totals(browser: Browser, site: Site, screenshots: Path) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("homewatch-admin")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{site.base_url}/brief")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Daily brief")
    page.screenshot(path=screenshots / "brief.png", full_page=True)
    total_cells = page.get_by_test_id("brief-total").locator("td")
    on_screen = {cell.get_attribute("data-metric"): cell.inner_text().split()[0] for cell in total_cells.all()}
    token = context.cookies()
    api = httpx.get(f"{site.base_url}/api/v1/brief", cookies={c["name"]: c["value"] for c in token}, timeout=30)
    expected = api.json()["total"]["values"]
    assert {m: str(v) if v is not None else "—" for m, v in expected.items()} == on_screen
    assert expected["home"] > 0, "the demo district has people under observation"

    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    context.close()
    reader = PdfReader(io.BytesIO(pdf))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert width > height and abs(width - 842) < 3 and abs(height - 595) < 3, "A4 landscape"
    printed = "\n".join(p.extract_text() for p in reader.pages)
    # The total row, as the PDF's text layer has it: "Total", then each metric's value and its change.
    after_total = re.search(r"T\s*o\s*t\s*a\s*l\s+(.*)", printed, re.S)
    assert after_total, printed
    pairs = re.findall(r"(\d[\d,]*|—)\s*([+−]\s*\d+|±\s*0|—)", after_total[1])[:len(expected)]
    values = [None if value == "—" else int(value.replace(",", "")) for value, _change in pairs]
    assert values == list(expected.values()), (after_total[1][:300], expected)
