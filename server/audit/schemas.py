from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str | None
    action: str
    subject_id: uuid.UUID | None
    detail: dict[str, Any]
