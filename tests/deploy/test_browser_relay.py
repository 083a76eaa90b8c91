"""Chromium allowed to use nothing but TURN (``iceTransportPolicy: "relay"``), through nginx in front of two
app processes: a person's check-in completes through coturn with the credentials the page fetched, and a
clinician watches it live, whichever process each of their requests reaches."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.grids.service import create_grid
from server.models.checkins import Checkin
from server.settings import Settings
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, require_chromium

from .conftest import Cluster

pytestmark = [pytest.mark.browser, pytest.mark.webrtc, pytest.mark.xdist_group("cluster")]

# Every connection the page opens may use relays only, as on a network that lets nothing else through;
# what the page asked for is kept, to show where its credentials came from.
RELAY_ONLY = """(() => {
  const Native = window.RTCPeerConnection;
  window.__rtcConfigs = [];
  window.RTCPeerConnection = function (config) {
    window.__rtcConfigs.push(config);
    return new Native(Object.assign({}, config, { iceTransportPolicy: "relay" }));
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""


@pytest.fixture
def cluster_settings() -> dict[str, str]:
    # Long enough for the clinician to sign in and open the watch page while the check-in is live.
    return {"HOMEWATCH_CHECKIN_MAX_SECONDS": "40", "HOMEWATCH_CHECKIN_MIN_SECONDS": "3",
            "HOMEWATCH_CHECKIN_SNAPSHOT_INTERVAL": "1", "HOMEWATCH_CHECKIN_MAX_SNAPSHOTS": "4"}


async def _seed(database_url: str) -> tuple[int, uuid.UUID, str]:
    rules = Settings(environment="test", database_url=database_url).rules
    db = Database.from_url(database_url)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name="中继网格")
            user = await create_user(session, actor=SYSTEM_STAFF, username="doc-relay", password=PASSWORD,
                                     role="clinician", grid_ids=[grid.id])
            subject, code = await enrol(
                session, actor=SYSTEM_STAFF, rules=rules, now=utcnow(),
                body=SubjectCreate(full_name="吴中继", phone="13700000123", grid_id=grid.id,
                                   observation_type="home", reason="浏览器测试"))
    finally:
        await db.dispose()
    return user.id, subject.id, code


async def _checkin(database_url: str, subject_id: uuid.UUID) -> Checkin:
    db = Database.from_url(database_url)
    try:
        async with db.session() as session:
            row = await session.scalar(select(Checkin).where(Checkin.subject_id == subject_id))
            assert row is not None
            return row
    finally:
        await db.dispose()


def test_a_relay_only_browser_checks_in_through_coturn_and_is_watched_through_the_proxy(cluster: Cluster) -> None:
    require_chromium()
    with ThreadPoolExecutor(1) as pool:
        user_id, subject_id, code = pool.submit(asyncio.run, _seed(cluster.database_url)).result()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            phone = chromium.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, is_mobile=True)
            phone.add_init_script(RELAY_ONLY)
            person = phone.new_page()
            person.set_default_timeout(20_000)
            person.goto(f"{cluster.url}/s/{code}")
            person.get_by_test_id("video-checkin").click()
            person.get_by_role("button", name="开始视频打卡").click()
            expect(person.locator("body")).to_have_attribute("data-checkin-state", "live")
            asked = person.evaluate("() => window.__rtcConfigs")
            [server] = asked[0]["iceServers"]
            assert server["urls"] == [cluster.turn]
            assert server["username"].endswith(f":subject-{subject_id}")

            desk = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
            desk.add_init_script(RELAY_ONLY)
            doctor = desk.new_page()
            doctor.set_default_timeout(20_000)
            doctor.goto(f"{cluster.url}/login")
            doctor.get_by_label("用户名").fill("doc-relay")
            doctor.get_by_label("密码").fill(PASSWORD)
            doctor.get_by_role("button", name="登录").click()
            doctor.goto(f"{cluster.url}/subjects/{subject_id}")
            doctor.get_by_role("link", name="实时观看").click()
            expect(doctor.locator("body")).to_have_attribute("data-watch-state", "video")
            assert doctor.evaluate("() => document.getElementById('remote').videoWidth") > 0
            [watching] = doctor.evaluate("() => window.__rtcConfigs")[0]["iceServers"]
            assert watching["username"].endswith(f":staff-{user_id}")

            expect(person.locator("body")).to_have_attribute("data-checkin-state", "received", timeout=60_000)
        finally:
            chromium.close()
    with ThreadPoolExecutor(1) as pool:
        checkin = pool.submit(asyncio.run, _checkin(cluster.database_url, subject_id)).result()
    assert checkin.status == "completed" and checkin.frames_received > 20, checkin.error
    assert checkin.media_owner in cluster.apps
    # Both pages allocated relays on coturn with the names the app gave them.
    log = cluster.log("turnserver.log")
    assert f"subject-{subject_id}" in log and f"staff-{user_id}" in log
