"""A real homewatch served by uvicorn on a free local port, and headless Chromium driven by Playwright.

The site is seeded with the demo district (so screenshots show every state) plus one small grid per
scenario, so scenarios do not disturb each other's rosters."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from server.app import create_app
from server.auth.principal import SYSTEM_STAFF
from server.db import Database, utcnow
from server.demo import SCENARIOS, demo_access_code, seed_demo
from server.grids.service import create_grid
from server.migrate import upgrade
from server.settings import Settings
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol
from server.users.service import create_user

CHROMIUM = os.environ.get("HOMEWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
SECRET = "browser-test-secret-key-long-enough"
PASSWORD = "browser-test-password"
SCREENSHOTS = Path(os.environ.get("HOMEWATCH_ARTIFACTS", "artifacts")) / "screenshots"


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (set HOMEWATCH_TEST_CHROMIUM)"
    if os.environ.get("HOMEWATCH_TEST_REQUIRE_ALL"):
        pytest.fail(message + "; HOMEWATCH_TEST_REQUIRE_ALL is set, so browser tests must run")
    pytest.skip(message)


@dataclass
class Person:
    name: str
    code: str


@dataclass
class Scenario:
    grid: str
    clinician: str
    person: Person


@dataclass
class Site:
    base_url: str
    settings: Settings
    scenarios: dict[str, Scenario] = field(default_factory=dict)

    def demo_link(self, label: str) -> str:
        index = 0
        for scenario_label, count, _days, _kind in SCENARIOS:
            if scenario_label == label:
                return f"{self.base_url}/s/{demo_access_code(SECRET, index)}"
            index += count
        raise KeyError(label)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed(settings: Settings, names: list[str]) -> dict[str, Scenario]:
    await upgrade(settings.database_url)
    await seed_demo(settings)
    db = Database.from_url(settings.database_url)
    scenarios = {}
    try:
        async with db.session() as session:
            for index, key in enumerate(names):
                grid = await create_grid(session, actor=SYSTEM_STAFF, name=f"测试网格{index + 1}")
                username = f"doc-{key}"
                await create_user(session, actor=SYSTEM_STAFF, username=username, password=PASSWORD,
                                  role="clinician", grid_ids=[grid.id])
                person_name = ["赵测试", "钱测试", "孙测试", "李测试", "周测试"][index % 5]
                subject, code = await enrol(
                    session, actor=SYSTEM_STAFF, rules=settings.rules, now=utcnow(),
                    body=SubjectCreate(full_name=person_name, phone=f"1370000000{index}", grid_id=grid.id,
                                       observation_type="home", reason="浏览器测试"),
                )
                # A neighbour whose name sorts first, so "on top" really means "most severe first".
                await enrol(session, actor=SYSTEM_STAFF, rules=settings.rules, now=utcnow(),
                            body=SubjectCreate(full_name="阿" + person_name, phone=f"1370000001{index}",
                                               grid_id=grid.id, observation_type="home", reason="浏览器测试"))
                scenarios[key] = Scenario(grid.name, username, Person(person_name, code))
    finally:
        await db.dispose()
    return scenarios


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    require_chromium()
    folder = tmp_path_factory.mktemp("browser-site")
    port = _free_port()
    settings = Settings(environment="test", database_url=f"sqlite+aiosqlite:///{folder / 'homewatch.db'}",
                        secret_key=SECRET, public_url=f"http://127.0.0.1:{port}", media_dir=folder / "media",
                        redis_url=None)
    scenarios = asyncio.run(_seed(settings, ["report", "roster", "small", "live", "course"]))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="homewatch-browser-site", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", settings, scenarios)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    # Per module, not per session: while Playwright's sync API is open its event loop counts as running
    # in this thread, and the rest of the suite (asyncio.run in fixtures) must not run inside it.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
