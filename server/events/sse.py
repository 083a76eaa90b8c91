"""Turns a bus subscription into the messages of one Server-Sent-Events response.

The route encodes these messages as text/event-stream (server/live/router.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from server.events.bus import Event, EventBus, EventBusUnavailable, SubscriberLagged
from server.metrics import EVENT_CLIENTS

logger = logging.getLogger(__name__)

RELOAD_EVENT = "reload"


async def event_stream(
    bus: EventBus,
    *,
    last_event_id: str | None,
    allow: Callable[[Event], bool],
    heartbeat_seconds: float = 15,
    max_queue: int = 1000,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    seal: Callable[[str | None], str] | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """Messages for ``EventSourceResponse``: ``{"id", "event", "data"}`` per allowed event.

    Every ``heartbeat_seconds`` without a message, a comment keeps proxies from closing the
    connection. It also carries the id of the newest event the client was not allowed to see, so
    the browser's ``Last-Event-ID`` keeps up with the stream: a staff member whose grids are quiet
    then resumes from a retained position instead of being told to reload after every reconnect.
    With ``seal`` (the route always passes one, see :mod:`server.events.sealing`) every heartbeat
    carries the position sealed afresh, so a client learns neither other grids' event ids (their
    times) nor, from a changed id, that something happened there.

    When the client cannot be given every event it is sent a ``reload`` event and the stream ends.
    When the bus is unreachable the stream just ends; the browser reconnects with its
    ``Last-Event-ID`` and the replay fills the gap.

    ``still_allowed`` is asked once every ``heartbeat_seconds``, busy stream or quiet: when the
    caller's access has ended or changed (signed out, deactivated, other grids, token expired) the
    client is sent a ``reload`` event and the stream ends, so nothing more reaches a view that is no
    longer theirs, and the reloaded page shows what they may see now (or the sign-in page).
    """
    loop = asyncio.get_running_loop()
    EVENT_CLIENTS.inc()
    try:
        async with bus.subscribe(last_event_id=last_event_id, max_queue=max_queue) as subscription:
            seen_id, sent_id = last_event_id, last_event_id
            deadline = loop.time() + heartbeat_seconds
            recheck_at = loop.time() + heartbeat_seconds
            # Waiting on one long-lived task instead of wait_for() keeps a heartbeat from cancelling a
            # half-finished replay read.
            next_event: asyncio.Future[Event] | None = None
            try:
                while True:
                    if next_event is None:
                        next_event = asyncio.ensure_future(subscription.__anext__())
                    wake = min(deadline, recheck_at) if still_allowed is not None else deadline
                    done, _ = await asyncio.wait({next_event}, timeout=max(0.0, wake - loop.time()))
                    if still_allowed is not None and loop.time() >= recheck_at:
                        if not await still_allowed():
                            yield {"event": RELOAD_EVENT, "data": json.dumps({"reason": "access"})}
                            return
                        recheck_at = loop.time() + heartbeat_seconds
                    if not done and loop.time() < deadline:
                        continue
                    if not done:
                        heartbeat: dict[str, Any] = {"comment": "heartbeat"}
                        if seal is not None:
                            heartbeat["id"] = seal(seen_id)
                            sent_id = seen_id
                        elif seen_id != sent_id:
                            heartbeat["id"] = sent_id = seen_id
                        yield heartbeat
                        deadline = loop.time() + heartbeat_seconds
                        continue
                    finished, next_event = next_event, None
                    try:
                        event = finished.result()
                    except StopAsyncIteration:
                        return
                    except SubscriberLagged as lagged:
                        yield {"event": RELOAD_EVENT, "data": json.dumps({"reason": lagged.reason})}
                        return
                    except EventBusUnavailable as exc:
                        logger.warning("ending event stream: %s", exc)
                        return
                    seen_id = event.id
                    if not allow(event):
                        continue
                    yield {
                        "id": event.id,
                        "event": event.type,
                        "data": event.data_json,
                    }
                    sent_id = event.id
                    deadline = loop.time() + heartbeat_seconds
            finally:
                if next_event is not None:
                    next_event.cancel()
                    try:
                        await next_event
                    except (asyncio.CancelledError, StopAsyncIteration, SubscriberLagged, EventBusUnavailable):
                        pass
    finally:
        EVENT_CLIENTS.dec()


def encode_message(message: dict[str, Any]) -> bytes:
    """One message in text/event-stream form. Ids, event types and compact JSON never contain line
    breaks, so each field is a single line."""
    if "comment" in message:
        text = f": {message['comment']}\n"
        if "id" in message:
            text += f"id: {message['id']}\n"
        return (text + "\n").encode()
    head = f"id: {message['id']}\n" if "id" in message else ""
    return f"{head}event: {message['event']}\ndata: {message['data']}\n\n".encode()


async def encode_stream(messages: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for message in messages:
        yield encode_message(message)
