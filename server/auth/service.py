"""Signing in: staff with username and password, people under observation with their personal link's
code; both throttled.

Both use cases hold the :class:`~server.db.Database` rather than take one session, unlike every other
service: a refused sign-in must still be recorded (that is what throttling counts), while the request
fails, and no pooled connection may be held while the password hash is checked. So each runs two short
units of work one after the other, the first to read, the second to record the outcome, and checks the
password in between with no connection held. A request that signs in holds no other session (the
routes and pages that call these take none), and only a few sign-ins work at once (:class:`SignInGate`),
so a burst of wrong passwords can neither drain the pool nor crowd out everyone else's requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.audit import service as audit
from server.auth.principal import Caller, Staff, SubjectPrincipal
from server.auth.security import Tokens, check_password, hash_access_code
from server.db import Database
from server.errors import TooManyRequests, Unauthorized
from server.models import AuthFailure, Subject, User
from server.settings import Settings

CallerT = TypeVar("CallerT", bound=Caller)


class InvalidCredentials(Unauthorized):
    pass


@dataclass(frozen=True, slots=True)
class Throttle:
    """At most ``max_failures`` failed sign-ins per key within ``window_s`` seconds."""

    max_failures: int
    window_s: int

    @classmethod
    def for_staff(cls, settings: Settings) -> Throttle:
        return cls(max_failures=settings.login_max_failures, window_s=settings.login_failure_window_seconds)

    @classmethod
    def for_links(cls, settings: Settings) -> Throttle:
        # Codes are 128 bits and cannot be guessed; this only keeps a flood of them off the database,
        # and leaves room for a household opening several people's links from one address.
        return cls(max_failures=settings.login_max_failures * 4, window_s=settings.login_failure_window_seconds)


class SignInGate:
    """At most ``concurrent`` sign-ins of this process work at once: each takes a pooled connection twice
    and a staff sign-in a hash thread, so a flood must not crowd out every other request. The rest wait
    their turn holding nothing; beyond ``max_waiting`` of them, more are refused at once."""

    def __init__(self, *, concurrent: int = 4, max_waiting: int = 200) -> None:
        self._slots = asyncio.Semaphore(concurrent)
        self._waiting = 0
        self._max_waiting = max_waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._waiting >= self._max_waiting:
            raise TooManyRequests("Too many people are signing in right now. Please try again in a moment.",
                                  headers={"Retry-After": "5"})
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


@dataclass(frozen=True, slots=True)
class SignedIn(Generic[CallerT]):
    caller: CallerT
    token: str


class SignIns:
    """Signing in, for one app process (pages and the API alike): checks what the caller presents and
    issues the token the API answers and the pages keep in a cookie."""

    def __init__(self, db: Database, settings: Settings, tokens: Tokens, gate: SignInGate | None = None) -> None:
        self.db = db
        self.settings = settings
        self.tokens = tokens
        self.gate = gate or SignInGate()

    async def staff(self, *, username: str, password: str, address: str, now: datetime) -> SignedIn[Staff]:
        """The active staff member with this username and password; InvalidCredentials otherwise,
        TooManyRequests after too many failures for the username or the caller's address."""
        keys = [f"user:{username.strip().lower()}", f"ip:{address}"]
        throttle = Throttle.for_staff(self.settings)
        async with self.gate.turn():
            async with self.db.session() as session:
                await _check_throttle(session, keys=keys, throttle=throttle, now=now)
                user = await session.scalar(
                    select(User).where(User.username == username.strip()).options(selectinload(User.grids))
                )
            # Checked even for an unknown username, so that its answer takes as long as a wrong password's.
            valid = await check_password(user.password_hash if user else None, password)
            accepted = valid and user is not None and user.is_active
            async with self.db.session() as session:
                if accepted:
                    assert user is not None
                    await _clear_failures(session, keys=keys[:1])
                    audit.record(session, Staff.of(user), "staff.login")
                else:
                    await _record_failure(session, keys=keys, throttle=throttle, now=now)
        if not accepted or user is None:
            raise InvalidCredentials("Wrong username or password.")
        return SignedIn(Staff.of(user), self.tokens.issue("staff", str(user.id), user.token_version))

    async def subject(self, *, access_code: str, address: str, now: datetime) -> SignedIn[SubjectPrincipal]:
        """The person whose personal link carries this code; InvalidCredentials for a code that is
        unknown (or re-issued since), TooManyRequests after too many of those from the caller's address."""
        keys = [f"code-ip:{address}"]
        throttle = Throttle.for_links(self.settings)
        async with self.gate.turn(), self.db.session() as session:
            await _check_throttle(session, keys=keys, throttle=throttle, now=now)
            subject = await session.scalar(
                select(Subject).where(Subject.access_code_hash == hash_access_code(access_code.strip()))
            )
            if subject is None:
                await _record_failure(session, keys=keys, throttle=throttle, now=now)
        if subject is None:
            raise InvalidCredentials("This link is not valid any more. Please ask your grid worker for a new one.")
        return SignedIn(SubjectPrincipal(subject.id, subject),
                        self.tokens.issue("subject", str(subject.id), subject.access_code_version))


async def _check_throttle(session: AsyncSession, *, keys: list[str], throttle: Throttle, now: datetime) -> None:
    since = now - timedelta(seconds=throttle.window_s)
    count = await session.scalar(
        select(func.count()).select_from(AuthFailure).where(AuthFailure.key.in_(keys), AuthFailure.at >= since)
        .group_by(AuthFailure.key).order_by(func.count().desc()).limit(1)
    )
    if count is not None and count >= throttle.max_failures:
        raise TooManyRequests(
            "Too many failed sign-in attempts. Please wait {minutes} minutes and try again.",
            minutes=throttle.window_s // 60,
            headers={"Retry-After": str(throttle.window_s)},
        )


async def _record_failure(session: AsyncSession, *, keys: list[str], throttle: Throttle, now: datetime) -> None:
    session.add_all([AuthFailure(key=key, at=now) for key in keys])
    # Keep the table small: failures older than the window no longer count.
    await session.execute(delete(AuthFailure).where(AuthFailure.at < now - timedelta(seconds=throttle.window_s)))


async def _clear_failures(session: AsyncSession, *, keys: list[str]) -> None:
    await session.execute(delete(AuthFailure).where(AuthFailure.key.in_(keys)))
