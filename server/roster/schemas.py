from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

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
    # Why the row is flagged: the highest temperature within the fever flags' window (with its time),
    # the kinds of the open alerts (callback_request, missed_twice, …), today's video check-in.
    flag_temperature: LastReading | None = None
    open_alert_kinds: list[str] = []
    video_today: Literal["done", "unclear", "none"] = "none"


class RosterPage(BaseModel):
    counts: RosterCounts
    items: list[RosterItem]
    limit: int
    offset: int
