"""Engine, session factory and the per-request session that is the one commit point."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import DateTime, MetaData, Result, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive values and would hand them back naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


AfterCommit = Callable[[], Awaitable[None]]
Publisher = Callable[[str, dict[str, Any]], Awaitable[None]]


class Database:
    """Owns the engine and hands out sessions; the app keeps exactly one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # Set by the app once its event bus runs; events are dropped (after commit) until then.
        self.publisher: Publisher | None = None

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Database:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=20, max_overflow=20, pool_pre_ping=True)
        engine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            _tune_sqlite(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block succeeds, rolls back when it raises, then runs the
        after-commit callbacks (event publication) registered with :func:`after_commit`."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
            for callback in callbacks:
                await callback()
            events: list[tuple[str, dict[str, Any]]] = session.info.pop("pending_events", [])
            if self.publisher is not None:
                for event_type, data in events:
                    try:
                        await self.publisher(event_type, data)
                    except Exception:  # the write is durable; a lost live update must not fail it
                        logger.exception("could not publish %s", event_type)

    async def dispose(self) -> None:
        await self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched. ``AsyncSession.execute`` is typed as answering
    a plain ``Result``; for those statements it is a ``CursorResult``, which counts them."""
    return int(getattr(result, "rowcount", 0) or 0)


def dialect_of(session: AsyncSession) -> str:
    """The name of the session's database dialect: ``"postgresql"`` or ``"sqlite"``."""
    return session.get_bind().dialect.name


# Failures that say the database could not be reached or dropped the connection, not that the request was
# wrong: the pool's wait timing out, a refused or reset connection (asyncpg raises these from connect()
# unwrapped), PostgreSQL starting up or shutting down, and SQLite's "database is locked".
_UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, ConnectionError,
                asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)
# What the app's error handler looks at (a dropped connection mid-query arrives as a plain DBAPIError).
UNREACHABLE_ERRORS = (sa_exc.DBAPIError, *_UNREACHABLE)


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database is unreachable for now, so that a retry may succeed."""
    cause: BaseException | None = error
    for _ in range(4):  # SQLAlchemy wraps the driver's error, which may wrap asyncpg's
        if cause is None:
            return False
        if isinstance(cause, _UNREACHABLE) or (isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


async def insert_new(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert the rows whose primary key is not taken yet (concurrent requests may insert the same)."""
    insert = postgresql_insert if dialect_of(session) == "postgresql" else sqlite_insert
    await session.execute(insert(model).values(rows).on_conflict_do_nothing())


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the request's transaction has committed (never for a rolled-back one)."""
    session.info.setdefault("after_commit", []).append(callback)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
