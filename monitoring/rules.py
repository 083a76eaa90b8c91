"""Configurable observation rules: reading windows, fever thresholds and release conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A daily reading window in local wall-clock time, e.g. 07:00-11:00."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            # The rules' timezone decides what the wall-clock times mean; a second zone would be ambiguous.
            raise ValueError("Reading window times must not carry a timezone.")
        if self.end <= self.start:
            raise ValueError(f"Reading window {self} must end after it starts (windows cannot cross midnight).")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_clock(hours: str, minutes: str, item: str) -> time:
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise ValueError(f"Reading window {item!r} has an impossible time; use 00:00 to 23:59.")
    return time(h, m)


def parse_windows(text: str) -> tuple[WindowSpec, ...]:
    """Parse ``"07:00-11:00,17:00-21:00"`` into windows sorted by start."""
    items = [item.strip() for item in text.split(",")]
    if all(not item for item in items):
        raise ValueError("No reading windows given; expected e.g. 07:00-11:00,17:00-21:00.")
    windows: list[WindowSpec] = []
    for item in items:
        match = _WINDOW_RE.match(item)
        if match is None:
            raise ValueError(f"Reading window {item!r} is not of the form HH:MM-HH:MM, e.g. 07:00-11:00.")
        start = _parse_clock(match[1], match[2], item)
        end = _parse_clock(match[3], match[4], item)
        if end <= start:
            raise ValueError(f"Reading window {item!r} must end after it starts (windows cannot cross midnight).")
        windows.append(WindowSpec(start, end))
    windows.sort(key=lambda w: w.start)
    _check_no_overlap(tuple(windows))
    return tuple(windows)


def _check_no_overlap(windows: tuple[WindowSpec, ...]) -> None:
    for earlier, later in zip(windows, windows[1:], strict=False):
        if later.start < earlier.end:
            raise ValueError(f"Reading windows {earlier} and {later} overlap.")


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything a district may tune; the defaults are the rules practised in 2020."""

    timezone: str = "Asia/Shanghai"
    windows: tuple[WindowSpec, ...] = parse_windows("07:00-11:00,17:00-21:00")
    fever_c: float = 37.3
    high_fever_c: float = 38.5
    observation_days: int = 14
    min_plausible_c: float = 34.0
    max_plausible_c: float = 43.0
    flag_lookback: timedelta = timedelta(hours=24)
    release_fever_free: timedelta = timedelta(hours=72)
    release_recent_reading: timedelta = timedelta(hours=24)
    release_requires_checkin: bool = False
    release_recent_checkin: timedelta = timedelta(hours=24)
    # Release "after repeated testing": this many negative nucleic-acid results, sampled at least
    # release_test_spacing apart, the latest within release_test_max_age (0: no test rule).
    release_negative_tests: int = 0
    release_test_max_age: timedelta = timedelta(hours=72)
    release_test_spacing: timedelta = timedelta(hours=24)
    max_future_skew: timedelta = timedelta(minutes=5)
    # A window is held against someone only if they were enrolled at least this long before it closed.
    enrolment_grace: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown timezone {self.timezone!r}; use an IANA name like Asia/Shanghai.") from exc
        if not self.fever_c < self.high_fever_c:
            raise ValueError(f"Fever threshold {self.fever_c} must be below high fever {self.high_fever_c}.")
        if not self.min_plausible_c < self.max_plausible_c:
            raise ValueError("The plausible temperature range is empty.")
        if self.observation_days < 1:
            raise ValueError("The observation period must last at least one day.")
        for name in (
            "flag_lookback",
            "release_fever_free",
            "release_recent_reading",
            "release_recent_checkin",
            "release_test_max_age",
            "release_test_spacing",
        ):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be a positive duration.")
        if self.release_negative_tests < 0:
            raise ValueError("release_negative_tests must not be negative.")
        if self.max_future_skew < timedelta(0):
            raise ValueError("max_future_skew must not be negative.")
        if list(self.windows) != sorted(self.windows, key=lambda w: w.start):
            raise ValueError("Reading windows must be sorted by start; use parse_windows().")
        _check_no_overlap(self.windows)

    @property
    def tz(self) -> ZoneInfo:
        # ZoneInfo keeps its own cache per key, so this is a dictionary lookup, not a file read.
        return ZoneInfo(self.timezone)
