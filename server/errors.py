"""One error type for the whole app; one handler renders it as ``{"error", "detail"}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AppError(Exception):
    status_code = 400
    error = "bad_request"

    def __init__(self, message: str, *, status_code: int | None = None, extra: dict[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, **params: Any) -> None:
        """``message`` is an English template (``"No grid with id {grid_id}."``) that doubles as the
        translation catalogue's msgid; ``params`` fill it after translation."""
        detail = message.format(**params) if params else message
        super().__init__(detail)
        self.message = message
        self.params = params
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}
        self.headers = dict(headers) if headers is not None else None


class NotFound(AppError):
    status_code = 404
    error = "not_found"


class Forbidden(AppError):
    status_code = 403
    error = "forbidden"


class CsrfRefused(Forbidden):
    """A write that cannot prove it came from one of our own pages (see :mod:`server.csrf`)."""

    error = "csrf_refused"


class Unauthorized(AppError):
    status_code = 401
    error = "unauthorized"


class Conflict(AppError):
    status_code = 409
    error = "conflict"


class Invalid(AppError):
    status_code = 422
    error = "invalid"


class TooManyRequests(AppError):
    status_code = 429
    error = "too_many_requests"


class Unavailable(AppError):
    """A backend the request needs is unreachable for a moment (the database restarting, say): the client
    should try again shortly. Nothing was stored unless the connection was lost during the commit itself,
    which is why writes that matter take a client-chosen id and are idempotent."""

    status_code = 503
    error = "unavailable"
