"""Cross-site request forgery: one token scheme for the pages' forms and the pages' API calls.

A browser sends its cookies with every request to us, whoever's page started it. So a write signed in by
cookie must prove it came from one of our own pages: a form carries the token in a hidden field, a
script's ``fetch`` in the ``X-CSRF-Token`` header (read from ``<meta name="csrf-token">``).

The token is the signed pair (this browser's random ``hw_csrf`` cookie, a digest of its sign-in cookies):
a token taken from one session is refused in another, even in the same browser, and one planted
with a cookie from elsewhere matches no session of ours. API calls with a bearer token carry no
ambient authority and need none of this; cookie-signed API writes must also come from our own origin
(``Origin``, or ``Referer`` when a browser sends no ``Origin``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from server.auth.callers import COOKIES

CSRF_COOKIE = "hw_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_binding(cookies: Mapping[str, str]) -> str:
    """A digest of the sign-in cookies this browser sends: changes whenever someone signs in or out."""
    signed_in = "\n".join(cookies.get(name, "") for name in sorted(COOKIES.values()))
    return hashlib.sha256(signed_in.encode()).hexdigest()[:32]


class CsrfTokens:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="homewatch.csrf.v2")

    def issue(self, csrf_cookie: str, cookies: Mapping[str, str]) -> str:
        return str(self._serializer.dumps([csrf_cookie, session_binding(cookies)]))

    def valid(self, token: object, cookies: Mapping[str, str]) -> bool:
        """Whether ``token`` was issued for this browser's CSRF cookie and its current sign-in."""
        csrf_cookie = cookies.get(CSRF_COOKIE)
        if not csrf_cookie or not isinstance(token, str) or not token:
            return False
        try:
            return bool(self._serializer.loads(token) == [csrf_cookie, session_binding(cookies)])
        except BadSignature:
            return False


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower case; None for anything without both."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(headers: Mapping[str, str], own: set[str]) -> bool:
    """Whether the request says it comes from one of our ``own`` origins (``Origin``, else ``Referer``)."""
    sent = headers.get("origin")
    if sent is None:  # some browsers leave Origin out of same-origin requests; their Referer says it
        referer = headers.get("referer")
        sent = origin_of(referer) if referer else None
    return sent is not None and sent.lower().rstrip("/") in own
