from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from server.fields import MultilineText


class AlertRead(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    subject_name: str
    grid_id: int
    kind: str
    reading_id: uuid.UUID | None
    temperature_c: float | None
    symptoms: list[str]
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    note: str | None


class AlertAck(BaseModel):
    note: MultilineText = Field("", max_length=2000)
