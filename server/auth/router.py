from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from server.auth.schemas import SubjectTokenCreate, SubjectTokenRead, TokenRead
from server.deps import Ctx, SessionDep, bearer_scheme, client_address, load_staff, load_subject
from server.errors import Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenRead)
async def issue_staff_token(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenRead:
    """Sign a staff member in with username and password; answers a bearer token.

    Wrong credentials answer 401; repeated failures for one username or address answer 429."""
    user = await ctx.sign_ins.staff(username=username, password=password, address=client_address(request),
                                    now=ctx.now())
    token = ctx.tokens.issue("staff", str(user.id), user.token_version)
    return TokenRead(access_token=token, role=user.role)


@router.post("/subject-token", response_model=SubjectTokenRead)
async def issue_subject_token(request: Request, ctx: Ctx, body: SubjectTokenCreate) -> SubjectTokenRead:
    """Sign a person under observation in with the access code from their personal link."""
    subject = await ctx.sign_ins.subject(access_code=body.access_code, address=client_address(request),
                                         now=ctx.now())
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
