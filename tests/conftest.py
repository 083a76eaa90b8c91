"""Shared fixtures: a freshly migrated database per test, on SQLite and (when configured) PostgreSQL.

Every test that takes ``db`` runs twice where ``HOMEWATCH_TEST_POSTGRES_URL`` is set (CI sets it):
once on SQLite (a copy of a database migrated once per worker) and once on PostgreSQL (a database
cloned from a migrated template). Both commit for real, so multi-session behaviour is what runs in
production."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.context import AppContext
from server.db import Database
from server.migrate import upgrade
from server.settings import Settings

POSTGRES_URL = os.environ.get("HOMEWATCH_TEST_POSTGRES_URL")
# 09:30 in Shanghai on a Tuesday: inside the morning reading window.
DEFAULT_NOW = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


def missing(reason: str) -> NoReturn:
    """A backend this test needs is absent: skip on a developer's machine, fail in CI, which sets
    HOMEWATCH_TEST_REQUIRE_ALL so that no test is silently left out there."""
    if os.environ.get("HOMEWATCH_TEST_REQUIRE_ALL"):
        pytest.fail(f"{reason} (HOMEWATCH_TEST_REQUIRE_ALL is set)")
    pytest.skip(reason)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _asyncpg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    if not POSTGRES_URL:
        yield None
        return
    admin_url = _asyncpg(POSTGRES_URL)
    name = f"hw_tmpl_{_worker()}_{os.getpid()}"

    async def create() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        await upgrade(_with_database(admin_url, name))

    asyncio.run(create())
    yield name

    async def drop() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    asyncio.run(drop())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
           postgres_template: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "homewatch.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if postgres_template is None:
        missing("PostgreSQL: set HOMEWATCH_TEST_POSTGRES_URL to run this case on PostgreSQL too")
    assert POSTGRES_URL
    admin_url = _asyncpg(POSTGRES_URL)
    name = f"hw_{uuid.uuid4().hex[:16]}"

    async def run(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield _with_database(admin_url, name)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Clock:
    now: datetime = DEFAULT_NOW

    def __call__(self) -> datetime:
        return self.now


async def public_dns(host: str) -> list[str]:
    """Every name is a public push service (tests that check refusals put their own table in place)."""
    return ["142.250.72.10"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: background loops off, so only the test moves the clock and the outbox."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": db_url,
        "secret_key": "test-secret-key-that-is-long-enough",
        "media_dir": tmp_path / "media",
        "public_url": "http://homewatch.test",
        "redis_url": None,
        "scheduler_enabled": False,
        "outbox_worker_enabled": False,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest_asyncio.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_url(settings.database_url)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def app(settings: Settings, db: Database, clock: Clock) -> AsyncIterator[FastAPI]:
    """The app on the test's database and clock, its lifespan running."""
    application = create_app(settings, db=db)
    ctx: AppContext = application.state.ctx
    ctx.clock = clock
    ctx.resolve_host = public_dns
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def app_ctx(app: FastAPI) -> AppContext:
    ctx: AppContext = app.state.ctx
    return ctx


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://homewatch.test") as http:
        yield http
