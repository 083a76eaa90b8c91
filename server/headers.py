"""Security headers on every response, and ``__Host-`` cookies over HTTPS: one ASGI middleware.

* ``Content-Security-Policy``: scripts only from our own static files (no inline script, no
  ``eval``), no plugins, no framing, no ``<base>`` elsewhere, forms only to us. The pages keep their
  data in ``data-`` attributes and ``<script type="application/json">`` blocks, which are never run.
  The framework's interactive API docs (``/docs``, ``/redoc``) load their scripts from a CDN and hold no
  personal data; they keep the framework's defaults.
* ``Strict-Transport-Security`` when the request came over HTTPS (directly, or said so by a trusted
  proxy's ``X-Forwarded-Proto``: see :mod:`server.proxies`).
* ``Cache-Control: no-store`` on API answers that do not say otherwise (they are about people); pages
  set it themselves (see ``server/pages/rendering.py``), snapshots ``private, no-store``.
* Cookies over HTTPS are named ``__Host-hw_…`` and ``Secure``: the browser then accepts them only from
  this exact host over HTTPS with ``Path=/``, so a sibling subdomain (or a plain-HTTP answer) cannot
  plant a sign-in or CSRF cookie. The app itself keeps using the short names: the prefix is added to
  ``Set-Cookie`` and taken off the request's ``Cookie`` here, and an unprefixed ``hw_`` cookie arriving
  over HTTPS is dropped, since anyone could have set it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
))
HSTS = "max-age=31536000"
OUR_COOKIES = "hw_"
HOST_PREFIX = "__Host-"
_DOCS = ("/docs", "/redoc")


def _https(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


def _prefixed_cookie_header(value: str) -> str:
    """The request's ``Cookie`` header as the app expects it: ``__Host-hw_x`` → ``hw_x``, bare ``hw_x`` dropped."""
    kept = []
    for pair in value.split(";"):
        name, _sep, _rest = pair.strip().partition("=")
        if name.startswith(HOST_PREFIX + OUR_COOKIES):
            kept.append(pair.strip()[len(HOST_PREFIX):])
        elif not name.startswith(OUR_COOKIES):
            kept.append(pair.strip())
    return "; ".join(kept)


def _prefixed_set_cookie(value: str) -> str:
    if not value.startswith(OUR_COOKIES):
        return value
    attributes = {part.strip().split("=", 1)[0].lower() for part in value.split(";")[1:]}
    value = HOST_PREFIX + value
    if "secure" not in attributes:
        value += "; Secure"
    return value


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = _https(scope)
        path: str = scope["path"]
        if https:
            scope = dict(scope)
            scope["headers"] = [(name, _prefixed_cookie_header(value.decode("latin-1")).encode("latin-1"))
                                if name == b"cookie" else (name, value) for name, value in scope["headers"]]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not path.startswith(_DOCS):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if path.startswith("/api/"):
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                    cookies = headers.getlist("set-cookie")
                    if cookies:
                        del headers["set-cookie"]
                        for cookie in cookies:
                            headers.append("set-cookie", _prefixed_set_cookie(cookie))
            await send(message)

        await self.app(scope, receive, send_with_headers)
