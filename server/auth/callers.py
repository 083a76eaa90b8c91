"""The one authenticator: from the token a request presents to a typed caller.

The JSON API, the pages, the event stream and the check-in viewers all learn who is calling here, so a
token is accepted, or refused, by the same rules everywhere: a valid signature within its lifetime, a
staff account that is still active with the same token version, a personal link that has not been
re-issued since."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.auth.principal import Admin, Caller, Clinician, Staff, SubjectPrincipal
from server.auth.security import TokenClaims, Tokens
from server.models import Subject, User

STAFF_COOKIE = "hw_staff"
SUBJECT_COOKIE = "hw_subject"

Kind = Literal["staff", "subject"]
COOKIES: dict[Kind, str] = {"staff": STAFF_COOKIE, "subject": SUBJECT_COOKIE}


class Authenticator:
    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def claims(self, token: str | None) -> TokenClaims | None:
        """What a token says, if its signature holds and it has not expired (not yet whether the
        account still accepts it)."""
        return self.tokens.read(token) if token else None

    async def caller(self, session: AsyncSession, token: str | None, *, lock_subject: bool = False) -> Caller | None:
        """Who ``token`` signs in now, or None. ``lock_subject`` locks a person's row for the rest of the
        unit of work (a reading then signs in and locks with one query)."""
        claims = self.claims(token)
        if claims is None:
            return None
        if claims.kind == "staff":
            return await self._staff(session, claims)
        return await self._subject(session, claims, lock=lock_subject)

    async def _staff(self, session: AsyncSession, claims: TokenClaims) -> Admin | Clinician | None:
        try:
            user_id = int(claims.ident)
        except ValueError:
            return None
        user = await session.scalar(select(User).where(User.id == user_id).options(selectinload(User.grids)))
        if user is None or not user.is_active or user.token_version != claims.version:
            return None
        return Staff.of(user)

    async def _subject(self, session: AsyncSession, claims: TokenClaims, *, lock: bool) -> SubjectPrincipal | None:
        try:
            subject_id = uuid.UUID(claims.ident)
        except ValueError:
            return None
        subject = await session.get(Subject, subject_id, with_for_update=lock or None)
        if subject is None or subject.access_code_version != claims.version:
            return None
        return SubjectPrincipal(subject_id=subject.id, subject=subject)
