"""Pure domain rules of homewatch: plain values in, decisions out; no I/O, no clock of its own."""

from monitoring.attendance import (
    HeldWindow,
    WindowState,
    WindowToday,
    awaits_reading,
    todays_windows,
    window_missing,
)
from monitoring.days import observation_day, planned_end_date
from monitoring.flags import (
    STATUS_RANK,
    Evaluation,
    Flag,
    Status,
    SweepParameters,
    VideoToday,
    evaluate,
    missed_twice,
    roster_status,
    severity,
    sweep_parameters,
    video_today,
)
from monitoring.release import Eligibility, Reason, period_over, release_eligibility
from monitoring.rules import Rules, WindowSpec, parse_windows
from monitoring.state import SubjectState, apply_reading, record_filled_window
from monitoring.symptoms import SYMPTOM_CODES, normalise_symptoms
from monitoring.temperature import (
    ReadingRejected,
    TemperatureClass,
    check_taken_at,
    classify,
    normalise_temperature,
)
from monitoring.windows import (
    WindowInstance,
    day_start,
    latest_closed_window,
    local_date,
    next_boundary,
    open_window,
    window_for,
    windows_on,
)

__all__ = [
    "STATUS_RANK",
    "SYMPTOM_CODES",
    "Eligibility",
    "Evaluation",
    "Flag",
    "HeldWindow",
    "ReadingRejected",
    "Reason",
    "Rules",
    "Status",
    "VideoToday",
    "SubjectState",
    "SweepParameters",
    "TemperatureClass",
    "WindowInstance",
    "WindowSpec",
    "WindowState",
    "WindowToday",
    "apply_reading",
    "awaits_reading",
    "check_taken_at",
    "classify",
    "day_start",
    "evaluate",
    "latest_closed_window",
    "local_date",
    "missed_twice",
    "roster_status",
    "next_boundary",
    "normalise_symptoms",
    "normalise_temperature",
    "observation_day",
    "open_window",
    "parse_windows",
    "period_over",
    "planned_end_date",
    "record_filled_window",
    "release_eligibility",
    "severity",
    "sweep_parameters",
    "video_today",
    "todays_windows",
    "window_for",
    "window_missing",
    "windows_on",
]
