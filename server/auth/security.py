"""Password hashing, signed bearer tokens and subjects' access codes."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Argon2 is built to be slow (tenths of a second, 64 MiB each): checked on the event loop, a burst of
# wrong passwords would stall every request. Its own few threads bound the CPU and memory a burst can
# take and keep the loop's default executor free for the DNS lookups of new database connections.
_hash_threads = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="password-hash")


async def check_password(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hash_threads, verify_password, password_hash, password)


def new_access_code() -> str:
    """128 bits from the OS's CSPRNG, URL-safe so it can sit in a link (/s/<code>)."""
    return secrets.token_urlsafe(16)


def hash_access_code(code: str) -> str:
    # A 128-bit random code cannot be guessed offline, so a fast hash is enough and lets the
    # login look the subject up by an indexed column instead of testing every row.
    return hashlib.sha256(code.encode()).hexdigest()


Kind = Literal["staff", "subject", "household"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    kind: Kind
    ident: str
    version: int
    # Names this one token, so that signing out can revoke it alone (see server.auth.callers).
    token_id: str
    expires_at: datetime


class Tokens:
    """Signed tokens: any app process can verify them. Two ways to revoke: the version claim (a new
    password, a re-issued link: every token of the account) and the token id (signing out: this one)."""

    def __init__(self, secret_key: str, *, staff_ttl_s: float, subject_ttl_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="homewatch.token")
        # A household link signs in like a personal link, for as long.
        self._ttl = {"staff": staff_ttl_s, "subject": subject_ttl_s, "household": subject_ttl_s}

    def issue(self, kind: Kind, ident: str, version: int) -> str:
        return str(self._serializer.dumps({"k": kind, "i": ident, "v": version, "j": secrets.token_urlsafe(16)}))

    def read(self, token: str) -> TokenClaims | None:
        try:
            payload, issued_at = self._serializer.loads(
                token, max_age=math.ceil(max(self._ttl.values())), return_timestamp=True
            )
        except (BadSignature, SignatureExpired):
            return None
        # Tokens without an id (issued before sign-out existed) cannot be revoked, so are not accepted.
        if not isinstance(payload, dict) or payload.get("k") not in self._ttl or not payload.get("j"):
            return None
        kind: Kind = payload["k"]
        expires_at = issued_at + timedelta(seconds=self._ttl[kind])
        if datetime.now(UTC) >= expires_at:
            return None
        try:
            return TokenClaims(kind=kind, ident=str(payload["i"]), version=int(payload["v"]),
                               token_id=str(payload["j"])[:32], expires_at=expires_at)
        except (KeyError, TypeError, ValueError):
            return None
