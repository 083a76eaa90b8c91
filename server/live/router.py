"""Live updates for staff: one Server-Sent-Events stream of domain events, filtered by scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from server.deps import STAFF_COOKIE, Ctx, bearer_scheme, load_staff, request_token
from server.errors import Unauthorized
from server.events.bus import Event
from server.events.sse import encode_stream, event_stream
from server.live.lifecycle import event_bus

router = APIRouter(tags=["live"])


@router.get("/events", response_class=StreamingResponse)
async def staff_events(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    heartbeat: float = 15.0,
) -> StreamingResponse:
    """`text/event-stream` of domain events (`reading.created`, `alert.opened`, `subject.status_changed`, …)
    for people in the caller's grids. Each event's `data` has `subject_id`, `grid_id`, `status` and
    `flags`. Reconnecting with `Last-Event-ID` replays what was missed in the last few minutes; a
    `reload` event means the gap was too long and the client should reload its view."""
    token = request_token(request, credentials, STAFF_COOKIE)
    # A short session of its own: a stream lives for hours and must not hold a pooled connection.
    async with ctx.db.session() as session:
        staff = await load_staff(session, ctx, token)
    if staff is None:
        raise Unauthorized("Please sign in as a staff member.", headers={"WWW-Authenticate": "Bearer"})

    def allow(event: Event) -> bool:
        grid_id = event.data.get("grid_id")
        return staff.is_admin or (isinstance(grid_id, int) and grid_id in staff.grid_ids)

    stream = event_stream(event_bus(ctx), last_event_id=last_event_id or request.query_params.get("last_event_id"),
                          allow=allow, heartbeat_seconds=max(1.0, min(heartbeat, 60.0)))
    # A plain streaming response: sse-starlette's per-message machinery cost a third of the latency at
    # a thousand streams. Streams end at shutdown through uvicorn's graceful-shutdown timeout.
    return StreamingResponse(encode_stream(stream), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

