"""What one running app holds: settings, database, token signer and the long-lived services.

Created in the app's lifespan and kept on ``app.state.ctx``; nothing here is module-global."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from server.auth.callers import Authenticator
from server.auth.security import Tokens
from server.auth.service import SignIns
from server.csrf import CsrfTokens
from server.db import Database, utcnow
from server.notifications.endpoints import Resolver, system_resolver
from server.settings import Settings

if TYPE_CHECKING:
    from server.events.bus import EventBus
    from server.notifications.channels import Channel
    from webrtc import MediaManager


@dataclass
class AppContext:
    settings: Settings
    db: Database
    tokens: Tokens
    authenticator: Authenticator
    sign_ins: SignIns
    csrf: CsrfTokens
    # Every rule takes "now" from here, so tests can stand at any instant without sleeping.
    clock: Callable[[], datetime] = utcnow
    # The long-lived services: each is set by its own start function in the lifespan and cleared by its
    # stop function, so outside the lifespan they are None (see the accessors beside each start function).
    bus: EventBus | None = None
    media: MediaManager | None = None
    scheduler: asyncio.Task[None] | None = None
    outbox_worker: asyncio.Task[None] | None = None
    outbox_channels: dict[str, Channel] | None = None
    # Work started by a request that goes on after it (census imports), cancelled at shutdown.
    background_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Names to addresses, for checking Web Push endpoints (tests put a table here instead of DNS).
    resolve_host: Resolver = system_resolver

    def now(self) -> datetime:
        return self.clock()

    @classmethod
    def create(cls, settings: Settings, db: Database | None = None) -> AppContext:
        db = db or Database.from_url(settings.database_url, echo=settings.sql_echo)
        tokens = Tokens(settings.secret_key, staff_ttl_s=settings.staff_token_hours * 3600,
                        subject_ttl_s=settings.subject_token_days * 86400)
        authenticator = Authenticator(tokens, released_link_days=settings.released_link_days)
        return cls(settings=settings, db=db, tokens=tokens, authenticator=authenticator,
                   sign_ins=SignIns(db, settings, tokens), csrf=CsrfTokens(settings.secret_key))
