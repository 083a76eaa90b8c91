"""Typed FastAPI dependencies shared by every router."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.auth.principal import Staff, SubjectPrincipal
from server.context import AppContext
from server.errors import Forbidden, Unauthorized
from server.models import Subject, User

STAFF_COOKIE = "hw_staff"
SUBJECT_COOKIE = "hw_subject"


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


async def get_session(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """The request's one unit of work: committed when the route returns, rolled back when it raises."""
    async with ctx.db.session() as session:
        yield session


# scope="function": the unit of work commits before the response is sent, so a client never sees a
# success for a write that then fails to commit, nor reads ahead of its own write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

bearer_scheme = HTTPBearer(auto_error=False)


def request_token(request: Request, credentials: HTTPAuthorizationCredentials | None, cookie: str) -> str | None:
    """The bearer token if the request has one, else the sign-in cookie named ``cookie``."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(cookie)


async def load_staff(session: AsyncSession, ctx: AppContext, token: str | None) -> Staff | None:
    claims = ctx.tokens.read(token) if token else None
    if claims is None or claims.kind != "staff":
        return None
    user = await session.scalar(
        select(User).where(User.id == int(claims.ident)).options(selectinload(User.grids))
    )
    if user is None or not user.is_active or user.token_version != claims.version:
        return None
    return Staff.of(user)


async def load_subject(session: AsyncSession, ctx: AppContext, token: str | None, *,
                       for_update: bool = False) -> SubjectPrincipal | None:
    claims = ctx.tokens.read(token) if token else None
    if claims is None or claims.kind != "subject":
        return None
    subject = await session.get(Subject, uuid.UUID(claims.ident), with_for_update=for_update or None)
    if subject is None or subject.access_code_version != claims.version:
        return None
    return SubjectPrincipal(subject_id=subject.id, subject=subject)


async def current_staff(
    request: Request,
    session: SessionDep,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Staff:
    staff = await load_staff(session, ctx, request_token(request, credentials, STAFF_COOKIE))
    if staff is None:
        raise Unauthorized("Please sign in as a staff member.", headers={"WWW-Authenticate": "Bearer"})
    return staff


async def current_admin(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not staff.is_admin:
        raise Forbidden("Only an administrator can do this.")
    return staff


async def current_clinician(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if staff.role != "clinician":
        raise Forbidden("Only a clinician can do this.")
    return staff


def _subject_dependency(*, for_update: bool) -> Callable[..., Awaitable[SubjectPrincipal]]:
    async def dependency(
        request: Request,
        session: SessionDep,
        ctx: Ctx,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> SubjectPrincipal:
        token = request_token(request, credentials, SUBJECT_COOKIE)
        principal = await load_subject(session, ctx, token, for_update=for_update)
        if principal is None:
            raise Unauthorized("Please open your personal link again to sign in.",
                               headers={"WWW-Authenticate": "Bearer"})
        return principal

    return dependency


current_subject = _subject_dependency(for_update=False)
# Row-locked for the request: a write to the subject's summary (a reading) then costs one query for
# sign-in and lock together.
current_subject_locked = _subject_dependency(for_update=True)


async def current_subject_brief(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> SubjectPrincipal:
    """The signed-in subject, for a route that then waits on the network (a WebRTC negotiation takes
    up to seconds): signs in with a unit of work of its own, so no pooled connection is held meanwhile."""
    async with ctx.db.session() as session:
        principal = await load_subject(session, ctx, request_token(request, credentials, SUBJECT_COOKIE))
    if principal is None:
        raise Unauthorized("Please open your personal link again to sign in.",
                           headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentStaff = Annotated[Staff, Depends(current_staff)]
CurrentSubjectBrief = Annotated[SubjectPrincipal, Depends(current_subject_brief)]
CurrentSubjectLocked = Annotated[SubjectPrincipal, Depends(current_subject_locked)]
CurrentAdmin = Annotated[Staff, Depends(current_admin)]
CurrentClinician = Annotated[Staff, Depends(current_clinician)]
CurrentSubject = Annotated[SubjectPrincipal, Depends(current_subject)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
