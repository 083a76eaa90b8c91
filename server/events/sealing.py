"""Stream positions a client may hold without learning anything from them.

A heartbeat carries the stream position past events the client was not allowed to see, so that its
``Last-Event-ID`` keeps up and a reconnect resumes there. In the clear that position is another grid's
event id, which is the time of that grid's last event (ids are ``<milliseconds>-<sequence>``): a
clinician could watch other grids' activity. So the position is sealed (Fernet: encrypted and
authenticated with a key derived from the secret key), freshly on every heartbeat, so that neither its
value nor whether it changed tells the client anything; a reconnect unseals it."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX = "s."


class PositionSealer:
    def __init__(self, secret_key: str) -> None:
        key = hashlib.sha256(b"homewatch.events.position|" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, event_id: str | None) -> str:
        return SEALED_PREFIX + self._fernet.encrypt((event_id or "").encode()).decode()

    def unseal(self, value: str | None) -> str | None:
        """The event id a ``Last-Event-ID`` stands for: a plain id (of an event the client was sent) as it
        is, a sealed one opened; None for a sealed one that is not ours (or holds no position)."""
        if value is None or not value.startswith(SEALED_PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(SEALED_PREFIX):].encode()).decode() or None
        except (InvalidToken, ValueError):
            return None
