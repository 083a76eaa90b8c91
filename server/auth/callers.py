"""The one authenticator: from the token a request presents to a typed caller.

The JSON API, the pages, the event stream and the check-in viewers all learn who is calling here, so a
token is accepted, or refused, by the same rules everywhere: a valid signature within its lifetime, a
staff account that is still active with the same token version, a personal link that has not been
re-issued since (nor closed a while after release), a token that was not signed out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.areas import service as areas
from server.auth.principal import Caller, HouseholdPrincipal, Staff, SubjectPrincipal
from server.auth.security import TokenClaims, Tokens
from server.models import ACTIVE, RevokedToken, Subject, User
from server.models.households import Household

STAFF_COOKIE = "hw_staff"
SUBJECT_COOKIE = "hw_subject"
HOUSEHOLD_COOKIE = "hw_household"

Kind = Literal["staff", "subject", "household"]
COOKIES: dict[Kind, str] = {"staff": STAFF_COOKIE, "subject": SUBJECT_COOKIE, "household": HOUSEHOLD_COOKIE}


def link_closed(subject: Subject, *, now: datetime, released_link_days: int) -> bool:
    """A person's link stops signing in this long after their observation ended (released or closed): they keep
    their own page for a few days to see the release, and no longer."""
    ended_at = subject.released_at or subject.closed_at
    return (subject.state != ACTIVE and ended_at is not None
            and now - ended_at >= timedelta(days=released_link_days))


class Authenticator:
    def __init__(self, tokens: Tokens, *, released_link_days: int) -> None:
        self.tokens = tokens
        self.released_link_days = released_link_days

    def claims(self, token: str | None) -> TokenClaims | None:
        """What a token says, if its signature holds and it has not expired (not yet whether the
        account still accepts it, nor whether it was signed out)."""
        return self.tokens.read(token) if token else None

    async def caller(self, session: AsyncSession, token: str | None, *, now: datetime,
                     lock_subject: bool = False) -> Caller | None:
        """Who ``token`` signs in now, or None. ``lock_subject`` locks a person's row for the rest of the
        unit of work (a reading then signs in and locks with one query)."""
        claims = self.claims(token)
        if claims is None:
            return None
        if claims.kind == "staff":
            return await self._staff(session, claims)
        if claims.kind == "household":
            return None  # a household's token reaches only its own routes (see household())
        return await self._subject(session, claims, now=now, lock=lock_subject)

    async def household(self, session: AsyncSession, token: str | None) -> HouseholdPrincipal | None:
        """The household ``token`` signs in now, or None: its link not re-issued since, not signed out."""
        claims = self.claims(token)
        if claims is None or claims.kind != "household":
            return None
        try:
            household_id = uuid.UUID(claims.ident)
        except ValueError:
            return None
        row = (await session.execute(
            select(Household, _revoked(claims)).where(Household.id == household_id))).one_or_none()
        if row is None:
            return None
        household, revoked = row
        if revoked or household.access_code_version != claims.version:
            return None
        return HouseholdPrincipal(household_id=household.id, household=household)

    async def _staff(self, session: AsyncSession, claims: TokenClaims) -> Staff | None:
        try:
            user_id = int(claims.ident)
        except ValueError:
            return None
        row = (await session.execute(
            select(User, _revoked(claims)).where(User.id == user_id).options(selectinload(User.areas))
        )).one_or_none()
        if row is None:
            return None
        user, revoked = row
        if revoked or not user.is_active or user.token_version != claims.version:
            return None
        return await staff_of(session, user)

    async def _subject(self, session: AsyncSession, claims: TokenClaims, *, now: datetime,
                       lock: bool) -> SubjectPrincipal | None:
        try:
            subject_id = uuid.UUID(claims.ident)
        except ValueError:
            return None
        query = select(Subject, _revoked(claims)).where(Subject.id == subject_id)
        if lock:
            query = query.with_for_update(of=Subject)
        row = (await session.execute(query)).one_or_none()
        if row is None:
            return None
        subject, revoked = row
        if revoked or subject.access_code_version != claims.version:
            return None
        if link_closed(subject, now=now, released_link_days=self.released_link_days):
            return None
        return SubjectPrincipal(subject_id=subject.id, subject=subject)


async def staff_of(session: AsyncSession, user: User) -> Staff:
    """The member signed in as ``user`` (its areas loaded) with the grids below their areas, resolved on
    every request so that moving an area or a member takes effect at once."""
    if user.role == "admin":
        return Staff.of(user, grid_ids=frozenset(), all_grids=True)
    if not user.areas:
        return Staff.of(user, grid_ids=frozenset(), all_grids=False)
    grid_ids = await areas.grids_under(session, (a.id for a in user.areas))
    return Staff.of(user, grid_ids=grid_ids, all_grids=len(grid_ids) == await areas.grid_count(session))


def _revoked(claims: TokenClaims) -> Exists:
    # Asked in the same statement as the account's row: signing out costs no extra round trip.
    return exists().where(RevokedToken.token_id == claims.token_id)
