from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class BriefRowRead(BaseModel):
    area_id: int | None
    name: str
    # One value per metric (see ``metrics``); ``missed`` is null for a day frozen too late to see it.
    values: dict[str, int | None]
    # The change since the day before, metric by metric (null where either day is unknown).
    changes: dict[str, int | None]


class TrendDayRead(BaseModel):
    date: date
    under_observation: int
    new: int
    fever: int
    released: int


class BriefRead(BaseModel):
    date: date
    area_id: int | None
    # Today's brief is counted live; a past day's is frozen and never changes.
    live: bool
    metrics: list[str]
    rows: list[BriefRowRead]
    total: BriefRowRead
    trend: list[TrendDayRead]
