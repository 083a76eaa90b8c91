"""Signing of DingTalk custom-robot webhooks (加签), for sending and for test receivers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote

# errcodes worth another try: the robot's ~20 messages/minute limit, and "system busy".
RATE_LIMITED_ERRCODE = 130101
RETRYABLE_ERRCODES = frozenset({RATE_LIMITED_ERRCODE, -1})


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), before URL encoding."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_dingtalk_signature(
    timestamp: str | int,
    sign: str,
    secret: str,
    *,
    now_ms: int | None = None,
    max_skew_ms: int = 3_600_000,
) -> bool:
    """Whether ``sign`` is valid for ``timestamp`` and recent enough (DingTalk allows one hour).

    ``sign`` may be given as received in the query string or already URL-decoded.
    """
    try:
        timestamp_ms = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if abs(now - timestamp_ms) > max_skew_ms:
        return False
    expected = dingtalk_sign(secret, timestamp_ms)
    # base64 never contains "%", so its presence means the value is still URL-encoded.
    candidate = unquote(sign) if "%" in sign else sign
    return hmac.compare_digest(candidate.encode(), expected.encode())
