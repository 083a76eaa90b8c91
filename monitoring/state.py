"""What the server stores about a subject so that evaluating them never needs their readings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from monitoring.rules import Rules
from monitoring.temperature import TemperatureClass, classify, require_aware
from monitoring.windows import window_for

_KEPT_WINDOWS = 2


@dataclass(frozen=True, slots=True)
class SubjectState:
    """A subject's summary columns; every datetime must be timezone-aware.

    ``last_fever_at`` includes high fevers, so ``last_high_fever_at <= last_fever_at`` whenever both
    are set; :func:`apply_reading` keeps it that way.
    """

    start_date: date
    planned_end_date: date
    released: bool = False
    last_reading_at: datetime | None = None
    last_fever_at: datetime | None = None
    last_high_fever_at: datetime | None = None
    last_symptoms_at: datetime | None = None
    filled_windows: tuple[datetime, ...] = ()
    open_alerts: int = 0
    last_checkin_completed_at: datetime | None = None
    last_checkin_face_seen: bool | None = None
    # When the person was enrolled: windows that opened before it are not held against them.
    enrolled_at: datetime | None = None
    # A positive test in this observation (monitoring.course.lab_state): abnormal and first on the roster.
    test_positive: bool = False
    # The person asked to be called back and no clinician has acknowledged it yet: they need attention
    # (after fevers and symptoms, before missed readings) whatever the thermometer says.
    callback_requested: bool = False

    def __post_init__(self) -> None:
        for name in (
            "last_reading_at",
            "last_fever_at",
            "last_high_fever_at",
            "last_symptoms_at",
            "last_checkin_completed_at",
            "enrolled_at",
        ):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, f"SubjectState.{name}")
        for start in self.filled_windows:
            require_aware(start, "SubjectState.filled_windows")


def record_filled_window(filled: tuple[datetime, ...], window_start: datetime) -> tuple[datetime, ...]:
    """Add a window that now has a reading; keep the two most recent distinct starts, newest first.

    A late reading for a window older than both kept ones changes nothing, so it cannot make a recent
    window look missed.
    """
    return tuple(sorted({*filled, window_start}, reverse=True)[:_KEPT_WINDOWS])


def _later(current: datetime | None, candidate: datetime) -> datetime:
    # Readings may arrive out of order (offline phones), so "last" means latest taken_at, not latest stored.
    return candidate if current is None or candidate > current else current


def apply_reading(
    state: SubjectState,
    *,
    taken_at: datetime,
    temperature_c: float,
    has_symptoms: bool,
    rules: Rules,
) -> SubjectState:
    """The summary after one more accepted reading (``taken_at`` from :func:`check_taken_at`)."""
    require_aware(taken_at, "taken_at")
    temperature_class = classify(temperature_c, rules)
    window = window_for(taken_at, rules)
    return replace(
        state,
        last_reading_at=_later(state.last_reading_at, taken_at),
        last_fever_at=(
            _later(state.last_fever_at, taken_at)
            if temperature_class is not TemperatureClass.normal
            else state.last_fever_at
        ),
        last_high_fever_at=(
            _later(state.last_high_fever_at, taken_at)
            if temperature_class is TemperatureClass.high_fever
            else state.last_high_fever_at
        ),
        last_symptoms_at=_later(state.last_symptoms_at, taken_at) if has_symptoms else state.last_symptoms_at,
        filled_windows=(
            record_filled_window(state.filled_windows, window.start) if window is not None else state.filled_windows
        ),
    )
