"""Typed FastAPI dependencies shared by every router: the unit of work and who is calling.

Who is calling is learnt from :class:`server.auth.callers.Authenticator` (the pages use the same one,
see ``server/pages/rendering.py``). A route states the caller it needs by its parameter's type:
``CurrentStaff``, ``CurrentAdmin``, ``CurrentClinician``, ``CurrentSubject``, …; the dependency behind it
answers 401 when nobody (or nobody of that kind) signed the request and 403 when a staff member's role
does not allow the route, so handlers never check a role themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.callers import COOKIES, STAFF_COOKIE, SUBJECT_COOKIE, Kind
from server.auth.principal import Admin, Caller, Clinician, HouseholdPrincipal, Staff, SubjectPrincipal
from server.context import AppContext
from server.csrf import CSRF_HEADER, UNSAFE_METHODS, origin_of, same_origin
from server.errors import CsrfRefused, Forbidden, Unauthorized

__all__ = ["STAFF_COOKIE", "SUBJECT_COOKIE"]


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(app_context)]


async def open_unit_of_work(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """The request's one unit of work: committed when the route returns, rolled back when it raises."""
    async with ctx.db.session() as session:
        yield session


# scope="function": the unit of work commits before the response is sent, so a client never sees a
# success for a write that then fails to commit, nor reads ahead of its own write.
SessionDep = Annotated[AsyncSession, Depends(open_unit_of_work, scope="function")]

bearer_scheme = HTTPBearer(auto_error=False)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def presented_token(request: Request, credentials: HTTPAuthorizationCredentials | None, kind: Kind) -> str | None:
    """The bearer token if the request has one, else the sign-in cookie of ``kind`` (pages' fetches)."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(COOKIES[kind])


def presented_staff_token(request: Request, credentials: BearerCredentials) -> str | None:
    return presented_token(request, credentials, "staff")


def presented_subject_token(request: Request, credentials: BearerCredentials) -> str | None:
    return presented_token(request, credentials, "subject")


def presented_household_token(request: Request, credentials: BearerCredentials) -> str | None:
    return presented_token(request, credentials, "household")


StaffToken = Annotated[str | None, Depends(presented_staff_token)]
SubjectToken = Annotated[str | None, Depends(presented_subject_token)]
HouseholdToken = Annotated[str | None, Depends(presented_household_token)]


def _please_sign_in(message: str = "Please sign in.") -> Unauthorized:
    return Unauthorized(message, headers={"WWW-Authenticate": "Bearer"})


async def require_caller(ctx: Ctx, session: SessionDep, credentials: BearerCredentials) -> Caller:
    """Anyone signed in with a bearer token: a staff member or a person under observation."""
    token = credentials.credentials if credentials is not None else None
    caller = await ctx.authenticator.caller(session, token, now=ctx.now())
    if caller is None:
        raise _please_sign_in("This token is not valid (any more).")
    return caller


async def require_any_staff(ctx: Ctx, session: SessionDep, token: StaffToken) -> Staff:
    """A signed-in staff member of any role, the command centre's observers included; 401 otherwise."""
    caller = await ctx.authenticator.caller(session, token, now=ctx.now())
    if not isinstance(caller, Staff):
        raise _please_sign_in("Please sign in as a staff member.")
    return caller


def _role_refused() -> Forbidden:
    return Forbidden("Your role cannot do this.")


def _full_staff(staff: Staff) -> Staff:
    if not staff.sees_everything:
        raise _role_refused()
    return staff


def _field_staff(staff: Staff) -> Staff:
    if not staff.sees_people:
        raise _role_refused()
    return staff


async def require_staff(staff: Annotated[Staff, Depends(require_any_staff)]) -> Staff:
    """An administrator or a clinician: the staff who may see everything about their people (video,
    snapshots, alerts, the audit trail of their grids). 403 for a grid worker or an observer."""
    return _full_staff(staff)


async def require_field_staff(staff: Annotated[Staff, Depends(require_any_staff)]) -> Staff:
    """An administrator, a clinician or a grid worker: staff who see people (the roster, a record without
    its ID number, households, declarations). 403 for an observer."""
    return _field_staff(staff)


async def require_admin(staff: Annotated[Staff, Depends(require_any_staff)]) -> Admin:
    """A signed-in admin; 403 for anyone else."""
    if not isinstance(staff, Admin):
        raise Forbidden("Only an administrator can do this.")
    return staff


async def require_clinician(staff: Annotated[Staff, Depends(require_any_staff)]) -> Clinician:
    """A signed-in clinician; 403 for an admin (who sees no grid's people as their own)."""
    if not isinstance(staff, Clinician):
        raise Forbidden("Only a clinician can do this.")
    return staff


async def require_reading_taker(staff: Annotated[Staff, Depends(require_any_staff)]) -> Staff:
    """Who enters a reading on a person's behalf: a clinician (by video or phone) or a grid worker (on a
    visit or by phone); 403 for an admin or an observer."""
    if not staff.reading_sources:
        raise Forbidden("Only a clinician or a grid worker can do this.")
    return staff


def _subject_or_401(caller: Caller | None) -> SubjectPrincipal:
    if not isinstance(caller, SubjectPrincipal):
        raise _please_sign_in("Please open your personal link again to sign in.")
    return caller


async def require_subject(ctx: Ctx, session: SessionDep, token: SubjectToken) -> SubjectPrincipal:
    """A person under observation signed in with their link; 401 otherwise."""
    return _subject_or_401(await ctx.authenticator.caller(session, token, now=ctx.now()))


async def require_subject_and_lock_row(ctx: Ctx, session: SessionDep, token: SubjectToken) -> SubjectPrincipal:
    """:func:`require_subject`, with the person's row locked for the request: a write to their summary (a
    reading) then costs one query for sign-in and lock together."""
    return _subject_or_401(await ctx.authenticator.caller(session, token, now=ctx.now(), lock_subject=True))


async def require_subject_holding_no_connection(ctx: Ctx, token: SubjectToken) -> SubjectPrincipal:
    """:func:`require_subject` for a route that then waits on the network (a WebRTC negotiation takes up
    to seconds): signs in with a unit of work of its own, so no pooled connection is held meanwhile."""
    async with ctx.db.session() as session:
        caller = await ctx.authenticator.caller(session, token, now=ctx.now())
    return _subject_or_401(caller)


async def require_household(ctx: Ctx, session: SessionDep, token: HouseholdToken) -> HouseholdPrincipal:
    """A household signed in with its household link; 401 otherwise."""
    household = await ctx.authenticator.household(session, token)
    if household is None:
        raise _please_sign_in("Please open your household link again to sign in.")
    return household


async def _staff_holding_no_connection(ctx: Ctx, token: str | None) -> Staff:
    async with ctx.db.session() as session:
        caller = await ctx.authenticator.caller(session, token, now=ctx.now())
    if not isinstance(caller, Staff):
        raise _please_sign_in("Please sign in as a staff member.")
    return caller


async def require_staff_holding_no_connection(ctx: Ctx, token: StaffToken) -> Staff:
    """:func:`require_staff` for a route that waits on the network (ending a call)."""
    return _full_staff(await _staff_holding_no_connection(ctx, token))


async def require_field_staff_holding_no_connection(ctx: Ctx, token: StaffToken) -> Staff:
    """:func:`require_field_staff` for a route that lasts long (an event stream lives for hours)."""
    return _field_staff(await _staff_holding_no_connection(ctx, token))


async def require_staff_or_subject(ctx: Ctx, session: SessionDep, staff_token: StaffToken,
                                   subject_token: SubjectToken) -> Staff | SubjectPrincipal:
    """A staff member, or else a person under observation (check-ins are shown to both)."""
    caller = await ctx.authenticator.caller(session, staff_token, now=ctx.now())
    if caller is None and subject_token != staff_token:
        caller = await ctx.authenticator.caller(session, subject_token, now=ctx.now())
    if caller is None:
        raise _please_sign_in()
    return _full_staff(caller) if isinstance(caller, Staff) else caller


CurrentCaller = Annotated[Caller, Depends(require_caller)]
CurrentStaff = Annotated[Staff, Depends(require_staff)]
CurrentFieldStaff = Annotated[Staff, Depends(require_field_staff)]
CurrentAnyStaff = Annotated[Staff, Depends(require_any_staff)]
CurrentReadingTaker = Annotated[Staff, Depends(require_reading_taker)]
CurrentAdmin = Annotated[Admin, Depends(require_admin)]
CurrentClinician = Annotated[Clinician, Depends(require_clinician)]
CurrentSubject = Annotated[SubjectPrincipal, Depends(require_subject)]
CurrentSubjectLocked = Annotated[SubjectPrincipal, Depends(require_subject_and_lock_row)]
CurrentSubjectHoldingNoConnection = Annotated[SubjectPrincipal, Depends(require_subject_holding_no_connection)]
CurrentStaffHoldingNoConnection = Annotated[Staff, Depends(require_staff_holding_no_connection)]
CurrentFieldStaffHoldingNoConnection = Annotated[Staff, Depends(require_field_staff_holding_no_connection)]
CurrentStaffOrSubject = Annotated[Staff | SubjectPrincipal, Depends(require_staff_or_subject)]
CurrentHousehold = Annotated[HouseholdPrincipal, Depends(require_household)]


# Sign-ins take their credentials from the body and answer a token only the caller can read: a cookie the
# browser happens to send lends them nothing.
_CREDENTIALS_IN_BODY = frozenset({"/api/v1/auth/token", "/api/v1/auth/subject-token",
                                  "/api/v1/auth/household-token"})


async def refuse_cross_site_cookie_writes(request: Request, ctx: Ctx) -> None:
    """A write to the API signed in by the pages' cookie (not a bearer token) must come from one of our
    pages: the ``X-CSRF-Token`` header the pages' scripts send, and our own ``Origin`` (see
    :mod:`server.csrf`). Runs before the route's own dependencies, for every route under ``/api/v1``."""
    if request.method not in UNSAFE_METHODS or request.url.path in _CREDENTIALS_IN_BODY:
        return
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") or not any(request.cookies.get(c) for c in COOKIES.values()):
        return  # a bearer token is sent on purpose; without a sign-in cookie nothing is borrowed
    own = {origin for origin in (origin_of(ctx.settings.public_url),
                                 origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}")) if origin}
    if not same_origin(request.headers, own):
        raise CsrfRefused("This request did not come from this site's pages. Please reload the page and try again.")
    if not ctx.csrf.valid(request.headers.get(CSRF_HEADER), request.cookies):
        raise CsrfRefused("This page has expired or did not come from this site. Please reload it and try again.")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
