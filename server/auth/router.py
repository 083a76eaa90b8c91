from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from server.auth.principal import Staff
from server.auth.schemas import SubjectTokenCreate, SubjectTokenRead, TokenRead
from server.deps import Ctx, CurrentCaller, client_address

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


class WhoAmI(BaseModel):
    role: str
    id: str


@router.get("/whoami", response_model=WhoAmI)
async def whoami(caller: CurrentCaller) -> WhoAmI:
    """Check a token: who it signs in (a staff member or a person under observation)."""
    if isinstance(caller, Staff):
        return WhoAmI(role=caller.role, id=str(caller.user_id))
    return WhoAmI(role="subject", id=str(caller.subject_id))
