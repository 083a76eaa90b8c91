from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from server.audit import service as audit
from server.auth import service
from server.auth.schemas import SubjectTokenCreate, SubjectTokenRead, TokenRead
from server.context import AppContext
from server.deps import Ctx, SessionDep, bearer_scheme, client_address, load_staff, load_subject
from server.errors import Unauthorized
from server.models import Subject, User

router = APIRouter(prefix="/auth", tags=["auth"])


async def staff_login(ctx: AppContext, session: SessionDep, request: Request, username: str, password: str) -> User:
    """Shared by the API token route and the staff login page."""
    settings = ctx.settings
    keys = [f"user:{username.strip().lower()}", f"ip:{client_address(request)}"]
    await service.check_throttle(session, keys=keys, max_failures=settings.login_max_failures,
                                 window_s=settings.login_failure_window_seconds)
    try:
        user = await service.authenticate_staff(session, username=username, password=password)
    except service.InvalidCredentials:
        # Recorded in its own transaction: the request's own one is rolled back by the error.
        async with ctx.db.session() as own:
            await service.record_failure(own, keys=keys, window_s=settings.login_failure_window_seconds)
        raise
    await service.clear_failures(session, keys=keys[:1])
    audit.record(session, None, "staff.login", username=user.username)
    return user


async def subject_login(ctx: AppContext, session: SessionDep, request: Request, access_code: str) -> Subject:
    settings = ctx.settings
    keys = [f"code-ip:{client_address(request)}"]
    await service.check_throttle(session, keys=keys, max_failures=settings.login_max_failures * 4,
                                 window_s=settings.login_failure_window_seconds)
    try:
        return await service.authenticate_subject(session, access_code=access_code)
    except service.InvalidCredentials:
        async with ctx.db.session() as own:
            await service.record_failure(own, keys=keys, window_s=settings.login_failure_window_seconds)
        raise


@router.post("/token", response_model=TokenRead)
async def issue_staff_token(
    request: Request,
    ctx: Ctx,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenRead:
    """Sign a staff member in with username and password; answers a bearer token.

    Wrong credentials answer 401; repeated failures for one username or address answer 429."""
    user = await staff_login(ctx, session, request, username, password)
    token = ctx.tokens.issue("staff", str(user.id), user.token_version)
    return TokenRead(access_token=token, role=user.role)


@router.post("/subject-token", response_model=SubjectTokenRead)
async def issue_subject_token(
    request: Request, ctx: Ctx, session: SessionDep, body: SubjectTokenCreate
) -> SubjectTokenRead:
    """Sign a person under observation in with the access code from their personal link."""
    subject = await subject_login(ctx, session, request, body.access_code)
    token = ctx.tokens.issue("subject", str(subject.id), subject.access_code_version)
    return SubjectTokenRead(access_token=token, role="subject", subject_id=subject.id)


class WhoAmI(BaseModel):
    role: str
    id: str


@router.get("/whoami", response_model=WhoAmI)
async def whoami(
    request: Request,
    ctx: Ctx,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> WhoAmI:
    """Check a token: who it signs in (a staff member or a person under observation)."""
    token = credentials.credentials if credentials else None
    staff = await load_staff(session, ctx, token)
    if staff is not None:
        return WhoAmI(role=staff.role, id=str(staff.user_id))
    subject = await load_subject(session, ctx, token)
    if subject is not None:
        return WhoAmI(role="subject", id=str(subject.subject_id))
    raise Unauthorized("This token is not valid (any more).", headers={"WWW-Authenticate": "Bearer"})
