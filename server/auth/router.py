from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from pydantic import BaseModel

from server.auth import service
from server.auth.principal import Staff
from server.auth.schemas import (
    HouseholdTokenCreate,
    HouseholdTokenRead,
    SubjectTokenCreate,
    SubjectTokenRead,
    TokenRead,
)
from server.deps import BearerCredentials, Ctx, CurrentCaller, SessionDep, client_address
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
    signed_in = await ctx.sign_ins.staff(username=username, password=password, address=client_address(request),
                                         now=ctx.now())
    return TokenRead(access_token=signed_in.token, role=signed_in.caller.role)


@router.post("/subject-token", response_model=SubjectTokenRead)
async def issue_subject_token(request: Request, ctx: Ctx, body: SubjectTokenCreate) -> SubjectTokenRead:
    """Sign a person under observation in with the access code from their personal link."""
    signed_in = await ctx.sign_ins.subject(access_code=body.access_code, address=client_address(request),
                                           now=ctx.now())
    return SubjectTokenRead(access_token=signed_in.token, role="subject", subject_id=signed_in.caller.subject_id)


@router.post("/household-token", response_model=HouseholdTokenRead)
async def issue_household_token(request: Request, ctx: Ctx, body: HouseholdTokenCreate) -> HouseholdTokenRead:
    """Sign a household in with the access code from its household link (`/h/<code>`): the token lets one
    member report for everyone living there, and nothing else."""
    signed_in = await ctx.sign_ins.household(access_code=body.access_code, address=client_address(request),
                                             now=ctx.now())
    return HouseholdTokenRead(access_token=signed_in.token, role="household",
                              household_id=signed_in.caller.household_id)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def sign_out(ctx: Ctx, session: SessionDep, credentials: BearerCredentials) -> Response:
    """Revoke the bearer token this request carries, at once and in every app process (open event
    streams of it end within a heartbeat). 401 when it signs nobody in (any more)."""
    token = credentials.credentials if credentials is not None else None
    if await service.sign_out(session, ctx.authenticator, token, now=ctx.now()) is None:
        raise Unauthorized("This token is not valid (any more).", headers={"WWW-Authenticate": "Bearer"})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class WhoAmI(BaseModel):
    role: str
    id: str


@router.get("/whoami", response_model=WhoAmI)
async def whoami(caller: CurrentCaller) -> WhoAmI:
    """Check a token: who it signs in (a staff member or a person under observation)."""
    if isinstance(caller, Staff):
        return WhoAmI(role=caller.role, id=str(caller.user_id))
    return WhoAmI(role="subject", id=str(caller.subject_id))
