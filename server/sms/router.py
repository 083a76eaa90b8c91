from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends

from server.deps import BearerCredentials, Ctx, SessionDep
from server.errors import NotFound, Unauthorized
from server.sms import service
from server.sms.schemas import SmsInboundCreate, SmsInboundRead

router = APIRouter(prefix="/sms", tags=["sms"])


async def require_sms_gateway(ctx: Ctx, credentials: BearerCredentials) -> None:
    """The SMS gateway, by the shared secret it sends as a bearer token. Without a secret configured the
    route does not exist (404): nobody can reach it, and a gateway pointed at it is told so at once."""
    secret = ctx.settings.sms_inbound_secret
    if not secret:
        raise NotFound("SMS replies are not set up on this server.")
    presented = credentials.credentials if credentials is not None else ""
    # Compared in constant time: the answer's timing must not tell a guesser how much of it was right.
    if not hmac.compare_digest(presented.encode(), secret.encode()):
        raise Unauthorized("This request is not from the SMS gateway.", headers={"WWW-Authenticate": "Bearer"})


SmsGateway = Annotated[None, Depends(require_sms_gateway)]


@router.post("/inbound", response_model=SmsInboundRead,
             responses={401: {"description": "Not the gateway's secret."},
                        404: {"description": "HOMEWATCH_SMS_INBOUND_SECRET is not set: SMS replies are off."}})
async def sms_inbound(body: SmsInboundCreate, _gateway: SmsGateway, ctx: Ctx, session: SessionDep) -> SmsInboundRead:
    """A reply forwarded by the SMS gateway (`Authorization: Bearer <HOMEWATCH_SMS_INBOUND_SECRET>`). A
    temperature (`36.8`, `36,8`, full-width digits, with symptom words such as `咳嗽` or `cough`) from the
    phone of a person under observation is stored as their reading (source "sms") and answered with a
    confirmation (a fever: the clinic will call, and staff are alerted); anything else is answered with a
    short help text and stores nothing. The same `message_id` again is answered as the first time."""
    row = await service.receive(session, message=body, settings=ctx.settings, now=ctx.now())
    return SmsInboundRead(message_id=row.message_id, outcome=row.outcome, reading_id=row.reading_id)
