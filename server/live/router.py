"""Live updates for staff: one Server-Sent-Events stream of domain events, filtered by scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from server.areas.service import narrow
from server.auth.principal import SubjectPrincipal
from server.deps import (
    Ctx,
    CurrentFieldStaffHoldingNoConnection,
    CurrentSubjectHoldingNoConnection,
    StaffToken,
    SubjectToken,
)
from server.events.bus import Event
from server.events.sealing import PositionSealer
from server.events.sse import encode_stream, event_stream
from server.live.lifecycle import event_bus

router = APIRouter(tags=["live"])


@router.get("/events", response_class=StreamingResponse)
async def staff_events(
    request: Request,
    ctx: Ctx,
    staff: CurrentFieldStaffHoldingNoConnection,
    token: StaffToken,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    heartbeat: Annotated[float, Query(allow_inf_nan=False)] = 15.0,
    area_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this area and below")] = None,
) -> StreamingResponse:
    """`text/event-stream` of domain events (`reading.created`, `alert.opened`, `subject.status_changed`, …)
    for people in the caller's areas (or below `area_id`). Each event's `data` has `subject_id`, `grid_id`, `status` and
    `flags`. Reconnecting with `Last-Event-ID` replays what was missed in the last few minutes; a
    `reload` event means the gap was too long, or the caller's access changed (signed out, deactivated,
    new password or grids, token expired: checked every heartbeat), and the client should reload its view."""

    async with ctx.db.session() as session:
        viewer = await narrow(session, staff=staff, area_id=area_id)

    def allow(event: Event) -> bool:
        grid_id = event.data.get("grid_id")
        return viewer.sees_grid(grid_id if isinstance(grid_id, int) else None)

    async def still_allowed() -> bool:
        # A short unit of work each time: the stream itself holds no pooled connection.
        async with ctx.db.session() as session:
            return await ctx.authenticator.caller(session, token, now=ctx.now()) == staff

    sealer = PositionSealer(ctx.settings.secret_key)
    resume_at = sealer.unseal(last_event_id or request.query_params.get("last_event_id"))
    stream = event_stream(event_bus(ctx), last_event_id=resume_at, allow=allow,
                          heartbeat_seconds=max(1.0, min(heartbeat, 60.0)), still_allowed=still_allowed,
                          seal=sealer.seal)
    # A plain streaming response: sse-starlette's per-message machinery cost a third of the latency at
    # a thousand streams. Streams end at shutdown through uvicorn's graceful-shutdown timeout.
    return StreamingResponse(encode_stream(stream), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# What a person's own pages hear: their calls ringing and ending. Nothing about other people, and
# none of the roster's events (flags, statuses) that are for staff.
SUBJECT_EVENT_TYPES = frozenset({"call.requested", "call.ended"})


@router.get("/me/events", response_class=StreamingResponse)
async def subject_events(
    request: Request,
    ctx: Ctx,
    me: CurrentSubjectHoldingNoConnection,
    token: SubjectToken,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    heartbeat: float = 15.0,
) -> StreamingResponse:
    """`text/event-stream` for the signed-in person: `call.requested` when their clinician rings (then
    ask `GET /me/call` who is calling) and `call.ended` when a call ends, with `call_id` and `status`
    (`ended`, or `missed` when nobody joined). The person's pages ring within a second of the call."""
    subject_id = str(me.subject_id)

    def allow(event: Event) -> bool:
        return event.type in SUBJECT_EVENT_TYPES and event.data.get("subject_id") == subject_id

    async def still_allowed() -> bool:
        async with ctx.db.session() as session:
            caller = await ctx.authenticator.caller(session, token, now=ctx.now())
        return isinstance(caller, SubjectPrincipal) and caller.subject_id == me.subject_id

    stream = event_stream(event_bus(ctx), last_event_id=last_event_id or request.query_params.get("last_event_id"),
                          allow=allow, heartbeat_seconds=max(1.0, min(heartbeat, 60.0)), still_allowed=still_allowed)
    return StreamingResponse(encode_stream(stream), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
