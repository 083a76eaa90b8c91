"""The daily round on a grid worker's phone keeps working without a network: two readings entered
offline wait on the phone, are sent when the connection returns, and are stored exactly once."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.models import Subject
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from tests.browser.conftest import PASSWORD, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PEOPLE = ("巡访甲", "巡访乙")


async def _seed(site: Site, key: str) -> tuple[str, str, dict[str, str]]:
    db = Database.from_url(site.settings.database_url)
    people = {}
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name=f"走访网格-{key}")
            worker, clinician = f"worker-{key}", f"doc-round-{key}"
            await create_user(session, actor=SYSTEM_STAFF, username=worker, password=PASSWORD, role="grid_worker",
                              grid_ids=[grid.id])
            await create_user(session, actor=SYSTEM_STAFF, username=clinician, password=PASSWORD, role="clinician",
                              grid_ids=[grid.id])
            start = (utcnow() - timedelta(days=3)).astimezone(site.settings.rules.tz).date()
            for index, name in enumerate(PEOPLE):
                subject, _code = await enrol(session, actor=SYSTEM_STAFF, rules=site.settings.rules, now=utcnow(),
                                             body=SubjectCreate(full_name=name, phone=f"1360000{index:04d}",
                                                                grid_id=grid.id, observation_type="home",
                                                                reason="走访测试", start_date=start))
                people[name] = str(subject.id)
            # Enrolled days ago, not just now: a window that closed within the enrolment grace is not
            # missed, so someone enrolled a minute ago after the evening window would need no reading
            # until the morning. This way they need one at any hour the test runs.
            await session.execute(update(Subject).where(Subject.id.in_([uuid.UUID(i) for i in people.values()]))
                                  .values(created_at=utcnow() - timedelta(days=3)))
    finally:
        await db.dispose()
    return worker, clinician, people


def _readings(site: Site, clinician: str, subject_id: str) -> list[dict[str, object]]:
    token = httpx.post(f"{site.base_url}/api/v1/auth/token",
                       data={"username": clinician, "password": PASSWORD}).json()["access_token"]
    response = httpx.get(f"{site.base_url}/api/v1/subjects/{subject_id}/readings",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    readings: list[dict[str, object]] = response.json()
    return readings


def test_two_readings_entered_offline_are_sent_when_the_connection_returns_and_stored_once(
        browser: Browser, site: Site, screenshots: Path) -> None:
    with ThreadPoolExecutor(1) as pool:
        worker, clinician, people = pool.submit(asyncio.run, _seed(site, uuid.uuid4().hex[:6])).result()
    context = browser.new_context(locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/login")
        page.locator("#username").fill(worker)
        page.locator("#password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/round$"))
        expect(page.locator("h1")).to_have_text("每日走访")
        rows = {name: page.locator(f'.round-person[data-subject-id="{sid}"]') for name, sid in people.items()}
        for row in rows.values():
            expect(row).to_be_visible()

        context.set_offline(True)
        for row, value in zip(rows.values(), ("36.6", "37,9"), strict=True):
            row.locator(".round-temperature").fill(value)
            row.locator(".round-reading button[type=submit]").click()
        expect(page.locator("#queue-count")).to_have_text("2")
        expect(page.locator("#round-queue")).to_be_visible()
        expect(page.locator("#round-offline")).to_be_visible()
        expect(page.locator("#queue-list li")).to_have_count(2)
        page.screenshot(path=str(screenshots / "round-offline-360.png"), full_page=True)
        for sid in people.values():
            assert _readings(site, clinician, sid) == []  # nothing reached the server while offline

        context.set_offline(False)
        expect(page.locator("#queue-count")).to_have_text("0")
        expect(page.locator("#round-queue")).to_be_hidden()
        for row in rows.values():
            expect(row.locator(".round-state")).to_contain_text("已保存")
        # Coming online again (a flaky connection) or reloading sends nothing more.
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.reload()
        expect(page.locator("#queue-count")).to_have_text("0")
        stored = {name: _readings(site, clinician, sid) for name, sid in people.items()}
        assert [(r["temperature_c"], r["source"]) for r in stored[PEOPLE[0]]] == [(36.6, "visit")]
        assert [(r["temperature_c"], r["source"]) for r in stored[PEOPLE[1]]] == [(37.9, "visit")]
        # Both have their reading now: the round no longer lists them.
        for sid in people.values():
            expect(page.locator(f'.round-person[data-subject-id="{sid}"]')).to_have_count(0)
    finally:
        context.close()
