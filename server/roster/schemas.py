from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from server.subjects.schemas import LastReading


class RosterCounts(BaseModel):
    abnormal: int = 0
    missed: int = 0
    due: int = 0
    ok: int = 0
    total: int = 0


class RosterItem(BaseModel):
    subject_id: uuid.UUID
    full_name: str
    phone: str
    grid_id: int
    status: str
    flags: list[str]
    last_reading: LastReading | None
    observation_day: int
    duration_days: int
    planned_end_date: date
    open_alerts: int


class RosterPage(BaseModel):
    counts: RosterCounts
    items: list[RosterItem]
    limit: int
    offset: int
