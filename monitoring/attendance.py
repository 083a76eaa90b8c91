"""Which reading windows count against a person, and whether they reported in them.

One rule, used by the status (missed, due), the missed-twice alert, reminders and the person's own page:
a window counts against someone who is under observation on its local date and was enrolled in good
time before it closed (``Rules.enrolment_grace``): someone enrolled at 20:30 has not missed the evening
window that closes at 21:00. An open window counts against everyone under observation that day (they
can still report in it). A window is filled when one of the person's readings was taken inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from monitoring.rules import Rules
from monitoring.state import SubjectState
from monitoring.temperature import require_aware
from monitoring.windows import WindowInstance, local_date, windows_on


@dataclass(frozen=True, slots=True)
class HeldWindow:
    """A window as the rules hold it against people: ``start`` names it among a person's filled windows.

    ``enrolled_by`` is the latest enrolment that still counts (None: everyone, as for an open window)."""

    start: datetime
    local_date: date
    enrolled_by: datetime | None

    @classmethod
    def closed(cls, window: WindowInstance, rules: Rules) -> HeldWindow:
        return cls(window.start, window.local_date, window.end - rules.enrolment_grace)

    @classmethod
    def open(cls, window: WindowInstance) -> HeldWindow:
        return cls(window.start, window.local_date, None)


def window_missing(state: SubjectState, window: HeldWindow) -> bool:
    """The window counts against this person and holds none of their readings."""
    return (
        window.local_date >= state.start_date
        and (window.enrolled_by is None or state.enrolled_at is None or state.enrolled_at <= window.enrolled_by)
        and window.start not in state.filled_windows
    )


def awaits_reading(state: SubjectState, window: WindowInstance) -> bool:
    """Whether a reminder for the open ``window`` is due to this person: under observation, not reported."""
    return not state.released and window_missing(state, HeldWindow.open(window))


class WindowState(StrEnum):
    done = "done"
    open = "open"
    missed = "missed"
    upcoming = "upcoming"
    # Not counted against the person: observation had not started, or they were enrolled too late for it.
    before_start = "before_start"


@dataclass(frozen=True, slots=True)
class WindowToday:
    start: datetime
    end: datetime
    state: WindowState


def todays_windows(state: SubjectState, now: datetime, rules: Rules) -> tuple[WindowToday, ...]:
    """Today's windows (local date at ``now``) as the person sees them on their own page."""
    require_aware(now, "now")
    today = local_date(now, rules)
    result = []
    for window in windows_on(today, rules):
        if window.start in state.filled_windows:
            shown = WindowState.done
        elif today < state.start_date:
            shown = WindowState.before_start
        elif window.start <= now < window.end:
            shown = WindowState.open
        elif now >= window.end:
            missing = window_missing(state, HeldWindow.closed(window, rules))
            shown = WindowState.missed if missing else WindowState.before_start
        else:
            shown = WindowState.upcoming
        result.append(WindowToday(start=window.start, end=window.end, state=shown))
    return tuple(result)
