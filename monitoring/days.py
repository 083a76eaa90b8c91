"""Counting days of observation on the local calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from monitoring.rules import Rules
from monitoring.windows import local_date


def planned_end_date(start_date: date, duration_days: int) -> date:
    """The first local date on which the observation period is over."""
    return start_date + timedelta(days=duration_days)


def observation_day(start_date: date, now: datetime, rules: Rules) -> int:
    """Day N of observation, day 1 being ``start_date``; zero or negative before the start."""
    return (local_date(now, rules) - start_date).days + 1
