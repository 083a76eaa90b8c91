"""Reading windows as real instants, in the rules' timezone.

A window's wall-clock bounds are mapped to the first instant at which the local clock shows that time
or later. In a spring-forward gap that is the moment the clocks jump (a window lying wholly inside the
gap does not happen that day); for an hour that repeats in autumn it is the first occurrence. This map
never runs backwards, so windows of one day stay ordered, disjoint and inside that local day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from monitoring.rules import Rules
from monitoring.temperature import require_aware

_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
# Windows only exist when the clocks show them, so a day without any closed window (all of them
# swallowed by a DST gap) is skipped; a week covers any real tzdata history.
_LOOKBACK_DAYS = 7


@dataclass(frozen=True, slots=True, order=True)
class WindowInstance:
    """One occurrence of a reading window; ``index`` is its position in ``Rules.windows``."""

    start: datetime
    end: datetime
    local_date: date
    index: int


def _first_instant_at_or_after(day: date, clock: time, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, clock)
    # fold=0 picks the first occurrence of a repeated wall-clock time.
    instant = local.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local:
        return instant
    # The wall-clock time does not exist: fold=0 read it with the old offset (after the jump), fold=1
    # with the new one (before the jump). The jump lies in between; tzdata exposes no transition list,
    # so bisect for it.
    before = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    after = instant
    while after - before > _ONE_MICROSECOND:
        middle = before + (after - before) // 2
        if middle.astimezone(tz).replace(tzinfo=None) >= local:
            after = middle
        else:
            before = middle
    return after


def day_start(day: date, rules: Rules) -> datetime:
    """The instant (UTC) at which the local ``day`` begins."""
    return _day_start(day, rules.timezone)


@lru_cache(maxsize=4096)
def _day_start(day: date, timezone: str) -> datetime:
    return _first_instant_at_or_after(day, time(0), ZoneInfo(timezone))


def windows_on(day: date, rules: Rules) -> tuple[WindowInstance, ...]:
    """The windows of the local ``day``, in order; a window that a DST gap swallows is left out."""
    return _windows_on(day, rules)


@lru_cache(maxsize=4096)
def _windows_on(day: date, rules: Rules) -> tuple[WindowInstance, ...]:
    # Cached because a roster evaluates thousands of subjects against the same few days; Rules is
    # frozen and hashable, so the cache cannot go stale.
    tz = rules.tz
    instances = []
    for index, spec in enumerate(rules.windows):
        start = _first_instant_at_or_after(day, spec.start, tz)
        end = _first_instant_at_or_after(day, spec.end, tz)
        if start < end:
            instances.append(WindowInstance(start=start, end=end, local_date=day, index=index))
    return tuple(instances)


def local_date(now: datetime, rules: Rules) -> date:
    """The calendar date on the local clock at ``now``."""
    require_aware(now, "now")
    return now.astimezone(rules.tz).date()


def window_for(taken_at: datetime, rules: Rules) -> WindowInstance | None:
    """The window whose [start, end) contains ``taken_at``, or None outside every window."""
    day = local_date(taken_at, rules)
    # Neighbouring days too: a zone that falls back across midnight shows yesterday's date for an
    # hour after today's windows may have begun.
    for candidate in (day - _ONE_DAY, day, day + _ONE_DAY):
        for window in windows_on(candidate, rules):
            if window.start <= taken_at < window.end:
                return window
    return None


def open_window(now: datetime, rules: Rules) -> WindowInstance | None:
    """The window open at ``now``, if any."""
    return window_for(now, rules)


def latest_closed_window(now: datetime, rules: Rules) -> WindowInstance | None:
    """The most recent window with ``end <= now``; None only when the rules define no windows."""
    if not rules.windows:
        return None
    today = local_date(now, rules)
    for days_back in range(-1, _LOOKBACK_DAYS + 1):
        closed = [w for w in windows_on(today - timedelta(days=days_back), rules) if w.end <= now]
        if closed:
            return closed[-1]
    return None


def next_boundary(now: datetime, rules: Rules) -> datetime:
    """The earliest instant after ``now`` at which a window opens or closes or a local day starts."""
    today = local_date(now, rules)
    candidates: list[datetime] = []
    for offset in range(-1, 3):
        day = today + timedelta(days=offset)
        candidates.append(day_start(day, rules))
        for window in windows_on(day, rules):
            candidates.extend((window.start, window.end))
    return min(c for c in candidates if c > now)
