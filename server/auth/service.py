"""Signing in and out: staff with username and password, people under observation with their personal
link's code; sign-ins throttled, every outcome audited.

Signing in holds the :class:`~server.db.Database` rather than taking one session, unlike every other
service: a refused sign-in must still be recorded (that is what throttling counts), while the request
fails, and no pooled connection may be held while a password hash is checked. So a staff sign-in runs
two short units of work one after the other, the first to take its turn and read the account, the
second to record the outcome, and checks the password in between with no connection held. A request
that signs in holds no other session (the routes and pages that call these take none), and only a few
sign-ins work at once (:class:`SignInGate`), so a burst of wrong passwords can neither drain the pool nor
crowd out everyone else's requests.

Throttling slows a guesser down instead of locking the owner out: per username and per client address,
the first few failures are free, then each one doubles the wait before the next attempt, up to a few
minutes. An attempt takes its turn before the password is checked, counted as a failure until it
succeeds, under a lock on the key's row, so concurrent attempts cannot all slip through."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.audit import service as audit
from server.auth.callers import Authenticator, link_closed, staff_of
from server.auth.principal import Caller, HouseholdPrincipal, Staff, SubjectPrincipal
from server.auth.security import Tokens, check_password, hash_access_code
from server.db import Database, insert_new
from server.errors import Forbidden, TooManyRequests, Unauthorized
from server.fields import visible
from server.models import RevokedToken, SignInThrottle, Subject, User
from server.models.households import Household
from server.settings import Settings

CallerT = TypeVar("CallerT", bound=Caller | HouseholdPrincipal)
# What a link signs in: a person under observation or a household.
_Holder = TypeVar("_Holder", Subject, Household)
logger = logging.getLogger(__name__)


class InvalidCredentials(Unauthorized):
    pass


class LinkClosed(Forbidden):
    """A released person's link, once ``HOMEWATCH_RELEASED_LINK_DAYS`` have passed."""

    error = "link_closed"

    def __init__(self, message: str, *, released_at: datetime, **params: Any) -> None:
        super().__init__(message, extra={"released_at": released_at.isoformat()}, **params)
        self.released_at = released_at


class Anonymous:
    """Who the audit trail names for an attempt that signed nobody in."""

    def __init__(self, address: str) -> None:
        self.audit_actor = ("anonymous", address, address)


@dataclass(frozen=True, slots=True)
class Throttle:
    """``free`` failures per key, then a wait that doubles with each failure (1 s, 2 s, 4 s, …) up to
    ``max_delay_s``; a key whose last failure is older than ``window_s`` starts again."""

    free: int
    max_delay_s: int
    window_s: int

    @classmethod
    def for_staff(cls, settings: Settings) -> Throttle:
        return cls(free=settings.login_free_failures, max_delay_s=settings.login_max_delay_seconds,
                   window_s=settings.login_failure_window_seconds)

    @classmethod
    def for_links(cls, settings: Settings) -> Throttle:
        # Codes are 128 bits and cannot be guessed; this only keeps a flood of them off the database,
        # and leaves room for a household opening several people's links from one address.
        return cls(free=settings.login_free_failures * 4, max_delay_s=settings.login_max_delay_seconds,
                   window_s=settings.login_failure_window_seconds)

    def forgotten(self, row: SignInThrottle, now: datetime) -> bool:
        return row.last_failure_at is None or now - row.last_failure_at > timedelta(seconds=self.window_s)

    def wait_s(self, row: SignInThrottle, now: datetime) -> float:
        """Seconds until the key may try again (0: now)."""
        if self.forgotten(row, now) or row.failures < self.free:
            return 0.0
        assert row.last_failure_at is not None
        delay = min(2.0 ** (row.failures - self.free), float(self.max_delay_s))
        return max(0.0, delay - (now - row.last_failure_at).total_seconds())


class SignInGate:
    """At most ``concurrent`` sign-ins of this process work at once: each takes a pooled connection twice
    and a staff sign-in a hash thread, so a flood must not crowd out every other request. The rest wait
    their turn holding nothing; beyond ``max_waiting`` of them, more are refused at once (logged, not
    audited: writing a row for each would hand the flood the database again)."""

    def __init__(self, *, concurrent: int = 4, max_waiting: int = 200) -> None:
        self._slots = asyncio.Semaphore(concurrent)
        self._waiting = 0
        self._max_waiting = max_waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._waiting >= self._max_waiting:
            logger.warning("refusing a sign-in: %d already waiting", self._waiting)
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
        TooManyRequests while the username or the caller's address must wait after failures."""
        # Control characters (NUL) could not even be compared by PostgreSQL; no username has U+FFFD.
        name = visible(username.strip())
        user_key, address_key = f"user:{name.lower()}", f"ip:{address}"
        throttle = Throttle.for_staff(self.settings)
        user: User | None = None
        async with self.gate.turn():
            async with self.db.session() as session:
                wait = await _take_turn(session, [user_key, address_key], throttle=throttle, now=now)
                if wait:
                    audit.record(session, Anonymous(address), "staff.login_throttled", username=name[:64],
                                 address=address, retry_after=math.ceil(wait))
                else:
                    user = await session.scalar(
                        select(User).where(User.username == name).options(selectinload(User.areas))
                    )
            if wait:
                raise _wait_error(wait)
            # Checked even for an unknown username, so that its answer takes as long as a wrong password's.
            valid = await check_password(user.password_hash if user else None, password)
            async with self.db.session() as session:
                signed_in = (await staff_of(session, user) if valid and user is not None and user.is_active
                             else None)
                if signed_in is not None:
                    await _forgive(session, reset=[user_key], undo=[address_key])
                    audit.record(session, signed_in, "staff.login", address=address)
                else:
                    audit.record(session, Anonymous(address), "staff.login_failed", username=name[:64],
                                 address=address)
        if signed_in is None or user is None:
            raise InvalidCredentials("Wrong username or password.")
        return SignedIn(signed_in, self.tokens.issue("staff", str(user.id), user.token_version))

    async def _link_holder(self, session: AsyncSession, model: type[_Holder], *, access_code: str, address: str,
                           now: datetime, throttled_action: str, refused_action: str) -> tuple[float, _Holder | None]:
        """Whose link (a person's or a household's) carries this code, under the links' one throttle per
        client address: (the wait still owed, or 0; the row, or None). A known code forgives the address's
        failures; an unknown one, or a turn not yet due, is audited as ``refused_action`` or
        ``throttled_action``."""
        key = f"link-ip:{address}"
        wait = await _take_turn(session, [key], throttle=Throttle.for_links(self.settings), now=now)
        if wait:
            audit.record(session, Anonymous(address), throttled_action, address=address, retry_after=math.ceil(wait))
            return wait, None
        holder = await session.scalar(
            select(model).where(model.access_code_hash == hash_access_code(access_code.strip())))
        if holder is None:
            audit.record(session, Anonymous(address), refused_action, address=address)
        else:
            await _forgive(session, undo=[key])
        return wait, holder

    async def subject(self, *, access_code: str, address: str, now: datetime) -> SignedIn[SubjectPrincipal]:
        """The person whose personal link carries this code; InvalidCredentials for a code that is
        unknown (or re-issued since), LinkClosed a while after their release, TooManyRequests while the
        caller's address must wait after unknown codes."""
        closed: Subject | None = None
        async with self.gate.turn(), self.db.session() as session:
            wait, subject = await self._link_holder(session, Subject, access_code=access_code, address=address,
                                                    now=now, throttled_action="subject.link_throttled",
                                                    refused_action="subject.link_refused")
            if subject is not None:
                principal = SubjectPrincipal(subject.id, subject)
                if link_closed(subject, now=now, released_link_days=self.settings.released_link_days):
                    closed = subject
                    audit.record(session, principal, "subject.link_closed", subject_id=subject.id, address=address)
                else:
                    audit.record(session, principal, "subject.signed_in", subject_id=subject.id, address=address)
        if wait:
            raise _wait_error(wait)
        if closed is not None:
            ended_at = closed.released_at or closed.closed_at
            assert ended_at is not None
            raise LinkClosed("Your observation ended on {date}, so this link no longer signs in.",
                             date=ended_at.date().isoformat(), released_at=ended_at)
        if subject is None:
            raise InvalidCredentials("This link is not valid any more. Please ask your grid worker for a new one.")
        return SignedIn(SubjectPrincipal(subject.id, subject),
                        self.tokens.issue("subject", str(subject.id), subject.access_code_version))

    async def household(self, *, access_code: str, address: str, now: datetime) -> SignedIn[HouseholdPrincipal]:
        """The household whose link carries this code; InvalidCredentials for a code that is unknown (or
        re-issued since), TooManyRequests while the caller's address must wait after unknown codes. The
        same throttle as personal links, sharing their budget per address."""
        async with self.gate.turn(), self.db.session() as session:
            wait, household = await self._link_holder(session, Household, access_code=access_code, address=address,
                                                       now=now, throttled_action="household.link_throttled",
                                                       refused_action="household.link_refused")
            if household is not None:
                audit.record(session, HouseholdPrincipal(household.id, household), "household.signed_in",
                             household_id=str(household.id), address=address)
        if wait:
            raise _wait_error(wait)
        if household is None:
            raise InvalidCredentials("This link is not valid any more. Please ask your grid worker for a new one.")
        return SignedIn(HouseholdPrincipal(household.id, household),
                        self.tokens.issue("household", str(household.id), household.access_code_version))


async def sign_out(session: AsyncSession, authenticator: Authenticator, token: str | None, *,
                   now: datetime) -> Caller | HouseholdPrincipal | None:
    """Revoke ``token`` if it still signs someone in, in every app process; who signed out, or None."""
    claims = authenticator.claims(token)
    caller: Caller | HouseholdPrincipal | None = await authenticator.caller(session, token, now=now)
    if caller is None:
        caller = await authenticator.household(session, token)
    if claims is None or caller is None:
        return None
    await insert_new(session, RevokedToken, [{"token_id": claims.token_id, "expires_at": claims.expires_at}])
    # A revoked token past its expiry is refused anyway: keep the table to the tokens that could still work.
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    if isinstance(caller, Staff):
        audit.record(session, caller, "staff.logout")
    elif isinstance(caller, HouseholdPrincipal):
        audit.record(session, caller, "household.logout", household_id=str(caller.household_id))
    else:
        audit.record(session, caller, "subject.logout", subject_id=caller.subject_id)
    return caller


def _wait_error(wait: float) -> TooManyRequests:
    seconds = math.ceil(wait)
    return TooManyRequests("Too many failed sign-in attempts. Please wait {seconds} seconds and try again.",
                           seconds=seconds, headers={"Retry-After": str(seconds)})


async def _take_turn(session: AsyncSession, keys: list[str], *, throttle: Throttle, now: datetime) -> float:
    """Seconds the slowest of ``keys`` must still wait; when none must, the attempt is counted as a
    failure of each key (forgiven by :func:`_forgive` if it succeeds) and 0 is answered."""
    keys = sorted(set(keys))  # one lock order for every attempt: no deadlocks between them
    # The insert comes first: on SQLite it takes the write lock, so the read below cannot go stale.
    await insert_new(session, SignInThrottle, [{"key": key, "failures": 0} for key in keys])
    rows = (await session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys)).order_by(SignInThrottle.key).with_for_update()
    )).all()
    wait = max(throttle.wait_s(row, now) for row in rows)
    if wait > 0:
        return wait
    for row in rows:
        row.failures = 1 if throttle.forgotten(row, now) else row.failures + 1
        row.last_failure_at = now
    await session.flush()
    # Keys nobody has failed with for a window are forgotten: keep the table to the ones that count.
    # Rows other attempts hold locked are left for later, so two attempts never wait on each other here.
    stale = (select(SignInThrottle.key)
             .where(or_(SignInThrottle.last_failure_at.is_(None),
                        SignInThrottle.last_failure_at < now - timedelta(seconds=throttle.window_s)))
             .limit(100).with_for_update(skip_locked=True))
    await session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(stale.scalar_subquery())))
    return 0.0




async def _forgive(session: AsyncSession, *, reset: Sequence[str] = (), undo: Sequence[str] = ()) -> None:
    """A successful attempt: ``reset`` keys start again from nothing; ``undo`` keys forget this attempt."""
    keys = [*reset, *undo]
    for row in (await session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))).all():
        if row.key in reset:
            row.failures, row.last_failure_at = 0, None
        else:
            row.failures = max(0, row.failures - 1)
