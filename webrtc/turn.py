"""Time-limited TURN credentials: the "TURN REST API" scheme that coturn's `--use-auth-secret` checks.

The username is ``"<expiry as unix seconds>:<who>"`` and the password is
``base64(HMAC-SHA1(shared secret, username))``. The TURN server recomputes the HMAC with the same secret and
refuses a username whose expiry has passed, so a credential handed to a page stops working by itself and
the long-term secret never leaves the app. The expiry bounds when a relay can be allocated, not how long it
lives: coturn 4.6 went on refreshing an allocation (and relaying) after its credential expired, so a call
started in time is not cut off (measured with a 24 s allocation lifetime and an 8 s credential: 45 s of
video, refreshed twice after the expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field

from .errors import InvalidMediaConfig

_TURN_SCHEMES = ("turn:", "turns:")
# coturn splits the username at its first ":" (the expiry); keep the rest to harmless characters so a
# name never changes how the server reads it, and its logs show nothing personal beyond an id.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class TurnConfig:
    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_seconds: int = 600

    def __post_init__(self) -> None:
        if not self.urls:
            raise InvalidMediaConfig("TURN needs at least one URL")
        for url in self.urls:
            if not url.startswith(_TURN_SCHEMES):
                raise InvalidMediaConfig(f"TURN URL {url!r} must start with turn: or turns:")
        if not self.secret:
            raise InvalidMediaConfig("TURN URLs need the TURN server's shared secret")
        if self.ttl_seconds <= 0:
            raise InvalidMediaConfig(f"the TURN credential lifetime must be positive, got {self.ttl_seconds}")


def turn_username(*, who: str, expires_at: int) -> str:
    return f"{expires_at}:{_UNSAFE.sub('_', who) or 'anonymous'}"


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_credentials(turn: TurnConfig, *, who: str, now: float) -> tuple[str, str, int]:
    """(username, credential, expiry as unix seconds) for one peer, valid for ``turn.ttl_seconds``."""
    expires_at = int(now) + turn.ttl_seconds
    username = turn_username(who=who, expires_at=expires_at)
    return username, turn_password(turn.secret, username), expires_at


def parse_turn_urls(text: str) -> tuple[str, ...]:
    return tuple(url.strip() for url in text.split(",") if url.strip())
