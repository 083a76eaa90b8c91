from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from monitoring import WindowState
from server.subjects.schemas import LastReading


class WindowToday(BaseModel):
    start: datetime
    end: datetime
    state: WindowState


class MeRead(BaseModel):
    id: uuid.UUID
    full_name: str
    status: Literal["active", "released", "closed"]
    outcome: str | None = None
    start_date: date
    planned_end_date: date
    end_date_reason: str | None = None
    observation_day: int
    duration_days: int
    language: str | None
    last_reading: LastReading | None
    released_at: datetime | None
    windows_today: list[WindowToday]
    hotline: str
