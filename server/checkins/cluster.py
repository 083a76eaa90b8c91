"""Media across app processes. A check-in's or call's media lives in the one process that answered its
offer; the database records which (``media_owner``: that process's ``HOMEWATCH_INTERNAL_URL``). A watch,
host, join or hang-up request reaching another process is forwarded there over HTTP, with the caller's own
credentials, and the owner's answer is passed back as it is. Both halves of a call meet on the process
that claimed the call first. A process that stops takes only the sessions it owns; the scheduler records
them as failed, as it does for a single process.

Without ``HOMEWATCH_INTERNAL_URL`` nothing is recorded and every request is served where it arrives."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response

from server.errors import Unavailable

logger = logging.getLogger(__name__)

# Marks a request one process forwarded to another: it is served there or refused, never sent on again.
FORWARDED_HEADER = "x-homewatch-forwarded-by"
# What the owner needs to sign the caller in, check a cookie-signed write (CSRF token and origin) and
# answer in the caller's language; nothing else of the original request is passed on.
_REQUEST_HEADERS = ("authorization", "cookie", "content-type", "accept", "accept-language", "origin", "referer",
                    "x-csrf-token", "user-agent", "host")
_RESPONSE_HEADERS = ("content-type", "retry-after")
# A negotiation answers within seconds; the owner's own limits (ICE gathering, TURN allocation) come first.
_FORWARD_TIMEOUT_SECONDS = 30.0


class MediaElsewhere(Exception):
    """The media this request is about is held by the app process at ``owner``."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


def check_here(me: str | None, owner: str | None) -> None:
    """Raise :class:`MediaElsewhere` unless the media of ``owner`` is (or may be) served by this process."""
    if me is not None and owner is not None and owner != me:
        raise MediaElsewhere(owner)


async def forward(request: Request, owner: str, *, me: str | None) -> Response:
    """Replay ``request`` on the owner process and pass its answer back."""
    if request.headers.get(FORWARDED_HEADER):
        # The process that sent it here believed this one the owner, and this one believes otherwise: a
        # moment of disagreement (a restart at another address), not something to bounce back and forth.
        logger.warning("refusing %s %s forwarded by %s: its media belongs to %s", request.method,
                       request.url.path, request.headers.get(FORWARDED_HEADER), owner)
        raise _unavailable()
    headers = {name: value for name, value in request.headers.items() if name in _REQUEST_HEADERS}
    headers[FORWARDED_HEADER] = me or "unknown"
    # As this process resolved them (TrustedProxies): the owner believes them only from a trusted proxy.
    headers["x-forwarded-for"] = request.client.host if request.client else "unknown"
    headers["x-forwarded-proto"] = request.url.scheme
    url = owner.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        async with httpx.AsyncClient(timeout=_FORWARD_TIMEOUT_SECONDS) as http:
            answer = await http.request(request.method, url, content=await request.body(), headers=headers)
    except httpx.HTTPError as exc:
        # The owner stopped: its sessions ended with it, and a new one will be placed on a live process.
        logger.warning("media owner %s unreachable for %s %s: %r", owner, request.method, request.url.path, exc)
        raise _unavailable() from exc
    return Response(content=answer.content, status_code=answer.status_code,
                    headers={name: value for name, value in answer.headers.items() if name in _RESPONSE_HEADERS})


def _unavailable() -> Unavailable:
    return Unavailable("The video service is restarting; please try again in a minute.",
                            headers={"Retry-After": "10"})
