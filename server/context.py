"""What one running app holds: settings, database, token signer and the long-lived services.

Created in the app's lifespan and kept on ``app.state.ctx``; nothing here is module-global."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.auth.security import Tokens
from server.auth.service import SignIns
from server.db import Database, utcnow
from server.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    tokens: Tokens
    sign_ins: SignIns
    services: dict[str, Any] = field(default_factory=dict)
    # Every rule takes "now" from here, so tests can stand at any instant without sleeping.
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

    @classmethod
    def create(cls, settings: Settings, db: Database | None = None) -> AppContext:
        db = db or Database.from_url(settings.database_url, echo=settings.sql_echo)
        return cls(
            settings=settings,
            db=db,
            sign_ins=SignIns(db, settings),
            tokens=Tokens(
                settings.secret_key,
                staff_ttl_s=settings.staff_token_hours * 3600,
                subject_ttl_s=settings.subject_token_days * 86400,
            ),
        )
