"""A ceiling on request bodies, enforced while they arrive: 413 before any parsing, for every route.

Without it, anybody (no account needed: the sign-in routes take bodies) could post a body of any size;
FastAPI would read all of it into memory (JSON) or spool it to disk (forms, files) before a route's own
checks ran. This middleware sits outside the app and counts:

* a declared ``Content-Length`` over the limit is answered at once, before a byte of the body is read;
* a chunked body (or one whose length was understated) is counted chunk by chunk as the app reads it;
  the moment it passes the limit the 413 is sent and the app only ever sees the client leave, so a
  multipart upload stops being spooled right there.

Uploads (``upload_paths``) have their own, larger limit; every other body has the JSON/form limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import AppError

RenderError = Callable[[Request, AppError], Awaitable[Response]]


class PayloadTooLarge(AppError):
    status_code = 413
    error = "too_large"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("The request is too large: at most {size} may be sent here.", size=describe_size(limit))


def describe_size(size: int) -> str:
    """``1 MB``, ``512 KB``, ``300 bytes``: the limit as a person reads it (1 MB = 1024 KB here)."""
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB" if size % 1024 == 0 else f"{size / 1024 / 1024:.1f} MB"
    return f"{size} bytes"


class _Exceeded(Exception):
    """Raised into the app when its body passed the limit; the 413 has been sent already."""


class BodyLimit:
    """ASGI middleware answering 413 for bodies over ``max_body`` (``max_upload`` on ``upload_paths``),
    rendered by ``render`` (the app's one error handler) in the caller's language."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, upload_paths: Collection[str],
                 render: RenderError) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = frozenset(upload_paths)
        self.render = render

    def limit_for(self, path: str) -> int:
        return self.max_upload if path.rstrip("/") in self.upload_paths else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if response_started:  # too late for a 413 (a route streaming while it reads)
                        raise _Exceeded
                    await self._refuse(scope, receive, send, limit)
                    raise _Exceeded
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the 413 went out; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _Exceeded:
            pass
        except Exception:
            if not refused:
                raise
            # The app failed on its cut-off body (a parser's error, say): the client has its 413.

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = await self.render(Request(scope, receive), too_large(limit))
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
